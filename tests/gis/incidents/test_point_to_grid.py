"""One point → grid rule (``grid_at``, migration 0013) for locate, intake, bulk routing and
re-pointing after a boundary change: where grids overlap or share a boundary, all four agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.intake import IncidentInput, create_incident
from gis.incidents.vocabulary import OPEN_STATUSES
from gis.queries.locate import locate
from gis.queries.routing import BULK_METHODS, route_incidents, route_points
from gis.scope import ANONYMOUS
from gis.sqlfiles import read_sql

# An instant no demo incident was reported at, so the intake's case is alone in its period.
REPORTED = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)


def _paths(session: Session, lon: float, lat: float) -> dict[str, str | None]:
    """The grid code each path gives the point (intake files a case there and reads it back)."""
    located = locate(session, ANONYMOUS, lon, lat)["grid"]
    routed = route_points(session, [lon], [lat])[0]
    case = create_incident(
        session, ANONYMOUS, IncidentInput("市容环境", "网格规则检查", lon, lat), now=REPORTED
    ).incident
    return {
        "locate": None if located is None else located["code"],
        "intake": case["grid_code"],
        "bulk": None if routed is None else routed[1],
        "case_id": str(case["id"]),
    }


@pytest.fixture
def overlap(db_session: Session) -> dict[str, object]:
    """A 专属网格 drawn over part of a comprehensive grid, with a lower code than that grid's."""
    row = db_session.execute(
        text(
            """
            SELECT g.id, g.code, g.parent_id, g.district_code,
                   ST_X(ST_PointOnSurface(g.geom)) AS lon, ST_Y(ST_PointOnSurface(g.geom)) AS lat
            FROM area g
            WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.kind = '综合网格'
            ORDER BY g.code LIMIT 1
            """
        )
    ).one()
    special = db_session.execute(
        text(
            """
            INSERT INTO area (level, code, name, kind, parent_id, district_code, geom)
            SELECT 'grid', left(g.code, 12) || '000', '专属网格（学校）', '专属网格', g.parent_id,
                   g.district_code,
                   ST_Multi(ST_Intersection(g.geom,
                            ST_Buffer(ST_PointOnSurface(g.geom), 0.0008, 'quad_segs=4')))
            FROM area g WHERE g.id = :id
            RETURNING id, code
            """
        ),
        {"id": row.id},
    ).one()
    return {
        "grid_id": row.id,
        "code": row.code,
        "special_id": special.id,
        "special_code": special.code,
        "lon": row.lon,
        "lat": row.lat,
    }


def test_overlapping_grids_the_comprehensive_grid_wins_on_every_path(
    db_session: Session, overlap: dict[str, object]
) -> None:
    lon, lat = float(overlap["lon"]), float(overlap["lat"])  # type: ignore[arg-type]
    covering = db_session.execute(
        text(
            "SELECT array_agg(code ORDER BY code) FROM area WHERE level = 'grid' "
            "AND valid_to IS NULL AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
        ),
        {"x": lon, "y": lat},
    ).scalar_one()
    # The point lies in both grids, and a lowest-code rule would pick the 专属网格.
    assert covering == [overlap["special_code"], overlap["code"]]

    paths = _paths(db_session, lon, lat)
    assert {k: paths[k] for k in ("locate", "intake", "bulk")} == dict.fromkeys(
        ("locate", "intake", "bulk"), overlap["code"]
    )
    # Bulk routing of the stored case, both methods: routed, and to the grid intake stored.
    for method in BULK_METHODS:
        counts = route_incidents(db_session, method, REPORTED, REPORTED + timedelta(seconds=1))
        assert (counts.points, counts.routed, counts.differing) == (1, 1, 0), method

    # Re-pointing after a boundary change: a case filed under the 专属网格 follows the same rule.
    case_id = int(paths["case_id"])  # type: ignore[arg-type]
    db_session.execute(
        text("UPDATE incident SET grid_id = :g WHERE id = :i"),
        {"g": overlap["special_id"], "i": case_id},
    )
    db_session.execute(
        text(read_sql("boundaries_repoint_incidents.sql")),
        {"old_ids": [overlap["special_id"]], "open": list(OPEN_STATUSES)},
    )
    stored = db_session.execute(
        text("SELECT grid_id FROM incident WHERE id = :i"), {"i": case_id}
    ).scalar_one()
    assert stored == overlap["grid_id"]


def test_a_point_on_a_shared_boundary_goes_to_one_grid_on_every_path(db_session: Session) -> None:
    lon, lat, codes = db_session.execute(
        text(
            """
            SELECT ST_X(p), ST_Y(p), ARRAY[a.code, b.code]
            FROM area a JOIN area b ON a.code < b.code AND a.parent_id = b.parent_id
                 AND ST_Touches(a.geom, b.geom),
                 LATERAL ST_ClosestPoint(ST_Boundary(a.geom), ST_Centroid(b.geom)) AS p
            WHERE a.level = 'grid' AND b.level = 'grid' AND a.valid_to IS NULL
              AND b.valid_to IS NULL
              AND ST_Covers(a.geom, p) AND ST_Covers(b.geom, p)
            ORDER BY a.code, b.code LIMIT 1
            """
        )
    ).one()
    paths = _paths(db_session, lon, lat)
    assert paths["locate"] == paths["intake"] == paths["bulk"] == min(codes)
