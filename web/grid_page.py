"""The grid workbench ``/grid/{code}`` (网格长工作台): one grid on a phone, and on paper.

Statistics, staff (一长两员 and 党建指导员), buildings with their households, the party
organisations the grid owns, its open and overdue cases with the steps the viewer may take
(签收, 处置反馈, 核查结案 …, read from each case's ``allowed_transitions``), a new report at the
phone's position or a tapped point, and the searchable, masked list of households and residents
(unmasked only after the worker states a purpose, which the API audits). Every fact comes from
the API or the server's vocabularies; docs/grid-workbench.md explains the decisions.

Printable: an A4 landscape wall map (gridgov.css, ``@media print``) with legend, scale bar,
north arrow and the staff board.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from gis import accounts
from gis.incidents.vocabulary import ENTERED_SOURCES
from gis.incidents.workflow import INCIDENT_WORKFLOW
from gis.scope import Viewer
from gis.special_groups import for_pages as special_groups_for_pages
from web.command_page import command_data
from web.i18n import t
from web.mapkit import Page, PageViewerDep, SessionDep
from web.page_data import area_shell

router = APIRouter(include_in_schema=False)

# The source a report made on the workbench is filed under (one of the vocabulary's).
REPORT_SOURCE = "grid_worker"
assert REPORT_SOURCE in ENTERED_SOURCES
# How many households the residents list loads per page (the API allows up to 500).
HOUSEHOLD_PAGE = 30
# Purposes offered when unmasking (a worker may type another): the audit log keeps the words.
PURPOSE_KEYS = (
    "grid.purpose.visit",
    "grid.purpose.case",
    "grid.purpose.care",
    "grid.purpose.check",
)


def person_of(session: Session, viewer: Viewer) -> int | None:
    """The staff record (person) behind the viewer's account, if it has one: whose cases are
    "mine" (cases are routed to a person, gis/incidents/routing.py)."""
    return accounts.person_of_user(session, viewer.user_id)


def workbench_config(session: Session, viewer: Viewer, lang: str, code: str) -> dict[str, Any]:
    """What the workbench's script needs beyond the grid itself, all from server-side owners.

    ``mayUnmask`` only offers the purpose prompt; the API applies the disclosure rule itself.
    """
    return {
        "steps": command_data()["steps"],
        "specialGroups": special_groups_for_pages(lang),
        "purposes": [t(key, lang) for key in PURPOSE_KEYS],
        "reportSource": REPORT_SOURCE,
        "householdPage": HOUSEHOLD_PAGE,
        "personId": person_of(session, viewer),
        "mayUnmask": viewer.may_unmask and viewer.covers(code),
        # The steps this role may take (by action), so a step queued offline can offer the
        # next one before the server has answered; the server decides when it is replayed.
        "roleActions": sorted({s.name for s in INCIDENT_WORKFLOW.steps if viewer.role in s.roles}),
    }


@router.get("/grid/{code}", response_class=HTMLResponse)
def grid_page(
    request: Request,
    session: SessionDep,
    viewer: PageViewerDep,
    code: Annotated[str, Path(pattern=r"^[0-9]{15}$")],
) -> HTMLResponse:
    page = Page(request, title_key="app.grid_title", body_class="gg-grid-page", viewer=viewer)
    page.installable()
    lang = page.lang
    shell = area_shell(session, code)
    if shell is None or shell.level != "grid":
        return HTMLResponse(
            f"<!DOCTYPE html><html lang='{lang}'><meta charset='utf-8'>"
            f"<title>{t('grid.not_found', lang)}</title><h1>{t('grid.not_found', lang)}</h1>"
            f"<p><a href='/'>{t('nav.city', lang)}</a></p></html>",
            status_code=404,
        )
    page.title = f"{shell.name} · {page.title}"
    page.group("grid", t("layer.grids", lang))
    page.group("buildings", t("layer.buildings", lang))
    page.group("orgs", t("layer.party", lang))
    page.group("incidents", t("js.open_cases", lang))
    page.group("report", t("js.grid.report", lang))
    page.add_controls(None)
    signed_in = not viewer.is_public
    sections = [
        {"id": "summary", "heading": f"{shell.name}（{shell.code}）"},
        {"id": "staff", "heading": t("js.staff", lang)},
        {"id": "incidents", "heading": t("js.grid.cases", lang)},
        *([{"id": "report", "heading": t("js.grid.report", lang)}] if signed_in else []),
        *([{"id": "residents", "heading": t("js.grid.residents", lang)}] if signed_in else []),
        *(
            [{"id": "findings", "heading": t("js.field.recent_findings", lang)}]
            if signed_in
            else []
        ),
        {"id": "buildings", "heading": t("js.buildings", lang)},
        {"id": "orgs", "heading": t("js.party_groups", lang)},
    ]
    html = page.render(
        "gridPage",
        {
            "grid": {
                "code": shell.code,
                "name": shell.name,
                "communityCode": shell.parent_code,
                "communityName": shell.parent_name,
                "bounds": shell.bounds,
            },
            "workbench": workbench_config(session, viewer, lang, shell.code),
        },
        {"search": False, "printable": True, "sections": sections},
    )
    return HTMLResponse(html)
