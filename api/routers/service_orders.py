"""Service orders (群众点单、组织派单、党员接单) and the yearly 服务之星 ranking."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.schemas.incidents import ServiceOrderCreate, ServiceOrderStep
from api.security import ViewerDep
from gis.queries import service_orders as q
from gis.queries.spatial_params import point_to_wgs84

router = APIRouter(tags=["service orders"])


@router.post("/service-orders", status_code=201)
def create_order(
    session: SessionDep, viewer: ViewerDep, body: ServiceOrderCreate
) -> dict[str, Any]:
    """A resident orders a service (群众点单)."""
    lon = lat = None
    if body.geometry is not None:
        lon, lat = point_to_wgs84(
            body.geometry.coordinates[0], body.geometry.coordinates[1], body.crs
        )
    order = q.create_order(
        session,
        viewer,
        service_type=body.service_type,
        description=body.description,
        requester_name=body.requester_name,
        requester_phone=body.requester_phone,
        community_code=body.community_code,
        lon=lon,
        lat=lat,
    )
    return order


@router.get("/service-orders")
def list_orders(
    session: SessionDep,
    viewer: ViewerDep,
    community: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    origin: Annotated[
        Literal["resident", "need", "post"] | None,
        Query(description="resident: 群众点单; need / post: the community's 双报到 需求 / 岗位"),
    ] = None,
    member_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[dict[str, Any]]:
    return q.list_orders(
        session,
        viewer,
        community_code=community,
        status=status,
        limit=limit,
        offset=offset,
        origin=origin,
        member_id=member_id,
    )


@router.get("/service-orders/stars")
def service_stars(
    session: SessionDep,
    viewer: ViewerDep,
    year: int,
    within: Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    """服务之星: party members by stars received in a year."""
    return q.star_ranking(session, viewer, year, within=within, limit=limit)


@router.get("/service-orders/{order_id}")
def get_order(session: SessionDep, viewer: ViewerDep, order_id: int) -> dict[str, Any]:
    return q.get_order(session, viewer, order_id)


@router.post("/service-orders/{order_id}/transitions")
def step_order(
    session: SessionDep, viewer: ViewerDep, order_id: int, body: ServiceOrderStep
) -> dict[str, Any]:
    """Publish (组织派单), claim (党员接单) or assign to a unit by letter (发函), report done
    (with hours for a 双报到 need), rate (一事一评; a need also gets the community's stars)."""
    result = q.step_order(
        session,
        viewer,
        order_id,
        body.to,
        member_id=body.member_id,
        rating=body.rating,
        comment=body.comment,
        note=body.note,
        action=body.action,
        unit_id=body.unit_id,
        letter_code=body.letter_code,
        hours=body.hours,
        community_rating=body.community_rating,
        community_comment=body.community_comment,
    )
    return result
