"""``/api/v1/dual-report``: 双报到 — in-service members and their units report to a community.

A community's needs and posts are service orders of its own (``origin`` need/post): published
here, claimed or assigned by letter and rated through ``/service-orders/{id}/transitions``.
Registration and publishing are the community organisers' (gis/dual/registration.py); the
statistics and lists are for the party-work roles in their scope; members' names follow the
disclosure rule (``purpose``) and are audited in the same transaction.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep
from api.schemas.incidents import PointGeometry
from api.security import SignedInViewerDep, ViewerDep, scope_decision
from gis.dual import needs, ranking, registration, vocabulary
from gis.dual.statistics import check_reader, statistics
from gis.errors import Forbidden
from gis.orglife.meetings import local_today
from gis.queries.households import effective_area
from gis.queries.spatial_params import point_to_wgs84

router = APIRouter(tags=["双报到"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role does not do this, or the community is out of scope"},
}
COMMUNITY = r"^[0-9]{12}$"
UNIT_CODE = r"^DW[0-9]{6,24}$"
YearQuery = Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year")]


class MemberRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_code: str = Field(pattern=COMMUNITY)
    registered_on: datetime.date


class UnitRegistration(MemberRegistration):
    pass


class NeedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_code: str = Field(pattern=COMMUNITY)
    origin: Literal["need", "post"] = Field(description="need: 需求; post: 岗位")
    title: str = Field(min_length=1, max_length=100, pattern=r"\S")
    service_type: Literal["养老照护", "维修", "代办", "助学", "心理疏导", "其他"]
    description: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    geometry: PointGeometry | None = None
    crs: str | None = None


@router.get("/dual-report/vocabulary", openapi_extra=scope_decision("public"))
def get_vocabulary() -> dict[str, Any]:
    """Origins (群众点单 / 需求 / 岗位), who does the work, the star scale."""
    return vocabulary.for_pages()


@router.post(
    "/dual-report/members/{member_id}/registration",
    responses={**ERRORS, 404: {"description": "No such member"}},
    openapi_extra=scope_decision("scoped"),
)
def register_member(
    viewer: SignedInViewerDep,
    session: SessionDep,
    member_id: Annotated[int, Path(ge=1, le=2**62)],
    body: MemberRegistration,
) -> dict[str, Any]:
    """The community records an in-service member's report (报到)."""
    return registration.register_member(
        session, viewer, member_id, body.community_code, body.registered_on, local_today()
    )


@router.post(
    "/dual-report/units/{code}/registration",
    responses={**ERRORS, 404: {"description": "No such unit"}},
    openapi_extra=scope_decision("scoped"),
)
def register_unit(
    viewer: SignedInViewerDep,
    session: SessionDep,
    code: Annotated[str, Path(pattern=UNIT_CODE)],
    body: UnitRegistration,
) -> dict[str, Any]:
    """The community records a unit's party organisation's report (单位报到)."""
    return registration.register_unit(
        session, viewer, code, body.community_code, body.registered_on, local_today()
    )


@router.post(
    "/dual-report/needs",
    status_code=201,
    responses=ERRORS,
    openapi_extra=scope_decision("scoped"),
)
def publish_need(
    viewer: SignedInViewerDep, session: SessionDep, body: NeedCreate
) -> dict[str, Any]:
    """The community publishes a need (需求) or post (岗位) for its reported members and units."""
    lon = lat = None
    if body.geometry is not None:
        lon, lat = point_to_wgs84(
            body.geometry.coordinates[0], body.geometry.coordinates[1], body.crs
        )
    return needs.publish_need(
        session,
        viewer,
        community_code=body.community_code,
        origin=body.origin,
        title=body.title.strip(),
        service_type=body.service_type,
        description=body.description.strip(),
        lon=lon,
        lat=lat,
    )


@router.get(
    "/dual-report/communities/{code}/reported",
    responses=ERRORS,
    openapi_extra=scope_decision("personal"),
)
def reported(
    viewer: SignedInViewerDep,
    session: SessionDep,
    code: Annotated[str, Path(pattern=COMMUNITY)],
    year: YearQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Members and units reported to a community with the year's claims, hours and stars."""
    check_reader(viewer)
    if effective_area(viewer, code) != code:
        raise Forbidden(f"the community {code} is outside your scope {viewer.scope_code}")
    return needs.reported(
        session, viewer, code, year or local_today().year, limit=limit, offset=offset
    )


@router.get("/dual-report/statistics", responses=ERRORS, openapi_extra=scope_decision("scoped"))
def get_statistics(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: Annotated[str | None, Query(pattern=r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$")] = None,
    year: YearQuery = None,
) -> dict[str, Any]:
    """Per community (一表): reported members and units, coverage, needs, hours, ratings."""
    return statistics(session, viewer, within=within, year=year or local_today().year)


@router.get("/dual-report/ranking", openapi_extra=scope_decision("public"))
def get_ranking(
    viewer: ViewerDep,
    session: SessionDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    doer: Literal["member", "unit"] = "member",
    within: Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    """The year's ranking of members (服务之星) or units by stars, then orders and hours."""
    return ranking.ranking(session, viewer, year, doer=doer, within=within, limit=limit)
