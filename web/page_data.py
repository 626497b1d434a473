"""The little a page shell needs from the database itself: which area it shows, and where.

Everything else is fetched by the browser from the API. These reads are public (names, codes,
extents of areas), so they need no viewer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.queries.areas import city_bounds

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class AreaShell:
    code: str
    name: str
    level: str
    parent_code: str | None
    parent_name: str | None
    bounds: Bounds


def area_shell(session: Session, code: str) -> AreaShell | None:
    """Name, parent and lon/lat bounds of the current area with ``code``, or None."""
    row = session.execute(
        text(
            """
            SELECT a.code, a.name, a.level, p.code AS parent_code, p.name AS parent_name,
                   ST_XMin(a.geom) AS w, ST_YMin(a.geom) AS s,
                   ST_XMax(a.geom) AS e, ST_YMax(a.geom) AS n
            FROM area a LEFT JOIN area p ON p.id = a.parent_id
            WHERE a.code = :code AND a.valid_to IS NULL
            """
        ),
        {"code": code},
    ).one_or_none()
    if row is None:
        return None
    return AreaShell(
        row.code,
        row.name,
        row.level,
        row.parent_code,
        row.parent_name,
        (row.w, row.s, row.e, row.n),
    )


def bounds_of_city(session: Session) -> Bounds | None:
    return city_bounds(session)


def area_choices(session: Session) -> list[dict[str, str]]:
    """Districts, streets and communities in force (code, name, level, parent code), in code
    order: the area choices of the command centre's filters and KPIs. A few hundred rows."""
    rows = session.execute(
        text(
            """
            SELECT a.code, a.name, a.level, p.code AS parent_code
            FROM area a LEFT JOIN area p ON p.id = a.parent_id
            WHERE a.level IN ('district', 'street', 'community') AND a.valid_to IS NULL
            ORDER BY a.code, a.level
            """
        )
    ).all()
    return [
        {"code": r.code, "name": r.name, "level": r.level, "parent": r.parent_code or ""}
        for r in rows
    ]
