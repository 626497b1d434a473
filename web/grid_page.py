"""Grid chief's view ``/grid/{code}``: one grid, its buildings, party groups, open cases, staff.

Printable: the print stylesheet lays the map and the lists out on paper (gridgov.css).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from web.i18n import t
from web.mapkit import Page, PageViewerDep, SessionDep
from web.page_data import area_shell

router = APIRouter(include_in_schema=False)


@router.get("/grid/{code}", response_class=HTMLResponse)
def grid_page(
    request: Request,
    session: SessionDep,
    viewer: PageViewerDep,
    code: Annotated[str, Path(pattern=r"^[0-9]{15}$")],
) -> HTMLResponse:
    page = Page(request, title_key="app.grid_title", body_class="gg-grid-page", viewer=viewer)
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
    page.add_controls(None)
    sections = [
        {"id": "summary", "heading": f"{shell.name}（{shell.code}）"},
        {"id": "staff", "heading": t("js.staff", lang)},
        {"id": "buildings", "heading": t("js.buildings", lang)},
        {"id": "orgs", "heading": t("js.party_groups", lang)},
        {"id": "incidents", "heading": t("js.open_cases", lang)},
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
        },
        {"search": False, "printable": True, "sections": sections},
    )
    return HTMLResponse(html)
