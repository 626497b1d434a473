"""``GET /api/v1/locate``: whose grid is this point in, and who is responsible for it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import SessionDep
from api.schemas.locate import Location
from api.security import ViewerDep
from gis.queries.locate import locate as locate_point

router = APIRouter(tags=["spatial"])
JSON = "application/json"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "lon/lat not finite or out of range, or an unknown crs"},
}


@router.get("/locate", response_model=Location, responses=ERRORS)
def locate(
    session: SessionDep,
    viewer: ViewerDep,
    lon: Annotated[float, Query(description="Longitude (or x in crs)", examples=[106.627])],
    lat: Annotated[float, Query(description="Latitude (or y in crs)", examples=[35.223])],
    crs: Annotated[
        str | None,
        Query(
            description="CRS of lon/lat: EPSG:4326 (default), EPSG:4490, EPSG:3857, any EPSG "
            "code, GCJ02 (AMap, WeChat) or BD09 (Baidu)",
            examples=["GCJ02"],
        ),
    ] = None,
) -> Response:
    """The street, community, grid and building at a point, the grid's chief, workers and
    party branch, and the nearest 党群服务中心 with its geodesic distance.

    A point on a boundary shared by several grids belongs to the one with the lowest code.
    Outside every grid the areas are null and `nearest_grid` names the closest one. Staff names
    and phones are masked unless the viewer may see personal data of that grid.
    """
    found = locate_point(session, viewer, lon, lat, crs)
    # Validated against the documented model here, in the handler's thread: after a sync handler
    # FastAPI validates the returned value in one more thread hop (4.5 % of a locate worker's
    # samples, bench/RESULTS.md). A returned Response is sent as it is.
    return Response(Location.model_validate(found).model_dump_json(), media_type=JSON)
