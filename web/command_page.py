"""Command centre ``/command``: every incident live (SSE), overdue ones flagged, a queue, KPIs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gis.incidents.vocabulary import KIND_OF_CATEGORY
from web.i18n import t
from web.mapkit import Page, PageViewerDep, SessionDep
from web.page_data import bounds_of_city

router = APIRouter(include_in_schema=False)


@router.get("/command", response_class=HTMLResponse)
def command_page(request: Request, session: SessionDep, viewer: PageViewerDep) -> HTMLResponse:
    page = Page(request, title_key="app.command_title", body_class="gg-command", viewer=viewer)
    lang = page.lang
    page.group("grids", t("layer.grids", lang))
    page.group("incidents", t("layer.incidents", lang))
    page.add_controls(None)
    sections = [
        {"id": "live", "heading": None},
        {"id": "queue", "heading": t("js.queue", lang)},
        {"id": "kpi", "heading": t("js.kpi", lang)},
    ]
    html = page.render(
        "commandPage",
        {"bounds": bounds_of_city(session)},
        {
            "search": False,
            "printable": False,
            "sections": sections,
            "incident_filters": False,
            "categories": tuple(KIND_OF_CATEGORY),
        },
    )
    return HTMLResponse(html)
