"""Command centre ``/command``: the work queue, the case panel with the steps the viewer may take,
live cases (SSE), and the KPIs of the metrics API with charts.

The page shell carries the incident vocabulary every page receives (statuses and their sets,
categories, sources, refusal reasons: gis/incidents/vocabulary.py), the workflow's steps and the
queue's fields, sorts and trays from the modules that own them, and the area choices; the script
asks the API for everything else (see docs/command-centre.md).
"""

from __future__ import annotations

from typing import Any

from branca.element import Element
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gis.incidents.queue import MAX_QUEUE_PAGE, QUEUE_FIELDS, SORTS, TRAYS
from gis.incidents.transitions import STEP_FIELDS
from gis.incidents.workflow import INCIDENT_WORKFLOW
from web.assets import vendored_url
from web.i18n import t
from web.mapkit import Page, PageViewerDep, SessionDep
from web.page_data import area_choices, bounds_of_city

router = APIRouter(include_in_schema=False)

CHART_JS = vendored_url("chart.js", "dist/chart.umd.min.js")
QUEUE_PAGE = 50
# The KPI tiles, in order: field names of the metrics API's rows (gis/incidents/metrics.py).
KPI_KEYS = (
    "reported",
    "registered",
    "closed",
    "closure_rate",
    "on_time_rate",
    "rework_rate",
    "avg_handling_hours",
    "overdue",
)


def command_data() -> dict[str, Any]:
    """What the page needs beyond the incident vocabulary every page receives (``incidents``,
    from gis/incidents/vocabulary.py): the workflow's steps, the queue's contract, the KPI
    tiles."""
    return {
        "steps": [
            {
                "from": s.from_status,
                "to": s.to_status,
                "action": s.name,
                "rework": s.rework,
                "fields": list(STEP_FIELDS[s.name]),
            }
            for s in INCIDENT_WORKFLOW.steps
        ],
        "kpis": list(KPI_KEYS),
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
            **command_data(),
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
