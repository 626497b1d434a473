"""The map pages. Folium builds each page; layers are fetched by the browser, never inlined."""

from __future__ import annotations

from typing import Annotated, Any

import folium
from branca.element import Figure
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from gis.db import get_session
from gis.queries.areas import area_features, city_bounds
from gis.settings import get_settings
from web.assets import localise
from web.i18n import t

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]

# Default view when the database is empty: the demo city 华亭市.
DEFAULT_CENTRE = (35.22, 106.65)
LEVEL_STYLE: dict[str, dict[str, Any]] = {
    "street": {"color": "#b71c1c", "weight": 3, "fillOpacity": 0.0},
    "community": {"color": "#e65100", "weight": 2, "fillOpacity": 0.0, "dashArray": "6 4"},
    "grid": {"color": "#1565c0", "weight": 1, "fillColor": "#90caf9", "fillOpacity": 0.25},
}


def _layer(level: str, label: str, lang: str) -> folium.GeoJson:
    return folium.GeoJson(
        f"/map/layers/{level}.geojson",
        name=label,
        style_function=lambda _feature, style=LEVEL_STYLE[level]: style,
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "code"], aliases=[t("popup.name", lang), t("popup.code", lang)]
        ),
        embed=False,
    )


def city_map(session: Session) -> folium.Map:
    """The overview map of the city: street, community and grid boundaries."""
    lang = get_settings().language
    bounds = city_bounds(session)
    fmap = folium.Map(
        location=DEFAULT_CENTRE, zoom_start=14, tiles=None, control_scale=True, prefer_canvas=True
    )
    root = fmap.get_root()
    assert isinstance(root, Figure)
    root.header.add_child(folium.Element(f"<title>{t('app.title', lang)}</title>"))
    if bounds is None:
        folium.Marker(
            DEFAULT_CENTRE, popup=f"<b>{t('empty.title', lang)}</b><br>{t('empty.body', lang)}"
        ).add_to(fmap)
    else:
        west, south, east, north = bounds
        fmap.fit_bounds([[south, west], [north, east]])
        _layer("grid", t("layer.grids", lang), lang).add_to(fmap)
        _layer("community", t("layer.communities", lang), lang).add_to(fmap)
        _layer("street", t("layer.streets", lang), lang).add_to(fmap)
        folium.LayerControl(collapsed=False).add_to(fmap)
    localise(fmap.get_root())
    return fmap


@router.get("/", response_class=HTMLResponse)
def index(session: SessionDep) -> HTMLResponse:
    return HTMLResponse(city_map(session).get_root().render())


@router.get("/map/layers/{level}.geojson")
def layer(
    session: SessionDep,
    level: str,
    bbox: Annotated[str | None, Query(pattern=r"^-?[\d.]+(,-?[\d.]+){3}$")] = None,
) -> JSONResponse:
    """Boundaries of one level for the map, simplified for an overview."""
    if level not in LEVEL_STYLE:
        return JSONResponse({"detail": f"unknown layer {level}"}, status_code=404)
    box = tuple(float(v) for v in bbox.split(",")) if bbox else None
    collection = area_features(session, level, box, tolerance=0.00001)  # type: ignore[arg-type]
    return JSONResponse(collection, media_type="application/geo+json")
