"""Field page ``/field`` (巡查走访), phone first: a worker's patrol with its live track and
findings, household visits; a chief's (or community's) view of the tracks, visit coverage and
the KPIs per worker of his area. Everything it shows comes from ``/api/v1/field``
(docs/field-work.md); the visit purposes come from gis/incidents/vocabulary.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gis.fieldwork.access import OWN_ONLY_ROLES, RECORDING_ROLES
from gis.fieldwork.patrols import MAX_POINTS_PER_BATCH
from gis.incidents.vocabulary import VISIT_PURPOSES
from web.i18n import t
from web.mapkit import Page, PageViewerDep, SessionDep
from web.page_data import area_shell

router = APIRouter(include_in_schema=False)
# The phone keeps at most one point per this many seconds and metres (battery and data).
SAMPLE_SECONDS = 5
SAMPLE_METRES = 5


@router.get("/field", response_class=HTMLResponse)
def field_page(request: Request, session: SessionDep, viewer: PageViewerDep) -> HTMLResponse:
    page = Page(request, title_key="app.field_title", body_class="gg-field-page", viewer=viewer)
    page.installable()
    lang = page.lang
    shell = area_shell(session, viewer.scope_code) if viewer.scope_code else None
    page.group("tracks", t("js.field.tracks", lang))
    page.group("coverage", t("js.field.coverage", lang))
    page.group("me", t("js.field.my_track", lang))
    page.add_controls(None)
    records = viewer.role in RECORDING_ROLES and viewer.user_id is not None
    oversees = not viewer.is_public and viewer.role not in OWN_ONLY_ROLES
    sections = []
    if records:
        sections += [
            {"id": "patrol", "heading": t("js.field.patrol", lang)},
            {"id": "visit", "heading": t("js.field.visit", lang)},
        ]
    if records or oversees:
        sections.append({"id": "findings", "heading": t("js.field.recent_findings", lang)})
    if oversees:
        sections += [
            {"id": "kpis", "heading": t("js.field.kpis", lang)},
            {"id": "coverage", "heading": t("js.field.coverage", lang)},
        ]
    if not sections:
        sections = [{"id": "signin", "heading": t("js.field.sign_in", lang)}]
    html = page.render(
        "fieldPage",
        {
            "field": {
                "area": None
                if shell is None
                else {"code": shell.code, "name": shell.name, "bounds": shell.bounds},
                "records": records,
                "oversees": oversees,
                "purposes": list(VISIT_PURPOSES),
                "sampleSeconds": SAMPLE_SECONDS,
                "sampleMetres": SAMPLE_METRES,
                "maxBatch": MAX_POINTS_PER_BATCH,
            }
        },
        {"search": False, "printable": False, "sections": sections},
    )
    return HTMLResponse(html)
