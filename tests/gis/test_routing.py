"""Bulk routing of points to grids, and the grid lookup table kept in step with the grids."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.queries.routing import (
    BULK_METHODS,
    refresh_grid_lookup,
    route_incidents,
    route_points,
)

# The grid containing a point, computed independently of grid_at (migration 0013): a scan of the
# current grids with ST_Covers (boundary included), comprehensive grid first, then lowest code.
EXPECTED = """
SELECT (SELECT a.id FROM area a
         WHERE a.level = 'grid' AND a.valid_to IS NULL
           AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
         ORDER BY (a.kind = '综合网格') DESC, a.code LIMIT 1)
FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, n)
ORDER BY p.n
"""


def _sample_points(session: Session, n: int) -> tuple[list[float], list[float]]:
    """Points inside grids, plus points outside the city around its extent."""
    session.execute(text("SELECT setseed(0.25)"))
    inside = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 2, 11))).geom p"
            " FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY random() LIMIT :n) q"
        ),
        {"n": n},
    ).all()
    box = session.execute(
        text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
             "(SELECT ST_Extent(geom) e FROM area WHERE level = 'grid' AND valid_to IS NULL) q")
    ).one()  # fmt: skip
    outside = [(box[0] - 0.01, box[1] - 0.01), (box[2] + 0.02, box[3] + 0.02)]
    points = [(float(x), float(y)) for x, y in inside] + outside
    return [p[0] for p in points], [p[1] for p in points]


def _expected(session: Session, lons: list[float], lats: list[float]) -> list[int | None]:
    return [row[0] for row in session.execute(text(EXPECTED), {"lons": lons, "lats": lats})]


def test_route_points_finds_the_containing_grid(db_session: Session) -> None:
    lons, lats = _sample_points(db_session, 40)
    expected = _expected(db_session, lons, lats)
    assert expected.count(None) >= 2  # the outside points are in the sample
    routed = route_points(db_session, lons, lats)
    assert [None if r is None else r[0] for r in routed] == expected
    codes = {
        r[0]: r[1]
        for r in db_session.execute(text("SELECT id, code FROM area WHERE level = 'grid'"))
    }
    assert all(r is None or r[1] == codes[r[0]] for r in routed)


def test_a_point_on_a_shared_boundary_goes_to_the_lowest_code(db_session: Session) -> None:
    row = db_session.execute(
        text(
            """
            SELECT ST_X(p), ST_Y(p), least(a.code, b.code) AS lowest
            FROM area a JOIN area b ON a.code < b.code AND ST_Touches(a.geom, b.geom)
                 AND ST_Dimension(ST_Intersection(a.geom, b.geom)) = 1,
                 LATERAL ST_LineInterpolatePoint(
                     ST_LineMerge(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 2)),
                     0.5) AS p
            WHERE a.level = 'grid' AND b.level = 'grid' AND a.valid_to IS NULL
              AND b.valid_to IS NULL
              AND GeometryType(ST_LineMerge(ST_CollectionExtract(ST_Intersection(a.geom, b.geom),
                                                                 2))) = 'LINESTRING'
            ORDER BY a.code, b.code LIMIT 1
            """
        )
    ).one()
    lon, lat, lowest = row
    expected = _expected(db_session, [lon], [lat])[0]
    assert expected is not None
    routed = route_points(db_session, [lon], [lat])
    assert routed[0] is not None and routed[0][0] == expected
    # Interpolated points can fall a hair inside one grid; when truly shared, lowest code wins.
    covering = db_session.execute(
        text("SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL AND "
             "ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
        {"x": lon, "y": lat},
    ).scalar_one()  # fmt: skip
    if covering > 1:
        assert routed[0][1] == lowest


@pytest.mark.parametrize("method", BULK_METHODS)
def test_route_incidents_counts_agree_with_an_independent_scan(
    db_session: Session, method: str
) -> None:
    expected = db_session.execute(
        text(
            """
            SELECT count(*),
                   count(g.id),
                   count(*) FILTER (WHERE g.id IS DISTINCT FROM i.grid_id)
            FROM incident i
            LEFT JOIN LATERAL (SELECT a.id FROM area a
                               WHERE a.level = 'grid' AND a.valid_to IS NULL
                                 AND ST_Covers(a.geom, i.geom)
                               ORDER BY (a.kind = '综合网格') DESC, a.code LIMIT 1) g ON true
            """
        )
    ).one()
    counts = route_incidents(db_session, method)  # type: ignore[arg-type]
    assert (counts.points, counts.routed, counts.differing) == tuple(expected)
    assert counts.points > 0 and counts.routed > 0


def test_route_incidents_of_a_period(db_session: Session) -> None:
    since, until, n = db_session.execute(
        text(
            "SELECT min(reported_at) + interval '10 days', min(reported_at) + interval '40 days', "
            "(SELECT count(*) FROM incident WHERE reported_at >= min(i.reported_at) "
            "+ interval '10 days' AND reported_at < min(i.reported_at) + interval '40 days') "
            "FROM incident i"
        )
    ).one()
    assert n > 0
    for method in BULK_METHODS:
        assert route_incidents(db_session, method, since, until).points == n


def test_the_lookup_follows_edits_of_a_grid(db_session: Session) -> None:
    grid_id, code = db_session.execute(
        text("SELECT id, code FROM area WHERE level = 'grid' AND valid_to IS NULL "
             "ORDER BY code LIMIT 1")
    ).one()  # fmt: skip

    def pieces_cover_exactly(area_id: int) -> bool:
        return bool(
            db_session.execute(
                text(
                    "SELECT ST_Equals(ST_Union(l.geom), (SELECT geom FROM area WHERE id = :id)) "
                    "FROM grid_lookup l WHERE l.grid_id = :id"
                ),
                {"id": area_id},
            ).scalar_one()
        )

    assert pieces_cover_exactly(grid_id)
    # A redraw (shrink by a few metres) is followed by the trigger...
    db_session.execute(
        text("UPDATE area SET geom = ST_Multi(ST_Buffer(geom, -0.0001)) WHERE id = :id"),
        {"id": grid_id},
    )
    assert pieces_cover_exactly(grid_id)
    # ...and closing the version removes its pieces, so nothing routes to the old grid.
    db_session.execute(
        text("UPDATE area SET valid_to = now() + interval '1 second' WHERE id = :id"),
        {"id": grid_id},
    )
    assert (
        db_session.execute(
            text("SELECT count(*) FROM grid_lookup WHERE grid_id = :id"), {"id": grid_id}
        ).scalar_one()
        == 0
    )
    assert code  # the grid had a code; its community's other grids are untouched
    db_session.rollback()


def test_refresh_rebuilds_a_community_and_everything(db_session: Session) -> None:
    community = db_session.execute(
        text("SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL "
             "ORDER BY code LIMIT 1")
    ).scalar_one()  # fmt: skip
    before = db_session.execute(
        text("SELECT count(*), count(*) FILTER (WHERE code LIKE :p || '%') FROM grid_lookup"),
        {"p": community},
    ).one()
    db_session.execute(text("DELETE FROM grid_lookup WHERE code LIKE :p || '%'"), {"p": community})
    written = refresh_grid_lookup(db_session, community)
    assert written == before[1] > 0
    db_session.execute(text("DELETE FROM grid_lookup"))
    assert refresh_grid_lookup(db_session) == before[0]
    # Every current grid has pieces, and no piece belongs to anything else.
    orphans = db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM area a WHERE a.level = 'grid' AND a.valid_to IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM grid_lookup l WHERE l.grid_id = a.id)), "
            "(SELECT count(*) FROM grid_lookup l JOIN area a ON a.id = l.grid_id "
            "WHERE a.level <> 'grid' OR a.valid_to IS NOT NULL OR a.code <> l.code)"
        )
    ).one()
    assert tuple(orphans) == (0, 0)


def test_bad_input_is_refused(db_session: Session) -> None:
    with pytest.raises(InvalidInput, match="same length"):
        route_points(db_session, [1.0, 2.0], [1.0])
    with pytest.raises(InvalidInput, match="WGS84"):
        route_points(db_session, [200.0], [10.0])
    with pytest.raises(InvalidInput, match="method"):
        route_incidents(db_session, "nearest")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="12 digits"):
        refresh_grid_lookup(db_session, "12345")
