"""The notification bell every page of a signed-in user carries (the notification centre).

Markup from ``templates/bell.html`` with its strings (web/i18n.py, Chinese first) in a data
attribute, and web/static/gridgov/bell.js, which needs nothing else on the page: the map pages
(chrome.html), the planner's page and the audit page all include :func:`bell_html`. The script
lists the account's notifications from ``/api/v1/notifications``, follows
``/api/v1/notifications/stream``, and polls instead when no stream can be opened (the
per-client stream limit).
"""

from __future__ import annotations

import json

from markupsafe import Markup

from gis.scope import Viewer
from web.i18n import CATALOGUE, t
from web.mapkit import TEMPLATES, static_url

# Polling interval when no stream can be opened (milliseconds).
POLL_MS = 60_000


def bell_strings(lang: str) -> dict[str, str]:
    return {key[5:]: t(key, lang) for key in CATALOGUE if key.startswith("bell.")}


def bell_html(viewer: Viewer, lang: str) -> Markup:
    """The bell, its drop-down and its script; nothing for the public (no account to tell)."""
    if viewer.is_public or viewer.username is None:
        return Markup("")
    strings = bell_strings(lang)
    html = TEMPLATES.get_template("bell.html").render(
        css=static_url("gridgov/bell.css"),
        js=static_url("gridgov/bell.js"),
        s=strings,
        strings_json=json.dumps(strings, ensure_ascii=False),
        poll_ms=POLL_MS,
    )
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template
