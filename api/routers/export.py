"""``GET /api/v1/export/{layer}``: public layers as GeoJSON, GeoPackage, Shapefile or CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.deps import SessionDep
from api.security import ViewerDep
from gis import audit
from gis.crs import MAX_PRECISION_M, MIN_PRECISION_M
from gis.queries import export as queries

router = APIRouter(tags=["export"])
Layer = Literal["streets", "communities", "grids", "buildings", "party_orgs", "service_facilities"]


@router.get(
    "/export/{layer}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file, with a Content-Disposition file name",
            "content": {
                "application/geo+json": {},
                "application/geopackage+sqlite3": {},
                "application/zip": {},
                "text/csv": {},
            },
        },
        400: {"description": "Unknown format, crs or malformed area code"},
        404: {"description": "The `within` area does not exist"},
        422: {"description": "Unknown layer"},
    },
)
def export_layer(
    session: SessionDep,
    viewer: ViewerDep,
    layer: Annotated[Layer, Path(examples=["grids"])],
    format: Annotated[
        str, Query(description="geojson, gpkg, shp (zipped) or csv (WKT geometry)")
    ] = "geojson",
    within: Annotated[str | None, Query(examples=["620881001001"])] = None,
    crs: Annotated[
        str | None,
        Query(description="Output CRS: EPSG:4326 (default), any EPSG code, GCJ02 or BD09"),
    ] = None,
    precision: Annotated[
        float | None,
        Query(
            ge=MIN_PRECISION_M,
            le=MAX_PRECISION_M,
            description="Coordinate resolution in metres (default 0.01, about 1 cm)",
        ),
    ] = None,
) -> FileResponse:
    """A public layer (optionally one area's subtree), written by GeoPandas/pyogrio.

    A signed-in account's export is a bulk read and is audited (``export.masked``: no personal
    fields leave here); anonymous exports of public layers are not (there is no one to name).
    """
    exported = queries.export_layer(
        session, viewer, layer, fmt=format, within=within, crs=crs, precision=precision
    )
    if not viewer.is_public:
        audit.disclose(
            session,
            viewer,
            f"export:{layer}:{within or ''}",
            rows=exported.rows,
            area_code=within,
            action=audit.EXPORT_MASKED,
            detail={"format": format},
        )
    return FileResponse(
        exported.path,
        media_type=exported.media_type,
        filename=exported.filename,
        background=BackgroundTask(exported.cleanup),
    )
