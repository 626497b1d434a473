"""双报到 statistics per community (一表): reported members and units, coverage, their activity.

Coverage (报到率) = in-service members living in the community who reported (to any community)
÷ in-service members living there. Activity counts the year (China time): needs and posts the
community published, members and units that claimed at least one, hours, the mean rating.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.dual.needs import _year_bounds
from gis.errors import Forbidden
from gis.orglife.meetings import ORG_LIFE_ROLES
from gis.queries.households import effective_area, subtree_prefix
from gis.scope import Viewer

PARTY_WORK_ROLES = ORG_LIFE_ROLES

_STATS = text(
    """
    WITH c AS (
        SELECT id, code, name FROM area
        WHERE level = 'community' AND valid_to IS NULL AND code LIKE :prefix
    ), living AS (
        SELECT g.parent_id AS community_id,
               count(*) FILTER (WHERE m.in_service) AS in_service,
               count(*) FILTER (WHERE m.in_service AND m.registered_community_id IS NOT NULL)
                   AS in_service_reported
        FROM party_member m JOIN resident r ON r.id = m.resident_id
        JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id
        JOIN area g ON g.id = b.grid_id
        WHERE g.parent_id IN (SELECT id FROM c)
        GROUP BY g.parent_id
    ), reg AS (
        SELECT registered_community_id AS community_id, count(*) AS members
        FROM party_member WHERE registered_community_id IN (SELECT id FROM c)
        GROUP BY registered_community_id
    ), units AS (
        SELECT registered_community_id AS community_id, count(*) AS units
        FROM regional_unit WHERE registered_community_id IN (SELECT id FROM c)
        GROUP BY registered_community_id
    ), work AS (
        SELECT o.community_id,
               count(*) FILTER (WHERE o.published_at >= :start AND o.published_at < :end)
                   AS published,
               count(*) FILTER (WHERE o.status = 'published') AS open,
               count(*) FILTER (WHERE o.status IN ('done', 'rated')
                                  AND o.done_at >= :start AND o.done_at < :end) AS done,
               count(DISTINCT o.member_id) FILTER (WHERE o.claimed_at >= :start
                                                   AND o.claimed_at < :end) AS active_members,
               count(DISTINCT o.unit_id) FILTER (WHERE o.claimed_at >= :start
                                                 AND o.claimed_at < :end) AS active_units,
               coalesce(sum(o.hours) FILTER (WHERE o.done_at >= :start AND o.done_at < :end), 0)
                   ::float8 AS hours,
               avg((o.rating + o.community_rating) / 2.0) FILTER (
                   WHERE o.status = 'rated' AND o.rated_at >= :start AND o.rated_at < :end)
                   ::float8 AS mean_rating
        FROM service_order o
        WHERE o.community_id IN (SELECT id FROM c) AND o.origin <> 'resident'
        GROUP BY o.community_id
    )
    SELECT c.code, c.name,
           coalesce(living.in_service, 0) AS in_service,
           coalesce(living.in_service_reported, 0) AS in_service_reported,
           coalesce(reg.members, 0) AS reported_members,
           coalesce(units.units, 0) AS reported_units,
           coalesce(work.published, 0) AS published, coalesce(work.open, 0) AS open,
           coalesce(work.done, 0) AS done,
           coalesce(work.active_members, 0) AS active_members,
           coalesce(work.active_units, 0) AS active_units,
           coalesce(work.hours, 0) AS hours, work.mean_rating
    FROM c LEFT JOIN living ON living.community_id = c.id
    LEFT JOIN reg ON reg.community_id = c.id LEFT JOIN units ON units.community_id = c.id
    LEFT JOIN work ON work.community_id = c.id
    ORDER BY c.code
    """
)
_COUNTS = (
    "in_service",
    "in_service_reported",
    "reported_members",
    "reported_units",
    "published",
    "open",
    "done",
    "active_members",
    "active_units",
)


def check_reader(viewer: Viewer) -> None:
    if viewer.role not in PARTY_WORK_ROLES:
        raise Forbidden(
            f"the role {viewer.role} has no access to 双报到 statistics; roles with access: "
            + ", ".join(sorted(PARTY_WORK_ROLES))
        )


def _coverage(reported: int, total: int) -> float | None:
    return round(reported / total, 4) if total else None


def statistics(
    session: Session, viewer: Viewer, *, within: str | None, year: int
) -> dict[str, Any]:
    """Per community under ``within`` (default: the viewer's scope) and the totals."""
    check_reader(viewer)
    area = effective_area(viewer, within)
    start, end = _year_bounds(year)
    rows = session.execute(
        _STATS, {"prefix": subtree_prefix(area) + "%", "start": start, "end": end}
    ).all()
    communities = [
        {
            "code": r.code,
            "name": r.name,
            **{k: int(getattr(r, k)) for k in _COUNTS},
            "coverage": _coverage(r.in_service_reported, r.in_service),
            "hours": round(r.hours, 1),
            "mean_rating": None if r.mean_rating is None else round(r.mean_rating, 2),
        }
        for r in rows
    ]
    totals: dict[str, Any] = {k: sum(c[k] for c in communities) for k in _COUNTS}
    totals["coverage"] = _coverage(totals["in_service_reported"], totals["in_service"])
    totals["hours"] = round(sum(c["hours"] for c in communities), 1)
    return {"within": area, "year": year, "totals": totals, "communities": communities}
