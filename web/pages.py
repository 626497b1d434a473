"""党建电子地图 ``/``: the whole city, and the boundary fallback layer ``/map/layers``.

Folium builds the shell (map, controls, the layer tree of empty groups); the page script
``web/static/gridgov/city.js`` fills the groups from vector tiles or bbox-limited GeoJSON.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from gis.incidents.listing import MAX_PAGE
from gis.incidents.vocabulary import KIND_OF_CATEGORY
from gis.queries.areas import area_features
from gis.regional.vocabulary import LAYERS as REGIONAL_LAYERS
from gis.scope import Viewer
from web.i18n import t
from web.mapkit import Page, PageViewerDep, SessionDep
from web.page_data import area_shell, bounds_of_city

router = APIRouter(include_in_schema=False)

FALLBACK_LEVELS = ("street", "community", "grid")
ORG_LEVELS = ("street", "community", "grid", "building", "household")
CHOROPLETH_METRICS = ("households", "members_per_100", "open_incidents", "on_time_rate", "density")


def metric_label(metric: str, lang: str) -> str:
    """Label of a thematic-map choice in the layer tree."""
    if metric == "none":
        return t("js.choropleth.none", lang)
    return t("layer.density" if metric == "density" else f"js.stat.{metric}", lang)


def city_page(
    request: Request, session: Session, viewer: Viewer | None = None, area: str | None = None
) -> str:
    """The HTML of the city map for the request's viewer, zoomed to ``area`` when given (the
    "my area" of a secretary, web/home.py; an unknown code shows the whole city)."""
    page = Page(request, title_key="app.title", body_class="gg-city", viewer=viewer)
    lang = page.lang
    for level, key in (
        ("street", "layer.streets"),
        ("community", "layer.communities"),
        ("grid", "layer.grids"),
        ("building", "layer.buildings"),
    ):
        page.group(f"area_{level}", t(key, lang))
    page.group("labels", "labels")
    for level in ORG_LEVELS:
        page.group(f"org_{level}", t(f"layer.org.{level}", lang), show=level != "household")
    for layer in REGIONAL_LAYERS:
        page.group(f"regional_{layer}", t(f"layer.regional.{layer}", lang))
    page.group("facilities", t("layer.facilities", lang))
    page.group("circle15", t("layer.circle15", lang))
    page.group("incident_clusters", t("layer.incident_clusters", lang))
    page.group("incident_heat", t("layer.incident_heat", lang), show=False)
    for metric in ("none", *CHOROPLETH_METRICS):
        page.group(f"choropleth_{metric}", metric_label(metric, lang), show=metric == "households")

    overlay_tree: dict[str, Any] = {
        "label": t("layer.overlays", lang),
        "children": [
            {
                "label": t("layer.boundaries", lang),
                "selectAllCheckbox": True,
                "children": [
                    page.tree_node(f"area_{lv}", t(k, lang))
                    for lv, k in (
                        ("street", "layer.streets"),
                        ("community", "layer.communities"),
                        ("grid", "layer.grids"),
                        ("building", "layer.buildings"),
                    )
                ],
            },
            {
                "label": t("layer.party", lang),
                "selectAllCheckbox": True,
                "children": [
                    page.tree_node(
                        f"org_{lv}",
                        f'<i class="gg-swatch gg-org-{lv}"></i>{t(f"layer.org.{lv}", lang)}',
                    )
                    for lv in ORG_LEVELS
                ],
            },
            {
                "label": t("layer.regional", lang),
                "selectAllCheckbox": True,
                "children": [
                    page.tree_node(
                        f"regional_{key}",
                        f'<i class="gg-swatch gg-regional-{key}"></i>'
                        + t(f"layer.regional.{key}", lang),
                    )
                    for key in REGIONAL_LAYERS
                ],
            },
            {
                "label": t("layer.services", lang),
                "children": [
                    page.tree_node("facilities", t("layer.facilities", lang)),
                    page.tree_node("circle15", t("layer.circle15", lang)),
                ],
            },
            {
                "label": t("layer.incidents", lang),
                "children": [
                    page.tree_node("incident_clusters", t("layer.incident_clusters", lang)),
                    page.tree_node("incident_heat", t("layer.incident_heat", lang)),
                ],
            },
            {
                "label": t("layer.choropleth", lang),
                "children": [
                    page.tree_node(
                        f"choropleth_{m}", metric_label(m, lang), radioGroup="choropleth"
                    )
                    for m in ("none", *CHOROPLETH_METRICS)
                ],
            },
        ],
    }
    page.add_controls(overlay_tree)
    bounds = bounds_of_city(session)
    shell = area_shell(session, area) if area else None
    focus = (
        None
        if shell is None
        else {"code": shell.code, "name": shell.name, "level": shell.level, "bounds": shell.bounds}
    )
    sections = [
        {"id": "area", "heading": t("js.panel", lang), "body": t("js.click_hint", lang)},
    ]
    return page.render(
        "cityPage",
        {
            "bounds": bounds,
            "focus": focus,
            "fallbackLevels": FALLBACK_LEVELS,
            "metrics": CHOROPLETH_METRICS,
            "regionalLayers": list(REGIONAL_LAYERS),
            # The incidents API's largest page: asking for more is a 422.
            "incidentPageLimit": MAX_PAGE,
            "empty": None
            if bounds
            else {"title": t("empty.title", lang), "body": t("empty.body", lang)},
        },
        {
            "search": True,
            "printable": False,
            "sections": sections,
            "incident_filters": True,
            "categories": tuple(KIND_OF_CATEGORY),
        },
    )


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    session: SessionDep,
    viewer: PageViewerDep,
    area: Annotated[str | None, Query(pattern=r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$")] = None,
) -> HTMLResponse:
    return HTMLResponse(city_page(request, session, viewer, area))


@router.get("/map/layers/{level}.geojson")
def layer(
    session: SessionDep,
    level: str,
    bbox: Annotated[str | None, Query(pattern=r"^-?[\d.]+(,-?[\d.]+){3}$")] = None,
) -> JSONResponse:
    """Boundaries of one level for the map, simplified for an overview.

    The page uses this only while the OGC items/tiles service is not routed.
    """
    if level not in FALLBACK_LEVELS:
        return JSONResponse({"detail": f"unknown layer {level}"}, status_code=404)
    box = tuple(float(v) for v in bbox.split(",")) if bbox else None
    collection = area_features(session, level, box, tolerance=0.00001)  # type: ignore[arg-type]
    return JSONResponse(collection, media_type="application/geo+json")
