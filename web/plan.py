"""The planner's page ``/plan``: redraw grid boundaries in a draft, see findings and impact live.

Folium draws the map with Leaflet-Geoman (``folium.plugins.GeoMan``): the planner draws a split
line or drags a shared vertex (snapping on); ``web/static/plan/plan.js`` sends each edit to the
draft API (``/api/v1/plan/...``), redraws the draft's grids and shows the validation findings and
the impact table, with undo/redo, commit (reason + the required choices) and discard.
Layers are fetched by the browser from the API, never inlined.
"""

from __future__ import annotations

import json
from typing import Annotated

import folium
from branca.element import Element, Figure
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from folium.plugins import GeoMan

from gis.scope import ANONYMOUS, Viewer
from gis.settings import get_settings
from web.assets import localise
from web.bell import bell_html
from web.mapkit import PageViewerDep

router = APIRouter(include_in_schema=False)

DEFAULT_CENTRE = (35.22, 106.65)
STRINGS: dict[str, dict[str, str]] = {
    "title": {"zh-CN": "网格边界规划", "en": "Grid boundary planning"},
    "scope": {"zh-CN": "社区或街道代码", "en": "Community or street code"},
    "open": {"zh-CN": "新建草稿", "en": "Open draft"},
    "resume": {"zh-CN": "继续草稿", "en": "Resume draft"},
    "undo": {"zh-CN": "撤销", "en": "Undo"},
    "redo": {"zh-CN": "重做", "en": "Redo"},
    "merge": {"zh-CN": "合并所选网格", "en": "Merge selected grids"},
    "commit": {"zh-CN": "提交", "en": "Commit"},
    "discard": {"zh-CN": "放弃草稿", "en": "Discard draft"},
    "reason": {"zh-CN": "调整原因", "en": "Reason"},
    "findings": {"zh-CN": "校验结果", "en": "Validation findings"},
    "impact": {"zh-CN": "影响预览", "en": "Impact preview"},
    "choices": {"zh-CN": "需要决定", "en": "Choices to make"},
    "hint": {
        "zh-CN": "点击网格选中；用折线工具画分割线；编辑模式下拖动共享顶点（自动吸附）。",
        "en": "Click a grid to select it; draw a line to split it; drag shared vertices in edit "
        "mode (snapping on).",
    },
    "no_draft": {"zh-CN": "尚未打开草稿", "en": "No draft open"},
    "confirm_discard": {"zh-CN": "确定放弃此草稿？", "en": "Discard this draft?"},
    "households": {"zh-CN": "户数", "en": "Households"},
    "residents": {"zh-CN": "人口", "en": "Residents"},
    "party_members": {"zh-CN": "党员", "en": "Party members"},
    "party_orgs": {"zh-CN": "党组织", "en": "Party orgs"},
    "open_incidents": {"zh-CN": "未结事件", "en": "Open incidents"},
    "before": {"zh-CN": "调整前", "en": "Before"},
    "after": {"zh-CN": "调整后", "en": "After"},
    "moves": {"zh-CN": "迁移清单", "en": "What moves"},
    "branch_to": {"zh-CN": "网格党支部划入", "en": "Grid party branch goes to"},
    "chief_of": {
        "zh-CN": "网格长（人员ID，留空为空缺）",
        "en": "Chief (person id; empty = vacant)",
    },
}


def strings(lang: str) -> dict[str, str]:
    return {key: value.get(lang) or value["zh-CN"] for key, value in STRINGS.items()}


PANEL = """
<div id="plan-panel" class="plan-panel">
  <h1>{title}</h1>
  <div class="plan-row">
    <input id="plan-scope" placeholder="{scope}" pattern="[0-9]{{12}}" size="14">
    <button id="plan-open">{open}</button>
    <input id="plan-draft-id" placeholder="#" size="5">
    <button id="plan-resume">{resume}</button>
  </div>
  <p class="plan-hint">{hint}</p>
  <div id="plan-status" class="plan-status">{no_draft}</div>
  <div class="plan-row">
    <button id="plan-undo" disabled>{undo}</button>
    <button id="plan-redo" disabled>{redo}</button>
    <button id="plan-merge" disabled>{merge}</button>
  </div>
  <h2>{findings}</h2><ul id="plan-findings" class="plan-findings"></ul>
  <h2>{impact}</h2><div id="plan-impact"></div>
  <h2>{choices}</h2><div id="plan-choices"></div>
  <div class="plan-row">
    <input id="plan-reason" placeholder="{reason}" size="24">
    <button id="plan-commit" class="plan-commit" disabled>{commit}</button>
    <button id="plan-discard" class="plan-discard" disabled>{discard}</button>
  </div>
  <div id="plan-error" class="plan-error" role="alert"></div>
</div>
"""


def plan_map(
    draft_id: int | None = None, scope: str | None = None, viewer: Viewer = ANONYMOUS
) -> folium.Map:
    """The planner's map: Geoman tools, the side panel, and the page script."""
    lang = get_settings().language
    text = strings(lang)
    fmap = folium.Map(
        location=DEFAULT_CENTRE, zoom_start=15, tiles=None, control_scale=True, max_zoom=22
    )
    GeoMan(
        position="topleft",
        drawMarker=False,
        drawCircleMarker=False,
        drawCircle=False,
        drawText=False,
        drawRectangle=False,
        drawPolygon=False,
        cutPolygon=False,
        rotateMode=False,
        dragMode=False,
    ).add_to(fmap)
    root = fmap.get_root()
    assert isinstance(root, Figure)
    root.header.add_child(Element(f"<title>{text['title']}</title>"))
    root.header.add_child(Element('<link rel="stylesheet" href="/static/plan/plan.css">'))
    root.html.add_child(Element(PANEL.format(**text)))
    root.html.add_child(Element(bell_html(viewer, lang)))
    config = {
        "map": fmap.get_name(),
        "api": "/api/v1",
        "draft": draft_id,
        "scope": scope,
        "strings": text,
    }
    # The config is JSON (no user input is formatted into script); plan.js reads it on load.
    root.script.add_child(
        Element(
            "window.gridgovPlan = Object.assign({}, "
            + json.dumps(config, ensure_ascii=False)
            + ");"
        )
    )
    root.html.add_child(Element('<script src="/static/plan/plan.js" defer></script>'))
    localise(root)
    return fmap


@router.get("/plan", response_class=HTMLResponse)
def plan_page(
    viewer: PageViewerDep,
    draft: Annotated[int | None, Query(ge=1)] = None,
    scope: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
) -> HTMLResponse:
    """The planner's page (the API it calls enforces the planner role)."""
    return HTMLResponse(plan_map(draft, scope, viewer).get_root().render())
