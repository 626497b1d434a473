"""Yearly rankings of 双报到 work: members (服务之星) and units, by the stars they received.

One rule for every ranking: a service order rated in the year (China time) counts for whoever
did it — the member who claimed it or the unit it was assigned to. Its stars are the residents'
rating plus, for a community's need or post, the community's rating. Ranked by stars, then
rated orders, then hours, then the mean rating (over every rating received).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import InvalidInput
from gis.masking import mask_name
from gis.scope import Viewer

Doer = Literal["member", "unit"]

_RANKING = """
WITH rated AS (
    SELECT o.*, c.code AS community_code,
           o.rating + coalesce(o.community_rating, 0) AS stars,
           1 + (o.community_rating IS NOT NULL)::int AS ratings
    FROM service_order o JOIN area c ON c.id = o.community_id
    WHERE o.status = 'rated'
      AND o.rated_at >= make_timestamptz(:y, 1, 1, 0, 0, 0, 'Asia/Shanghai')
      AND o.rated_at < make_timestamptz(:y + 1, 1, 1, 0, 0, 0, 'Asia/Shanghai')
      AND (CAST(:w AS text) IS NULL OR c.code LIKE :w || '%')
)
"""
_MEMBERS = text(
    _RANKING
    + """
    SELECT o.member_id AS id, CAST(o.member_id AS text) AS code, r.id AS resident_id,
           r.name, count(*) AS orders, sum(o.stars) AS stars, sum(o.ratings) AS ratings,
           coalesce(sum(o.hours), 0)::float8 AS hours,
           count(*) FILTER (WHERE o.done_at <= o.due_at) AS on_time,
           min(o.community_code) AS community_code
    FROM rated o
    JOIN party_member m ON m.id = o.member_id
    JOIN resident r ON r.id = m.resident_id
    GROUP BY o.member_id, r.id, r.name
    ORDER BY stars DESC, orders DESC, hours DESC, sum(o.stars)::float8 / sum(o.ratings) DESC,
             o.member_id
    LIMIT :lim
    """
)
_UNITS = text(
    _RANKING
    + """
    SELECT u.id, u.code, NULL::bigint AS resident_id, u.name, count(*) AS orders,
           sum(o.stars) AS stars, sum(o.ratings) AS ratings,
           coalesce(sum(o.hours), 0)::float8 AS hours,
           count(*) FILTER (WHERE o.done_at <= o.due_at) AS on_time,
           min(o.community_code) AS community_code
    FROM rated o JOIN regional_unit u ON u.id = o.unit_id
    GROUP BY u.id, u.code, u.name
    ORDER BY stars DESC, orders DESC, hours DESC, sum(o.stars)::float8 / sum(o.ratings) DESC, u.id
    LIMIT :lim
    """
)


def ranking(
    session: Session,
    viewer: Viewer,
    year: int,
    *,
    doer: Doer = "member",
    within: str | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The year's ranking of members or units; members' names by the disclosure rule (audited)."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("year must be between 2000 and 2100", parameter="year")
    rows = session.execute(
        _MEMBERS if doer == "member" else _UNITS, {"y": year, "w": within, "lim": limit}
    ).all()
    people = doer == "member"
    shown = [
        audit.subject("resident", r.resident_id)
        for r in rows
        if people and viewer.unmasks(r.community_code)
    ]
    audit.disclose(session, viewer, f"service_stars:{year}:{within or ''}", subjects=shown)
    return [
        {
            "rank": i + 1,
            "id": r.id,
            "code": r.code,
            # A public honour roll shows a member's name masked unless the rule allows it; a
            # unit's name is not personal.
            "name": r.name if not people or viewer.unmasks(r.community_code) else mask_name(r.name),
            "orders": r.orders,
            "stars": int(r.stars),
            "mean_rating": round(int(r.stars) / int(r.ratings), 3),
            "hours": round(r.hours, 1),
            "on_time": r.on_time,
        }
        for i, r in enumerate(rows)
    ]
