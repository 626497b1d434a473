"""``/api/v1/areas``: districts, streets, communities and grids with their statistics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from api.deps import SessionDep
from api.schemas.areas import AreaDetail, AreaPage
from api.security import ViewerDep
from gis.queries import areas as queries
from gis.queries.spatial_params import parse_bbox

router = APIRouter(tags=["areas"])


@router.get(
    "/areas",
    response_model=AreaPage,
    responses={
        400: {"description": "A malformed bbox, unknown level, limit or offset out of range"},
        404: {"description": "The `within` area does not exist"},
    },
)
def list_areas(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    level: Annotated[
        Literal["district", "street", "community", "grid"] | None, Query(examples=["grid"])
    ] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="west,south,east,north in WGS84 degrees; areas intersecting it",
            examples=["106.62,35.21,106.68,35.23"],
        ),
    ] = None,
    within: Annotated[
        str | None, Query(description="Only this area's subtree", examples=["620881001000"])
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of a name, or a code prefix")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """A page of current areas ordered by code, with the total and next/prev links."""
    box = parse_bbox(bbox) if bbox is not None else None
    page = queries.list_areas(
        session, viewer, level=level, bbox=box, within=within, q=q, limit=limit, offset=offset
    )
    links = [{"rel": "self", "href": str(request.url)}]
    if offset + limit < page["total"]:
        links.append(
            {"rel": "next", "href": str(request.url.include_query_params(offset=offset + limit))}
        )
    if offset > 0:
        links.append(
            {
                "rel": "prev",
                "href": str(request.url.include_query_params(offset=max(0, offset - limit))),
            }
        )
    return {**page, "links": links}


@router.get(
    "/areas/{code}",
    response_model=AreaDetail,
    responses={
        400: {"description": "The code is not 6, 12 or 15 digits"},
        404: {"description": "No current area has this code"},
    },
)
def get_area(
    session: SessionDep,
    viewer: ViewerDep,
    code: Annotated[str, Path(examples=["620881001001001"])],
    geometry: Annotated[bool, Query(description="Include the GeoJSON boundary")] = False,
) -> dict[str, Any]:
    """One area of any level: properties, parent chain, children and statistics."""
    return queries.area_detail(session, viewer, code, with_geometry=geometry)
