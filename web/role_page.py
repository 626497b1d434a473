"""The answer of a page shell that only some roles use (组织生活, 双报到, the audit page).

A visitor is sent to sign in and comes back; a signed-in role the page is not for gets a short
403 page saying so; the others get the shell, never cached (it carries the viewer's bell).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from html import escape
from urllib.parse import quote

from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis.scope import Viewer
from gis.settings import get_settings
from web.bell import bell_html
from web.i18n import t

NO_STORE = {"Cache-Control": "no-store"}


def role_page(
    viewer: Viewer,
    path: str,
    roles: Collection[str],
    prefix: str,
    render: Callable[[str, str], str],
) -> Response:
    """``render(lang, bell)`` for ``roles``; the strings ``<prefix>.title`` and
    ``<prefix>.forbidden`` name the page and tell another role it is not theirs."""
    lang = get_settings().language
    if viewer.is_public:
        return RedirectResponse(f"/login?next={quote(path, safe='')}", status_code=303)
    if viewer.role not in roles:
        body = f"<!doctype html><html lang='{lang}'><meta charset='utf-8'>"
        body += f"<title>{escape(t(f'{prefix}.title', lang))}</title>"
        body += f"<p>{escape(t(f'{prefix}.forbidden', lang))}</p></html>"
        return HTMLResponse(body, status_code=403, headers=NO_STORE)
    return HTMLResponse(render(lang, bell_html(viewer, lang)), headers=NO_STORE)
