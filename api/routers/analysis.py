"""``/api/v1/analysis``: the 15-minute service circle and party-building blank spots."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.schemas.analysis import BlankSpots, ServiceCoverage
from api.security import ViewerDep
from gis.queries import analysis as queries

router = APIRouter(tags=["analysis"])
Within = Annotated[
    str | None, Query(description="Only this area's subtree", examples=["620881001001"])
]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A malformed area code or radius out of range"},
    404: {"description": "The `within` area does not exist"},
}


@router.get("/analysis/service-coverage", response_model=ServiceCoverage, responses=ERRORS)
def service_coverage(
    session: SessionDep,
    viewer: ViewerDep,
    within: Within = None,
    radius_m: Annotated[
        float, Query(description="Walking radius in metres (50–10000)", examples=[1000])
    ] = 1000.0,
) -> dict[str, Any]:
    """Buildings and households farther than `radius_m` from every 党群服务中心, per grid."""
    return queries.service_coverage(session, viewer, within=within, radius_m=radius_m)


@router.get("/analysis/blank-spots", response_model=BlankSpots, responses=ERRORS)
def blank_spots(session: SessionDep, viewer: ViewerDep, within: Within = None) -> dict[str, Any]:
    """党建空白点: grids without a party branch, inhabited buildings with no party group and no
    party member, and communities ranked by party members per 100 households."""
    return queries.blank_spots(session, viewer, within=within)
