"""Each boundary operation on the demo city, through drafts (pure geometry checked against SQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.boundaries import drafts
from gis.boundaries.geometry import area_m2
from gis.errors import Forbidden, InvalidInput
from gis.scope import Viewer

PLANNER = Viewer("planner_ops", "planner", "620881")


def adjacent_pair(session: Session) -> Any:
    """Two grids of one community sharing at least 50 m of boundary."""
    return session.execute(
        text(
            """
            SELECT c.code AS community, a.code AS a, b.code AS b
            FROM area a JOIN area b ON b.parent_id = a.parent_id AND a.code < b.code
                 AND b.valid_to IS NULL AND a.geom && b.geom
            JOIN area c ON c.id = a.parent_id
            WHERE a.level = 'grid' AND a.valid_to IS NULL
              AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))::geography)
                  > 50
            ORDER BY a.code, b.code LIMIT 1
            """
        )
    ).one()


def split_line(session: Session, code: str) -> dict[str, Any]:
    """A west→east line through the grid's point on surface, overshooting both sides."""
    row = session.execute(
        text(
            "SELECT ST_XMin(geom) - 0.001 AS w, ST_XMax(geom) + 0.001 AS e, "
            "ST_Y(ST_PointOnSurface(geom)) AS y FROM area WHERE code = :c AND valid_to IS NULL"
        ),
        {"c": code},
    ).one()
    return {"type": "LineString", "coordinates": [[row.w, row.y], [row.e, row.y]]}


def grid_of(draft: drafts.Draft, session: Session, code: str) -> Any:
    return drafts.draft_state(session, draft).grids[code]


def current_geom(session: Session, code: str) -> Any:
    wkb = session.execute(
        text("SELECT ST_AsBinary(geom) FROM area WHERE code = :c AND valid_to IS NULL"), {"c": code}
    ).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def next_code(session: Session, community: str) -> str:
    top = session.execute(
        text(
            "SELECT max(right(code, 3)::int) FROM area WHERE level = 'grid' AND left(code, 12) = :c"
        ),
        {"c": community},
    ).scalar_one()
    return f"{community}{top + 1:03d}"


def test_split_gives_new_codes_and_keeps_the_area(db_session: Session) -> None:
    pair = adjacent_pair(db_session)
    draft = drafts.open_draft(db_session, PLANNER, pair.community)
    expected_first = next_code(db_session, pair.community)
    draft, state, report = drafts.add_operation(
        db_session,
        PLANNER,
        draft.id,
        "split",
        {"code": pair.a, "line": split_line(db_session, pair.a)},
    )
    assert report.ok
    new = sorted(c for c, g in state.grids.items() if g.base_code is None)
    assert (
        new[0] == expected_first
        and new[1] == expected_first[:12] + f"{int(expected_first[12:]) + 1:03d}"
    )
    assert pair.a not in state.grids
    before = current_geom(db_session, pair.a)
    after = shapely.union_all([state.grids[c].geom for c in new])
    assert area_m2(before.symmetric_difference(after)) < 0.5
    assert draft.operations[0]["summary"] == f"split {pair.a} into {', '.join(new)}"


def test_merge_adjacent_grids_and_refuse_non_adjacent(db_session: Session) -> None:
    pair = adjacent_pair(db_session)
    draft = drafts.open_draft(db_session, PLANNER, pair.community)
    draft, state, report = drafts.add_operation(
        db_session, PLANNER, draft.id, "merge", {"codes": [pair.a, pair.b], "name": "合并网格"}
    )
    assert report.ok
    merged = next(g for g in state.grids.values() if g.base_code is None)
    assert merged.name == "合并网格"
    expected = db_session.execute(
        text(
            "SELECT ST_Area(ST_Union(geom)::geography) FROM area "
            "WHERE code IN (:a, :b) AND valid_to IS NULL"
        ),
        {"a": pair.a, "b": pair.b},
    ).scalar_one()
    assert area_m2(merged.geom) == pytest.approx(expected, rel=2e-3)
    assert isinstance(merged.geom, shapely.Polygon)

    far = db_session.execute(
        text(
            """
            SELECT a.code AS a, b.code AS b FROM area a JOIN area b ON b.parent_id = a.parent_id
            AND b.valid_to IS NULL AND a.code < b.code AND NOT ST_Intersects(a.geom, b.geom)
            WHERE a.level = 'grid' AND a.valid_to IS NULL LIMIT 1
            """
        )
    ).first()
    if far is not None:
        other = drafts.open_draft(db_session, PLANNER, far.a[:12])
        with pytest.raises(InvalidInput, match="are not adjacent"):
            drafts.add_operation(db_session, PLANNER, other.id, "merge", {"codes": [far.a, far.b]})


def shared_inner_vertex(session: Session) -> Any:
    return session.execute(
        text(
            """
            SELECT a.code AS a, b.code AS b, c.code AS community,
                   ST_X(p.geom) AS x, ST_Y(p.geom) AS y,
                   ST_X(ST_Centroid(a.geom)) AS cx, ST_Y(ST_Centroid(a.geom)) AS cy
            FROM area a JOIN area b ON b.parent_id = a.parent_id AND b.valid_to IS NULL
                 AND a.code < b.code
            JOIN area c ON c.id = a.parent_id
            CROSS JOIN LATERAL ST_DumpPoints(a.geom) p
            WHERE a.level = 'grid' AND a.valid_to IS NULL
              AND ST_DWithin(p.geom, ST_Boundary(b.geom), 1e-9)
              AND NOT ST_DWithin(p.geom, ST_Boundary(c.geom), 1e-7)
            ORDER BY a.code, b.code, p.path LIMIT 1
            """
        )
    ).one()


def test_move_shared_vertex_moves_both_neighbours(db_session: Session) -> None:
    v = shared_inner_vertex(db_session)
    draft = drafts.open_draft(db_session, PLANNER, v.community)
    # 10% of the way towards grid a's centroid (a few metres): a's area shrinks, b's grows.
    to = [v.x + (v.cx - v.x) * 0.1, v.y + (v.cy - v.y) * 0.1]
    draft, state, report = drafts.add_operation(
        db_session, PLANNER, draft.id, "move_vertices", {"moves": [{"from": [v.x, v.y], "to": to}]}
    )
    assert report.ok, report.errors
    for code in (v.a, v.b):
        coords = shapely.get_coordinates(state.grids[code].geom).tolist()
        assert to in coords
        assert [v.x, v.y] not in coords
    a_before, b_before = (
        area_m2(current_geom(db_session, v.a)),
        area_m2(current_geom(db_session, v.b)),
    )
    a_after, b_after = area_m2(state.grids[v.a].geom), area_m2(state.grids[v.b].geom)
    assert a_after < a_before and b_after > b_before
    assert a_before + b_before == pytest.approx(a_after + b_after, abs=1.0)
    with pytest.raises(InvalidInput, match="no grid vertex within"):
        drafts.add_operation(
            db_session,
            PLANNER,
            draft.id,
            "move_vertices",
            {"moves": [{"from": [100.0, 30.0], "to": [100.0, 30.1]}]},
        )


def test_transfer_building_to_neighbour(db_session: Session) -> None:
    pair = adjacent_pair(db_session)
    building = db_session.execute(
        text(
            """
            SELECT bl.code, ST_AsBinary(bl.anchor) AS anchor FROM building bl
            JOIN area a ON a.id = bl.grid_id AND a.code = :a AND a.valid_to IS NULL
            JOIN area b ON b.code = :b AND b.valid_to IS NULL
            WHERE bl.valid_to IS NULL
            ORDER BY ST_Distance(bl.geom,
                                 ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)))
            LIMIT 1
            """
        ),
        {"a": pair.a, "b": pair.b},
    ).one()
    draft = drafts.open_draft(db_session, PLANNER, pair.community)
    draft, state, report = drafts.add_operation(
        db_session, PLANNER, draft.id, "transfer", {"building_codes": [building.code], "to": pair.b}
    )
    assert report.ok, report.errors
    anchor = shapely.from_wkb(bytes(building.anchor))
    assert state.grids[pair.b].geom.covers(anchor)
    assert not state.grids[pair.a].geom.covers(anchor)
    stored = draft.operations[0]["params"]["buildings"][0]
    assert stored["code"] == building.code and stored["grid"] == pair.a
    with pytest.raises(InvalidInput, match="already in grid"):
        drafts.add_operation(
            db_session,
            PLANNER,
            draft.id,
            "transfer",
            {"building_codes": [building.code], "to": pair.b},
        )


def test_create_a_grid_from_buildings_takes_only_from_their_grid(db_session: Session) -> None:
    pair = adjacent_pair(db_session)
    # The building of A nearest B: its hull grown by 40 m reaches into B, which must not lose area.
    building = db_session.execute(
        text(
            """
            SELECT bl.code, ST_AsBinary(bl.geom) AS geom FROM building bl
            JOIN area a ON a.id = bl.grid_id AND a.code = :a AND a.valid_to IS NULL
            JOIN area b ON b.code = :b AND b.valid_to IS NULL
            WHERE bl.valid_to IS NULL ORDER BY ST_Distance(bl.geom, b.geom) LIMIT 1
            """
        ),
        {"a": pair.a, "b": pair.b},
    ).one()
    draft = drafts.open_draft(db_session, PLANNER, pair.community)
    before = drafts.draft_state(db_session, draft)
    expected = next_code(db_session, pair.community)
    draft, state, report = drafts.add_operation(
        db_session, PLANNER, draft.id, "create", {"building_codes": [building.code], "buffer_m": 40}
    )
    assert report.ok, report.errors
    new = state.grids[expected]
    assert new.base_code is None and new.geom.covers(shapely.from_wkb(bytes(building.geom)))
    # Carved out of A only: B and every other grid keep their outline, A lost exactly that area.
    for code in before.grids:
        if code != pair.a:
            assert not state.changed(code), code
    assert (
        abs(
            area_m2(state.grids[pair.a].geom)
            + area_m2(new.geom)
            - area_m2(before.grids[pair.a].geom)
        )
        < 1.0
    )
    assert area_m2(new.geom.intersection(state.grids[pair.b].geom)) < 0.01
    assert draft.operations[0]["params"]["buffer_m"] == 40
    for bad in (-1, 500, "10", True):
        with pytest.raises(InvalidInput, match="buffer_m"):
            drafts.add_operation(
                db_session,
                PLANNER,
                draft.id,
                "create",
                {"building_codes": [building.code], "buffer_m": bad},
            )
    with pytest.raises(InvalidInput, match="building_codes"):
        drafts.add_operation(db_session, PLANNER, draft.id, "create", {"building_codes": []})


def test_replace_from_features_undo_redo_and_discard(db_session: Session) -> None:
    pair = adjacent_pair(db_session)
    rows = db_session.execute(
        text(
            "SELECT g.code, ST_AsGeoJSON(g.geom, 15) AS g FROM area g "
            "JOIN area c ON c.id = g.parent_id "
            "WHERE c.code = :c AND g.valid_to IS NULL ORDER BY g.code"
        ),
        {"c": pair.community},
    ).all()
    # Keep every grid but a and b, which are uploaded as one grid without a code (a new grid).
    features = [
        {"type": "Feature", "properties": {"code": r.code}, "geometry": json.loads(r.g)}
        for r in rows
        if r.code not in {pair.a, pair.b}
    ]
    union = shapely.union_all([current_geom(db_session, pair.a), current_geom(db_session, pair.b)])
    features.append(
        {
            "type": "Feature",
            "properties": {"name": "上传网格"},
            "geometry": shapely.geometry.mapping(union),
        }
    )
    draft = drafts.open_draft(db_session, PLANNER, pair.community, "upload")
    draft, state, report = drafts.add_operation(
        db_session,
        PLANNER,
        draft.id,
        "replace",
        {"community": pair.community, "features": features},
    )
    assert report.ok
    assert {pair.a, pair.b}.isdisjoint(state.grids)
    uploaded = next(g for g in state.grids.values() if g.name == "上传网格")
    assert uploaded.code == next_code(db_session, pair.community)
    unchanged = [c for c in state.grids if c not in {uploaded.code}]
    assert all(not state.changed(c) for c in unchanged)

    draft = drafts.move_head(db_session, PLANNER, draft.id, -1)
    assert draft.head == 0 and draft.can_redo
    assert set(drafts.draft_state(db_session, draft).grids) == {r.code for r in rows}
    draft = drafts.move_head(db_session, PLANNER, draft.id, +1)
    assert set(drafts.draft_state(db_session, draft).grids) == set(state.grids)
    with pytest.raises(InvalidInput, match="nothing to redo"):
        drafts.move_head(db_session, PLANNER, draft.id, +1)

    # Resume: a fresh load replays to the same state.
    again = drafts.load_draft(db_session, PLANNER, draft.id)
    assert drafts.state_features(again, drafts.draft_state(db_session, again))["retired"] == sorted(
        [pair.a, pair.b]
    )

    drafts.discard(db_session, PLANNER, draft.id)
    with pytest.raises(InvalidInput, match="is discarded"):
        drafts.add_operation(db_session, PLANNER, draft.id, "merge", {"codes": [pair.a, pair.b]})


def test_unknown_code_in_upload_is_refused(db_session: Session) -> None:
    pair = adjacent_pair(db_session)
    draft = drafts.open_draft(db_session, PLANNER, pair.community)
    geometry = shapely.geometry.mapping(current_geom(db_session, pair.a))
    with pytest.raises(InvalidInput, match="not a current grid of community"):
        drafts.add_operation(
            db_session,
            PLANNER,
            draft.id,
            "replace",
            {
                "community": pair.community,
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": "620881999999001"},
                        "geometry": geometry,
                    }
                ],
            },
        )


def test_only_planners_in_scope_edit(db_session: Session) -> None:
    pair = adjacent_pair(db_session)
    with pytest.raises(Forbidden, match="planner or admin"):
        drafts.open_draft(db_session, Viewer("chief", "grid_chief", "620881"), pair.community)
    with pytest.raises(Forbidden, match="outside your scope"):
        drafts.open_draft(db_session, Viewer("p", "planner", "620881999"), pair.community)
    assert shape(
        drafts.state_features(
            drafts.open_draft(db_session, Viewer("adm", "admin", "620881"), pair.community),
            drafts.draft_state(
                db_session,
                drafts.load_draft(
                    db_session, PLANNER, drafts.list_drafts(db_session, PLANNER)[0]["id"]
                ),
            ),
        )["features"][0]["geometry"]
    ).is_valid
