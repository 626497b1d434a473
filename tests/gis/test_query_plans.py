"""The hot spatial queries use their GiST indexes (EXPLAIN on the demo database).

Each test runs the real data function, captures the SQL it sends, and EXPLAINs that same
statement with the same parameters. The demo city is small (dozens of grids), where a sequential
scan can honestly be cheaper; so sequential scans are disabled for the EXPLAIN (the planner then
still refuses an index it cannot use: a predicate that is not sargable falls back to a seq scan
anyway, which is what these tests catch) — except for routing, whose plans must hold as is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from gis.scope import ANONYMOUS


@contextmanager
def captured(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """Collect (statement, parameters) of every SELECT the session runs inside the block."""
    statements: list[tuple[str, Any]] = []
    connection = session.connection()

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        code = re.sub(r"^(\s*--[^\n]*\n)*", "", statement).lstrip().upper()
        if code.startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", grab)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", grab)


def gist_indexes(session: Session) -> set[str]:
    return set(
        session.execute(
            text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")
        ).scalars()
    )


def plan_indexes(session: Session, statement: str, parameters: Any, seqscan: bool) -> set[str]:
    """Names of the indexes the plan of ``statement`` uses."""
    connection = session.connection()
    if not seqscan:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    try:
        plan = connection.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) " + statement, parameters
        ).scalar_one()
    finally:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
    names: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            names.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return names


def gist_used(session: Session, run: Callable[[], object], seqscan: bool = False) -> set[str]:
    with captured(session) as statements:
        run()
    assert statements, "the data function ran no SELECT"
    used: set[str] = set()
    for statement, parameters in statements:
        used |= plan_indexes(session, statement, parameters, seqscan)
    return used & gist_indexes(session)


@pytest.fixture
def a_point(db_session: Session) -> tuple[float, float]:
    row = db_session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1) q"
        )
    ).one()
    return float(row[0]), float(row[1])


def test_locate_uses_the_gist_indexes_of_areas_and_buildings(
    db_session: Session, a_point: tuple[float, float]
) -> None:
    from gis.queries.locate import locate

    used = gist_used(db_session, lambda: locate(db_session, ANONYMOUS, *a_point))
    assert used & {"area_geom_gist", "area_current_grid_geom_gist"}, used
    assert used & {"building_geom_gist", "building_current_geom_gist"}, used


def test_locate_takes_the_nearest_centre_from_its_partial_index(
    db_session: Session, a_point: tuple[float, float]
) -> None:
    from gis.queries.locate import locate

    used = gist_used(db_session, lambda: locate(db_session, ANONYMOUS, *a_point))
    assert "service_facility_centre_geom_gist" in used, used


def test_intake_checks_duplicates_on_the_open_incidents_index(
    db_session: Session, a_point: tuple[float, float]
) -> None:
    from gis.incidents import intake

    data = intake.IncidentInput("市容环境", "索引检查", *a_point)
    used = gist_used(db_session, lambda: intake.create_incident(db_session, ANONYMOUS, data))
    assert "incident_open_geom_gist" in used, used
    assert "grid_lookup_geom_gist" in used, used  # grid_at's probe


@pytest.mark.parametrize("collection_id", ["grids", "buildings"])
def test_items_with_a_bbox_use_the_gist_index(
    db_session: Session, a_point: tuple[float, float], collection_id: str
) -> None:
    from gis.collections import get_collection
    from gis.queries.features import Envelope, ItemsQuery, items_page

    collection = get_collection(collection_id)
    assert collection is not None
    x, y = a_point
    query = ItemsQuery(collection, bbox=Envelope(x - 0.003, y - 0.003, x + 0.003, y + 0.003, 4326))
    used = gist_used(db_session, lambda: items_page(db_session, query, ANONYMOUS))
    table = "area" if collection_id == "grids" else "building"
    assert any(name.startswith(table + "_") for name in used), used


@pytest.mark.parametrize(("collection_id", "z"), [("grids", 14), ("buildings", 16)])
def test_a_tile_uses_the_gist_index(
    db_session: Session, a_point: tuple[float, float], collection_id: str, z: int
) -> None:
    import math

    from gis.collections import get_collection
    from gis.queries.tiles import build_tile

    collection = get_collection(collection_id)
    assert collection is not None
    lon, lat = a_point
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    tile = build_tile(db_session, collection, z, x, y)
    assert tile  # the tile around a grid's interior point draws something
    used = gist_used(db_session, lambda: build_tile(db_session, collection, z, x, y))
    table = "area" if collection_id == "grids" else "building"
    assert any(name.startswith(table + "_") for name in used), used


def test_routing_probes_the_lookup_index_as_planned(db_session: Session) -> None:
    from gis.queries.routing import route_incidents, route_points

    used = gist_used(db_session, lambda: route_points(db_session, [0.0], [0.0]), seqscan=True)
    assert "grid_lookup_geom_gist" in used
    used = gist_used(db_session, lambda: route_incidents(db_session, "lookup"), seqscan=True)
    assert "grid_lookup_geom_gist" in used
    # The polygon-driven join probes the incidents' index with each lookup piece.
    used = gist_used(db_session, lambda: route_incidents(db_session, "lookup_join"), seqscan=True)
    assert {"incident_geom_gist", "grid_lookup_geom_gist"} <= used, used
