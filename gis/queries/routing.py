"""Bulk routing of points to the grid that contains them, in SQL.

The grid at a point is the database function ``grid_at`` (migration 0013): the one rule that
intake, ``locate``, these bulk paths and re-pointing after a boundary change share — a point on a
boundary shared by several grids, or inside overlapping grids, belongs to the comprehensive grid
(综合网格) first, then to the lowest code. It probes ``grid_lookup`` (migration 0006): the current
grids only, cut by ST_Subdivide into pieces of at most 64 vertices, with its own GiST index, kept
in step with every edit by a trigger on ``area``; :func:`refresh_grid_lookup` rebuilds it. (A
probe of ``area``'s own index was measured slower and is gone: bench/RESULTS.md.)

Two methods for the stored incidents, so that the faster can be chosen by measurement
(``python -m bench.harness``):

- ``"lookup"``: ``grid_at`` for each incident.
- ``"lookup_join"``: turn the join around. Each lookup piece probes the GiST index of
  ``incident.geom`` for the points inside it; the same polygon is then tested against hundreds of
  points in a row, which PostGIS answers from a prepared (indexed) copy of it, and the few
  thousand pieces are shared out to parallel workers. A point contained by exactly one piece is
  that piece's grid's; the rest (on a piece's edge, outside every grid, or inside overlapping
  grids) get ``grid_at`` — so both methods give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput

BulkMethod = Literal["lookup", "lookup_join"]
BULK_METHODS: tuple[BulkMethod, ...] = ("lookup", "lookup_join")

_ROUTE_POINTS = text(
    """
SELECT g.grid_id, g.code
FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, n)
LEFT JOIN LATERAL grid_at(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) AS g ON true
ORDER BY p.n
"""
)

# Route every incident (or those reported in [since, until)) and count: how many were routed to a
# grid, and how many of those differ from the grid stored on the incident. Aggregating keeps the
# result small so that the measurement is the routing, not the transfer of a million rows.
_IN_PERIOD = """(CAST(:since AS timestamptz) IS NULL OR i.reported_at >= :since)
        AND (CAST(:until AS timestamptz) IS NULL OR i.reported_at < :until)"""

_ROUTE_INCIDENTS = f"""
SELECT count(*) AS points,
       count(g.grid_id) AS routed,
       count(*) FILTER (WHERE g.grid_id IS DISTINCT FROM pt.grid_id) AS differing
FROM (SELECT i.geom AS g, i.grid_id FROM incident i WHERE {_IN_PERIOD}) AS pt
LEFT JOIN LATERAL grid_at(pt.g) AS g ON true
"""

_ROUTE_INCIDENTS_JOIN = f"""
WITH inside AS MATERIALIZED (
    SELECT i.id, l.grid_id, i.grid_id AS stored
    FROM grid_lookup l JOIN incident i ON ST_Contains(l.geom, i.geom)
    WHERE {_IN_PERIOD}
),
sole AS (
    SELECT id, min(grid_id) AS grid_id, min(stored) AS stored
    FROM inside GROUP BY id HAVING count(*) = 1
),
rest AS (
    SELECT g.grid_id, pt.grid_id AS stored
    FROM (SELECT i.geom AS g, i.grid_id FROM incident i
          WHERE {_IN_PERIOD} AND NOT EXISTS (SELECT 1 FROM sole s WHERE s.id = i.id)) AS pt
    LEFT JOIN LATERAL grid_at(pt.g) AS g ON true
)
SELECT count(*) AS points,
       count(r.grid_id) AS routed,
       count(*) FILTER (WHERE r.grid_id IS DISTINCT FROM r.stored) AS differing
FROM (SELECT grid_id, stored FROM sole UNION ALL SELECT grid_id, stored FROM rest) AS r
"""

MAX_POINTS_PER_CALL = 1_000_000


@dataclass(frozen=True)
class RoutingCounts:
    """What a bulk routing run found."""

    points: int
    routed: int
    differing: int


def route_points(
    session: Session, lons: Sequence[float], lats: Sequence[float]
) -> list[tuple[int, str] | None]:
    """The current grid (id, code) at each WGS84 point by ``grid_at``, or None outside every grid.

    ``lons`` and ``lats`` have the same length, at most ``MAX_POINTS_PER_CALL``.
    """
    if len(lons) != len(lats):
        raise InvalidInput("lons and lats must have the same length", parameter="lats")
    if len(lons) > MAX_POINTS_PER_CALL:
        raise InvalidInput(f"at most {MAX_POINTS_PER_CALL} points per call", parameter="lons")
    for lon, lat in zip(lons, lats, strict=True):
        if not (
            math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90
        ):
            raise InvalidInput(f"({lon}, {lat}) is not a WGS84 lon/lat", parameter="lons")
    rows = session.execute(_ROUTE_POINTS, {"lons": list(lons), "lats": list(lats)}).all()
    return [None if r.grid_id is None else (int(r.grid_id), str(r.code)) for r in rows]


def route_incidents(
    session: Session,
    method: BulkMethod = "lookup_join",
    since: object | None = None,
    until: object | None = None,
) -> RoutingCounts:
    """Route the incidents (all, or reported in ``[since, until)``) to grids in one statement.

    Returns how many points there were, how many fell in a grid, and how many of those were
    routed to another grid than the one stored on the incident (a consistency check: after a
    boundary edit these are the incidents a re-routing would move).
    """
    if method not in BULK_METHODS:
        raise InvalidInput(f"method must be one of {', '.join(BULK_METHODS)}", parameter="method")
    sql = _ROUTE_INCIDENTS_JOIN if method == "lookup_join" else _ROUTE_INCIDENTS
    # JIT compiles for longer than these plans run (a second of 2.5 s on 30k points).
    session.execute(text("SET LOCAL jit = off"))
    if method == "lookup_join":
        # Finding the points no piece contains is an anti-join over every point's id: with room
        # for a hash table (≈ 40 MB per million) it is one pass instead of sorting a million ids.
        session.execute(text("SET LOCAL work_mem = '128MB'"))
    row = session.execute(text(sql), {"since": since, "until": until}).one()
    return RoutingCounts(int(row.points), int(row.routed), int(row.differing))


def refresh_grid_lookup(session: Session, community_code: str | None = None) -> int:
    """Rebuild the lookup pieces of the current grids of one community (or of all grids).

    The trigger on ``area`` already keeps ``grid_lookup`` in step with every insert, update and
    delete; calling this after a boundary commit is harmless and repairs the table if it was
    ever loaded with triggers disabled. Returns the number of pieces written. Does not commit.
    """
    if community_code is not None and not (len(community_code) == 12 and community_code.isdigit()):
        raise InvalidInput("community_code must be 12 digits", parameter="community_code")
    prefix = community_code or ""
    # Pieces of grids that are no longer current under this prefix go too (the function
    # deletes by code prefix and re-inserts the current grids).
    return int(
        session.execute(
            text("SELECT grid_lookup_refresh(:prefix)"), {"prefix": prefix}
        ).scalar_one()
    )
