"""The planner's pages: the editor ``/plan`` and the history ``/plan/history``.

The editor opens on the planner's own scope: streets and communities are drawn from the API
(``/api/v1/plan/workbench``); choosing a community (on the map or in the list) resumes its open
draft or opens one, and draws its grids and buildings with household counts. Each gesture is a
mode of its own (inspect, split, merge, move a shared edge, transfer buildings): in split mode the
map only draws, so a click never selects a neighbour. Geoman (``folium.plugins.GeoMan``) speaks
its own Chinese locale; every other text comes from web/i18n.py (``plan.*`` keys). The side panel
is a column beside the map, never over it. ``web/static/plan/plan.js`` sends every edit to the
draft API and redraws what the server answers. See docs/boundaries.md, "The planner's page".
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

import folium
from branca.element import Element, Figure
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from folium.plugins import GeoMan
from markupsafe import escape

from gis.boundaries.validation import HOUSEHOLDS_MAX, HOUSEHOLDS_MIN
from gis.settings import get_settings
from web.assets import localise
from web.bell import bell_html
from web.i18n import CATALOGUE, t
from web.mapkit import PageViewerDep, static_url

router = APIRouter(include_in_schema=False)

DEFAULT_CENTRE = (35.22, 106.65)
# Geoman's own locales (bundled in its JS): the page's language → Geoman's name for it.
GEOMAN_LANG = {"zh-CN": "zh", "en": "en"}
MODES = ("select", "split", "merge", "reshape", "transfer", "create")


def strings(lang: str) -> dict[str, str]:
    """Every ``plan.`` string of the catalogue in ``lang``, keyed without the prefix."""
    return {key[5:]: t(key, lang) for key in CATALOGUE if key.startswith("plan.")}


PANEL = """
<header class="plan-bar">
  <h1>{title}</h1>
  <label class="plan-community-label">{community}
    <select id="plan-community"><option value="">{choose_community}</option></select>
  </label>
  <a id="plan-history-link" href="/plan/history">{history}</a>
  <span class="plan-viewer">{viewer}</span>
  {bell}
</header>
<aside id="plan-panel" class="plan-panel" aria-label="{title}">
  <div id="plan-status" class="plan-status">{no_draft}</div>
  <div class="plan-row plan-modes" role="toolbar">
    {mode_buttons}
    <button id="plan-undo" disabled>{undo}</button>
    <button id="plan-redo" disabled>{redo}</button>
  </div>
  <p id="plan-hint" class="plan-hint"></p>
  <div class="plan-row">
    <button id="plan-merge" disabled>{merge_selected}</button>
    <span id="plan-create-box" hidden>
      <label>{buffer_m} <input id="plan-buffer" type="number" min="0" max="200" step="1" value="10"
        size="4"></label>
      <button id="plan-create" disabled>{create_selected}</button>
    </span>
    <span id="plan-selection"></span>
  </div>
  <div id="plan-error" class="plan-error" role="alert"></div>
  <h2>{grids}</h2><div id="plan-grids"></div>
  <h2>{findings}</h2><ul id="plan-findings" class="plan-findings"></ul>
  <h2>{impact}</h2><div id="plan-impact"></div>
  <h2>{cases_title}</h2><div id="plan-cases"></div>
  <h2>{choices}</h2><div id="plan-choices"></div>
  <div class="plan-row">
    <input id="plan-reason" placeholder="{reason}" aria-label="{reason}">
  </div>
  <div class="plan-row">
    <button id="plan-commit" class="plan-commit" disabled>{commit}</button>
    <button id="plan-discard" class="plan-discard" disabled>{discard}</button>
  </div>
</aside>
"""


def _shell(title: str, lang: str) -> tuple[folium.Map, Figure]:
    fmap = folium.Map(
        location=DEFAULT_CENTRE,
        zoom_start=13,
        tiles=None,
        control_scale=True,
        max_zoom=22,
        zoom_snap=0.25,
    )
    root = fmap.get_root()
    assert isinstance(root, Figure)
    root.header.add_child(Element(f"<title>{escape(title)}</title>"))
    root.header.add_child(
        Element(f'<link rel="stylesheet" href="{static_url("plan/plan.css")}">'), name="plancss"
    )
    root.header.add_child(
        Element(
            f'<link rel="icon" type="image/svg+xml" href="{static_url("gridgov/favicon.svg")}">'
        ),
        name="favicon",
    )
    return fmap, root


def _hand_over(root: Figure, fmap: folium.Map, config: dict[str, Any], script: str) -> str:
    # JSON inside <script>: "<" escaped so no value can close the element.
    payload = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    root.script.add_child(Element(f"window.gridgovPlan = Object.assign({{}}, {payload});"))
    root.html.add_child(Element(f'<script src="{static_url(script)}" defer></script>'))
    localise(root)
    html = root.render()
    return html.replace("<html>", f'<html lang="{config["lang"]}">', 1)


def plan_map(
    viewer: Any, draft_id: int | None = None, scope: str | None = None
) -> tuple[folium.Map, str]:
    """The editor: Geoman tools (in the page's language), the side panel, the page script."""
    lang = get_settings().language
    text = strings(lang)
    fmap, root = _shell(text["title"], lang)
    GeoMan(
        position="topleft",
        drawMarker=False,
        drawCircleMarker=False,
        drawCircle=False,
        drawText=False,
        drawRectangle=False,
        drawPolygon=False,
        drawPolyline=True,
        editMode=False,
        removalMode=False,
        cutPolygon=False,
        rotateMode=False,
        dragMode=False,
    ).add_to(fmap)
    buttons = "\n    ".join(
        f'<button class="plan-mode" data-mode="{m}" aria-pressed="false">{text[f"mode.{m}"]}'
        "</button>"
        for m in MODES
    )
    root.html.add_child(
        Element(
            PANEL.format(
                mode_buttons=buttons,
                viewer=escape(viewer.username or ""),
                bell=bell_html(viewer, lang),
                **{k: escape(v) for k, v in text.items() if "." not in k},
            )
        )
    )
    config = {
        "map": fmap.get_name(),
        "api": "/api/v1",
        "draft": draft_id,
        "scope": scope,
        "lang": lang,
        "geoman_lang": GEOMAN_LANG.get(lang, "en"),
        "strings": text,
        "modes": list(MODES),
        "norm": [HOUSEHOLDS_MIN, HOUSEHOLDS_MAX],
        "viewer": {"username": viewer.username, "role": viewer.role, "scope": viewer.scope_code},
    }
    return fmap, _hand_over(root, fmap, config, "plan/plan.js")


@router.get("/plan", response_class=HTMLResponse)
def plan_page(
    request: Request,
    viewer: PageViewerDep,
    draft: Annotated[int | None, Query(ge=1)] = None,
    scope: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
) -> Response:
    """The planner's editor; a visitor is sent to sign in first (the API enforces the role)."""
    if viewer.is_public:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return HTMLResponse(plan_map(viewer, draft, scope)[1], headers={"Cache-Control": "no-store"})


HISTORY_PANEL = """
<header class="plan-bar">
  <h1>{history_title}</h1>
  <a href="/plan">{open_editor}</a>
  <span class="plan-viewer">{viewer}</span>
  {bell}
</header>
<aside id="plan-panel" class="plan-panel" aria-label="{history_title}">
  <label for="plan-asof">{as_of}: <output id="plan-asof-label"></output></label>
  <input id="plan-asof" type="range" min="0" max="0" step="1" value="0">
  <a id="plan-asof-export" class="plan-export" download>{export_asof}</a>
  <h2>{timeline}</h2><ol id="plan-timeline" class="plan-timeline"></ol>
  <h2>{lineage}</h2><div id="plan-lineage"></div>
  <div id="plan-error" class="plan-error" role="alert"></div>
</aside>
"""


@router.get("/plan/history", response_class=HTMLResponse)
def history_page(
    viewer: PageViewerDep,
    scope: Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$")] = None,
) -> HTMLResponse:
    """Timeline of committed changesets, before/after map, lineage, as-of slider, revert."""
    lang = get_settings().language
    text = strings(lang)
    fmap, root = _shell(text["history_title"], lang)
    root.html.add_child(
        Element(
            HISTORY_PANEL.format(
                viewer=escape(viewer.username or ""),
                bell=bell_html(viewer, lang),
                **{k: escape(v) for k, v in text.items() if "." not in k},
            )
        )
    )
    config = {
        "map": fmap.get_name(),
        "api": "/api/v1",
        "lang": lang,
        "strings": text,
        "scope": scope or viewer.scope_code,
        "viewer": {"username": viewer.username, "role": viewer.role, "scope": viewer.scope_code},
    }
    return HTMLResponse(_hand_over(root, fmap, config, "plan/history.js"))
