"""Where a new case goes: the grid at its point and the worker on duty, or 属地兜底.

The grid at a point is the database function ``grid_at`` (migration 0013): one rule for
intake, ``locate``, bulk routing and re-pointing after a boundary change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput


@dataclass(frozen=True)
class Routing:
    """Where a point falls: area versions in force, the worker on duty, or the street fallback."""

    district_code: str
    street_id: int | None
    community_id: int | None
    grid_id: int | None
    grid_code: str | None
    assignee_id: int | None
    unassigned: bool
    escalation_level: str


# The grid's worker on duty: the grid worker (or, failing one, the chief) with the fewest cases
# in hand, so work spreads over the team. ``{grid}`` is the grid's id (a column or a parameter).
_WORKER_ON_DUTY = """
    SELECT gs.person_id
    FROM grid_staff gs
    LEFT JOIN LATERAL (
        SELECT count(*) AS n FROM incident i
        WHERE i.assignee_id = gs.person_id
          AND i.status = ANY (incident_workload_statuses())
    ) load ON true
    WHERE gs.area_id = {grid} AND gs.role IN ('worker', 'chief')
    ORDER BY (gs.role = 'worker') DESC, load.n, gs.person_id
    LIMIT 1
"""

# The grid at (:lon, :lat), its parents and its worker on duty (see WORKER_SQL): no row outside
# every grid. Part of the intake's one read (_INTAKE_CONTEXT_SQL).
ROUTE_QUERY = f"""
    SELECT r.*, w.person_id AS assignee_id
    FROM (
        SELECT g.id AS grid_id, g.code AS grid_code, g.district_code,
               c.id AS community_id, s.id AS street_id
        FROM grid_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) AS at
        JOIN area g ON g.id = at.grid_id
        LEFT JOIN area c ON c.level = 'community' AND c.valid_to IS NULL
                         AND c.code = left(g.code, 12)
        LEFT JOIN area s ON s.level = 'street' AND s.valid_to IS NULL
                         AND s.code = left(g.code, 9) || '000'
    ) r
    LEFT JOIN LATERAL ({_WORKER_ON_DUTY.format(grid="r.grid_id")}) w ON true
"""

# 属地兜底: outside every grid, the community containing the point if any, else the nearest
# street (KNN on the GiST index, then the exact distance among a few candidates).
_FALLBACK_SQL = text(
    """
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt),
    street AS (
        SELECT s.id, s.code, s.district_code
        FROM (SELECT a.id, a.code, a.district_code, a.geom FROM area a, p
              WHERE a.level = 'street' AND a.valid_to IS NULL
              ORDER BY a.geom <-> p.pt LIMIT 5) s, p
        ORDER BY ST_Distance(s.geom::geography, p.pt::geography), s.code
        LIMIT 1
    )
    SELECT street.id AS street_id, street.district_code,
           (SELECT c.id FROM area c, p WHERE c.level = 'community' AND c.valid_to IS NULL
              AND left(c.code, 9) = left(street.code, 9)
              AND ST_Intersects(c.geom, p.pt) LIMIT 1) AS community_id
    FROM street
    """
)

WORKER_SQL = text(_WORKER_ON_DUTY.format(grid=":grid_id"))


def fallback_route(session: Session, lon: float, lat: float) -> Routing:
    """Route a WGS84 point outside every grid to its community or nearest street (属地兜底)."""
    fb = session.execute(_FALLBACK_SQL, {"lon": lon, "lat": lat}).one_or_none()
    if fb is None:
        raise InvalidInput(
            "no areas are loaded, so the point cannot be routed: load the city first",
            parameter="geometry",
        )
    return Routing(
        fb.district_code, fb.street_id, fb.community_id, None, None, None, True, "street"
    )


def route_to_grid(session: Session, grid_code: str) -> Routing:
    row = session.execute(
        text(
            """
            SELECT g.id AS grid_id, g.code AS grid_code, g.district_code,
                   c.id AS community_id, s.id AS street_id
            FROM area g
            LEFT JOIN area c ON c.level = 'community' AND c.valid_to IS NULL
                             AND c.code = left(g.code, 12)
            LEFT JOIN area s ON s.level = 'street' AND s.valid_to IS NULL
                             AND s.code = left(g.code, 9) || '000'
            WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code = :code
            """
        ),
        {"code": grid_code},
    ).one_or_none()
    if row is None:
        raise InvalidInput(f"no current grid has code {grid_code}", parameter="grid_code")
    worker = session.execute(WORKER_SQL, {"grid_id": row.grid_id}).scalar_one_or_none()
    return Routing(
        row.district_code,
        row.street_id,
        row.community_id,
        row.grid_id,
        row.grid_code,
        worker,
        False,
        "grid",
    )
