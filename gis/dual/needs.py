"""A community publishes a 双报到 need (需求) or post (岗位); its reported members and units.

A need is a service order of the community's own (``origin``), published at once: members
browse ``GET /service-orders?origin=need&status=published`` and claim it; the community may
instead assign it to a unit by letter (gis/dual/claims.py). The order's steps, history and
rating are the service orders' (gis/queries/service_orders.py).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.dual.registration import check_organiser
from gis.masking import mask_name
from gis.queries import service_orders
from gis.scope import Viewer

_COMMUNITY_ORG = text(
    """
    SELECT coalesce(o.name, c.name) FROM area c
    LEFT JOIN party_org o ON o.area_id = c.id AND o.level = 'community'
    WHERE c.level = 'community' AND c.valid_to IS NULL AND c.code = :c
    ORDER BY o.id LIMIT 1
    """
)


def publish_need(
    session: Session,
    viewer: Viewer,
    *,
    community_code: str,
    origin: str,
    title: str,
    service_type: str,
    description: str,
    lon: float | None = None,
    lat: float | None = None,
) -> dict[str, Any]:
    """The community's need or post, published for its reported members and units."""
    check_organiser(viewer, community_code)
    requester = session.execute(_COMMUNITY_ORG, {"c": community_code}).scalar_one_or_none()
    order = service_orders.create_order(
        session,
        viewer,
        service_type=service_type,
        description=description,
        # The community asks: its party organisation stands as the requester (not a person).
        requester_name=(requester or community_code)[:50],
        requester_phone=None,
        community_code=community_code,
        lon=lon,
        lat=lat,
        origin=origin,
        title=title,
    )
    return service_orders.step_order(
        session,
        viewer,
        order["id"],
        "published",
        note="社区发布" + ("岗位" if origin == "post" else "需求"),
    )


_REPORTED_MEMBERS = text(
    """
    SELECT m.id, m.registered_on, m.work_unit, r.id AS resident_id, r.name,
           c.code AS community_code,
           count(o.id) FILTER (WHERE o.status IN ('claimed', 'done', 'rated')) AS claimed,
           count(o.id) FILTER (WHERE o.status = 'rated') AS rated,
           coalesce(sum(o.hours) FILTER (WHERE o.status IN ('done', 'rated')), 0)::float8 AS hours,
           coalesce(sum(o.rating + coalesce(o.community_rating, 0))
                    FILTER (WHERE o.status = 'rated'), 0) AS stars
    FROM party_member m
    JOIN area c ON c.id = m.registered_community_id
    JOIN resident r ON r.id = m.resident_id
    LEFT JOIN service_order o
           ON o.member_id = m.id AND o.claimed_at >= :start AND o.claimed_at < :end
    WHERE c.code = :c
    GROUP BY m.id, r.id, c.code
    ORDER BY stars DESC, hours DESC, m.id
    LIMIT :lim OFFSET :off
    """
)
_REPORTED_UNITS = text(
    """
    SELECT u.id, u.code, u.name, u.kind, u.party_org_name, u.party_members, u.registered_on,
           count(o.id) FILTER (WHERE o.status IN ('claimed', 'done', 'rated')) AS projects,
           coalesce(sum(o.hours) FILTER (WHERE o.status IN ('done', 'rated')), 0)::float8 AS hours,
           coalesce(sum(o.rating + coalesce(o.community_rating, 0))
                    FILTER (WHERE o.status = 'rated'), 0) AS stars
    FROM regional_unit u
    JOIN area c ON c.id = u.registered_community_id
    LEFT JOIN service_order o
           ON o.unit_id = u.id AND o.claimed_at >= :start AND o.claimed_at < :end
    WHERE c.code = :c
    GROUP BY u.id
    ORDER BY stars DESC, hours DESC, u.code
    """
)


def _year_bounds(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    return (
        datetime.datetime(year, 1, 1, tzinfo=tz),
        datetime.datetime(year + 1, 1, 1, tzinfo=tz),
    )


def reported(
    session: Session,
    viewer: Viewer,
    community_code: str,
    year: int,
    *,
    limit: int = 200,
    offset: int = 0,
) -> dict[str, Any]:
    """The members and units reported to a community, with their year's claims, hours, stars.

    Members' names follow the disclosure rule and are audited in the same transaction.
    """
    start, end = _year_bounds(year)
    members = session.execute(
        _REPORTED_MEMBERS,
        {"c": community_code, "start": start, "end": end, "lim": limit, "off": offset},
    ).all()
    units = session.execute(_REPORTED_UNITS, {"c": community_code, "start": start, "end": end})
    unmask = viewer.unmasks(community_code)
    if unmask:
        audit.disclose(
            session,
            viewer,
            f"dual_reported:{community_code}",
            subjects=[audit.subject("resident", m.resident_id) for m in members],
            area_code=community_code,
        )
    return {
        "community_code": community_code,
        "year": year,
        "masked": not unmask,
        "members": [
            {
                "id": m.id,
                "name": m.name if unmask else mask_name(m.name),
                "work_unit": m.work_unit,
                "registered_on": m.registered_on.isoformat(),
                "claimed": m.claimed,
                "rated": m.rated,
                "hours": round(m.hours, 1),
                "stars": int(m.stars),
            }
            for m in members
        ],
        "units": [
            {
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "party_org_name": u.party_org_name,
                "party_members": u.party_members,
                "registered_on": u.registered_on.isoformat(),
                "projects": u.projects,
                "hours": round(u.hours, 1),
                "stars": int(u.stars),
            }
            for u in units
        ],
    }
