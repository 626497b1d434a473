"""The bad-geometry corpus: each is rejected with a specific message and nothing is written."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.boundaries import drafts
from gis.boundaries.drafts import ValidationFailed
from gis.boundaries.geometry import (
    degrees_for_metres,
    parse_line,
    parse_polygonal,
    polsby_popper,
    to_metres,
)
from gis.boundaries.validation import GridShape, check_coverage, repair_preview, validate
from gis.errors import InvalidInput
from gis.scope import Viewer

X0, Y0 = 106.65, 35.22
D = 0.001  # about 90 m east-west, 111 m north-south here
PLANNER = Viewer("planner_test", "planner", "620881")


def ring(*points: tuple[float, float]) -> list[list[float]]:
    return [[X0 + x * D, Y0 + y * D] for x, y in points]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


SQUARE = ring((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))

CORPUS = {
    "bow-tie": (polygon(ring((0, 0), (1, 1), (1, 0), (0, 1), (0, 0))), r"bow-tie"),
    "self-touching ring": (
        polygon(ring((0, 0), (2, 0), (1, 1), (2, 2), (0, 2), (1, 1), (0, 0))),
        r"touches itself at a point \(self-touching ring\)",
    ),
    "hole outside its shell": (
        polygon(SQUARE, ring((2, 2), (3, 2), (3, 3), (2, 3), (2, 2))),
        r"a hole lies outside its outer ring",
    ),
    "unclosed ring": (
        polygon(ring((0, 0), (1, 0), (1, 1), (0, 1))),
        r"the ring is not closed; its last position must repeat the first",
    ),
    "too few points": (polygon(ring((0, 0), (1, 0), (0, 0))), r"too few points \(3\)"),
    "repeated points only": (
        polygon(ring((0, 0), (0, 0), (0, 0), (0, 0))),
        r"repeats one point only",
    ),
    "NaN coordinate": (
        polygon([[X0, Y0], [math.nan, Y0], [X0, Y0 + D], [X0, Y0]]),
        r"finite numbers \(found NaN or infinity\)",
    ),
    "infinite coordinate": (
        polygon([[X0, Y0], [math.inf, Y0], [X0, Y0 + D], [X0, Y0]]),
        r"finite numbers \(found NaN or infinity\)",
    ),
    "latitude out of range": (
        polygon([[X0, 95.0], [X0 + D, 95.0], [X0, 95.0 + D], [X0, 95.0]]),
        r"latitude 95.0 is out of range \[-90, 90\]",
    ),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_parse_rejects_with_a_specific_message(name: str) -> None:
    geometry, message = CORPUS[name]
    with pytest.raises(InvalidInput) as caught:
        parse_polygonal(geometry)
    assert re.search(message, caught.value.detail), caught.value.detail


def test_a_valid_square_parses_and_measures() -> None:
    geom = parse_polygonal(polygon(SQUARE))
    metric = to_metres(geom)
    assert metric.area == pytest.approx(
        D * 111_320 * math.cos(math.radians(Y0)) * D * 110_950, rel=0.01
    )
    # A square's Polsby-Popper compactness is π/4.
    assert polsby_popper(geom) == pytest.approx(math.pi / 4, rel=0.01)


def test_repair_preview_of_a_bow_tie_gives_two_triangles() -> None:
    raw = parse_polygonal(CORPUS["bow-tie"][0], require_valid=False)
    preview = repair_preview(raw)
    assert preview["valid"] is False
    assert preview["reason"].startswith("Self-intersection")
    assert preview["parts"] == 2
    assert shapely.is_valid(shapely.geometry.shape(preview["repaired"]))


def test_line_positions_are_checked() -> None:
    with pytest.raises(InvalidInput, match="at least two distinct points"):
        parse_line({"type": "LineString", "coordinates": [[X0, Y0], [X0, Y0]]})


def test_coverage_reports_sliver_gap_overlap_and_pieces() -> None:
    community = shapely.box(X0, Y0, X0 + 2 * D, Y0 + D)
    left = shapely.box(X0, Y0, X0 + D, Y0 + D)
    sliver = degrees_for_metres(0.5, Y0)
    right_with_gap = shapely.box(X0 + D + sliver, Y0, X0 + 2 * D, Y0 + D)
    findings = check_coverage(
        "620881001001", community, [GridShape("a", "c", left), GridShape("b", "c", right_with_gap)]
    )
    gaps = [f for f in findings if f.code == "gap"]
    assert len(gaps) == 1
    assert re.search(r"sliver gap 0\.[45]\d m wide", gaps[0].message), gaps[0].message
    x, y = gaps[0].location["coordinates"]
    assert X0 + D <= x <= X0 + D + sliver and Y0 <= y <= Y0 + D

    overlapping = shapely.box(X0 + D - sliver, Y0, X0 + 2 * D, Y0 + D)
    findings = check_coverage(
        "c", community, [GridShape("a", "c", left), GridShape("b", "c", overlapping)]
    )
    assert [f.code for f in findings] == ["overlap"]
    assert findings[0].grids == ("a", "b")

    two_pieces = shapely.MultiPolygon(
        [shapely.box(X0, Y0, X0 + D / 2, Y0 + D), shapely.box(X0 + D, Y0, X0 + 2 * D, Y0 + D)]
    )
    middle = shapely.box(X0 + D / 2, Y0, X0 + D, Y0 + D)
    findings = check_coverage(
        "c", community, [GridShape("a", "c", two_pieces), GridShape("b", "c", middle)]
    )
    assert [f.code for f in findings] == ["multipart"]


def test_household_warning_and_compactness_info() -> None:
    community = shapely.box(X0, Y0, X0 + D, Y0 + D)
    report = validate({"c": community}, [GridShape("g", "c", community)])
    codes = {f.code: f for f in report.findings}
    assert report.ok
    assert codes["household_count"].severity == "warning" and codes["household_count"].value == 0
    assert codes["compactness"].value == pytest.approx(round(polsby_popper(community), 4))


# --- Through a draft on the demo city: rejected, and nothing written -----------------------


def _community_with_grids(session: Session) -> tuple[str, str]:
    row = session.execute(
        text(
            """
            SELECT c.code AS community, min(g.code) AS grid FROM area c
            JOIN area g ON g.parent_id = c.id AND g.valid_to IS NULL
            WHERE c.level = 'community' AND c.valid_to IS NULL
            GROUP BY c.code HAVING count(*) >= 3 ORDER BY c.code LIMIT 1
            """
        )
    ).one()
    return row.community, row.grid


def _written(session: Session, changeset_id: int) -> tuple[int, int, int]:
    return (
        session.execute(
            text("SELECT count(*) FROM changeset_operation WHERE changeset_id = :i"),
            {"i": changeset_id},
        ).scalar_one(),
        session.execute(
            text("SELECT head FROM changeset WHERE id = :i"), {"i": changeset_id}
        ).scalar_one(),
        session.execute(text("SELECT count(*) FROM area")).scalar_one(),
    )


def _grid_geojson(session: Session, code: str, sql_expr: str = "geom") -> dict[str, Any]:
    import json

    value = session.execute(
        text(f"SELECT ST_AsGeoJSON({sql_expr}, 15) FROM area WHERE code = :c AND valid_to IS NULL"),
        {"c": code},
    ).scalar_one()
    return json.loads(value)


def test_draft_rejects_a_polygon_crossing_its_community(db_session: Session) -> None:
    community, grid = _community_with_grids(db_session)
    draft = drafts.open_draft(db_session, PLANNER, community)
    before = _written(db_session, draft.id)
    # The grid grown by 30 m on every side crosses its community's boundary.
    grown = _grid_geojson(
        db_session, grid, "ST_Buffer(geom::geography, 30, 'join=mitre')::geometry"
    )
    with pytest.raises(ValidationFailed) as caught:
        drafts.add_operation(
            db_session, PLANNER, draft.id, "reshape", {"code": grid, "geometry": grown}
        )
    assert f"grid {grid} leaves community {community}" in caught.value.detail
    assert any(
        f["code"] == "outside_community" and f["location"]["type"] == "Point"
        for f in caught.value.findings
    )
    assert _written(db_session, draft.id) == before


def test_draft_rejects_a_boundary_move_leaving_a_half_metre_sliver(db_session: Session) -> None:
    community, grid = _community_with_grids(db_session)
    draft = drafts.open_draft(db_session, PLANNER, community)
    before = _written(db_session, draft.id)
    shrunk = _grid_geojson(
        db_session, grid, "ST_Buffer(geom::geography, -0.5, 'join=mitre')::geometry"
    )
    with pytest.raises(ValidationFailed) as caught:
        drafts.add_operation(
            db_session, PLANNER, draft.id, "reshape", {"code": grid, "geometry": shrunk}
        )
    assert re.search(r"a sliver gap 0\.[45]\d m wide \([\d.]+ m²\)", caught.value.detail), (
        caught.value.detail
    )
    gap = next(f for f in caught.value.findings if f["code"] == "gap")
    assert gap["area_m2"] > 0 and gap["location"]["type"] == "Point"
    assert _written(db_session, draft.id) == before


def test_draft_rejects_a_split_line_that_misses_the_grid(db_session: Session) -> None:
    community, grid = _community_with_grids(db_session)
    draft = drafts.open_draft(db_session, PLANNER, community)
    before = _written(db_session, draft.id)
    far = {"type": "LineString", "coordinates": [[100.0, 30.0], [100.01, 30.0]]}
    with pytest.raises(InvalidInput, match=f"the split line does not cross grid {grid}"):
        drafts.add_operation(db_session, PLANNER, draft.id, "split", {"code": grid, "line": far})
    # A line that ends inside the grid does not cut it either.
    inside = db_session.execute(
        text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM area "
            "WHERE code = :g AND valid_to IS NULL) x"
        ),
        {"g": grid},
    ).one()
    stub = {
        "type": "LineString",
        "coordinates": [[inside[0], inside[1]], [inside[0] + 1e-5, inside[1]]],
    }
    with pytest.raises(InvalidInput, match=f"does not cross grid {grid}"):
        drafts.add_operation(db_session, PLANNER, draft.id, "split", {"code": grid, "line": stub})
    assert _written(db_session, draft.id) == before


@pytest.mark.parametrize("name", ["bow-tie", "unclosed ring", "latitude out of range"])
def test_draft_rejects_corpus_geometry_and_writes_nothing(db_session: Session, name: str) -> None:
    community, grid = _community_with_grids(db_session)
    draft = drafts.open_draft(db_session, PLANNER, community)
    before = _written(db_session, draft.id)
    geometry, message = CORPUS[name]
    with pytest.raises(InvalidInput) as caught:
        drafts.add_operation(
            db_session, PLANNER, draft.id, "reshape", {"code": grid, "geometry": geometry}
        )
    assert re.search(message, caught.value.detail)
    assert _written(db_session, draft.id) == before
