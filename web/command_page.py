"""Command centre ``/command``: the work queue, the case panel with the steps the viewer may take,
live cases (SSE), and the KPIs of the metrics API with charts.

The page shell carries the incident vocabulary (statuses, open and closed sets, categories,
sources, refusal reasons, the workflow's steps) from the modules that own it, and the area
choices; the script asks the API for everything else (see docs/command-centre.md).
"""

from __future__ import annotations

from typing import Any

from branca.element import Element
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gis.queries.incident_queue import MAX_QUEUE_PAGE, QUEUE_FIELDS, SORTS, TRAYS
from gis.queries.incidents import CATEGORIES, LATE_STATUSES, SOURCES, STATUSES
from gis.workflow import (
    CLOSED_STATUSES,
    INCIDENT_WORKFLOW,
    OPEN_STATUSES,
    REJECT_RESOLUTIONS,
)
from web.assets import vendored_url
from web.i18n import t
from web.mapkit import Page, PageViewerDep, SessionDep
from web.page_data import area_choices, bounds_of_city

router = APIRouter(include_in_schema=False)

CHART_JS = vendored_url("chart.js", "dist/chart.umd.min.js")
QUEUE_PAGE = 50


def incident_vocabulary() -> dict[str, Any]:
    """What the page needs to know about cases, from the modules that own each fact."""
    return {
        "statuses": list(STATUSES),
        "open": list(OPEN_STATUSES),
        "closed": list(CLOSED_STATUSES),
        "late": list(LATE_STATUSES),
        "categories": {kind: list(cats) for kind, cats in CATEGORIES.items()},
        "sources": list(SOURCES),
        "resolutions": list(REJECT_RESOLUTIONS),
        "steps": [
            {"from": s.from_status, "to": s.to_status, "rework": s.rework}
            for s in INCIDENT_WORKFLOW.steps
        ],
        "queue": {
            "fields": list(QUEUE_FIELDS),
            "sorts": list(SORTS),
            "trays": list(TRAYS),
            "max_page": MAX_QUEUE_PAGE,
            "page": QUEUE_PAGE,
        },
    }


@router.get("/command", response_class=HTMLResponse)
def command_page(request: Request, session: SessionDep, viewer: PageViewerDep) -> HTMLResponse:
    page = Page(request, title_key="app.command_title", body_class="gg-command", viewer=viewer)
    lang = page.lang
    page.group("grids", t("layer.grids", lang))
    page.group("incidents", t("layer.incidents", lang))
    page.add_controls(None)
    # The chart library only this page needs, served by the app (no CDN).
    page.root.header.add_child(Element(f'<script src="{CHART_JS}"></script>'), name="chartjs")
    sections = [
        {"id": "live", "heading": None},
        {"id": "case", "heading": None},
        {"id": "queue", "heading": t("js.queue", lang)},
        {"id": "kpi", "heading": t("js.kpi", lang)},
    ]
    html = page.render(
        "commandPage",
        {
            "bounds": bounds_of_city(session),
            "vocabulary": incident_vocabulary(),
            "areas": area_choices(session),
        },
        {
            "search": False,
            "printable": False,
            "sections": sections,
            "incident_filters": False,
        },
    )
    return HTMLResponse(html)
