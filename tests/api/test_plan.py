"""Boundary planning through the API on the demo city: operations, impact, commit, history,
revert, permissions, and two planners committing to one community at once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.security import get_viewer
from gis.db import get_session
from gis.errors import InvalidInput
from gis.incidents.vocabulary import OPEN_STATUSES
from gis.scope import Viewer
from gis.settings import normalise_database_url
from tests.conftest import create_test_database, drop_test_database, owner_url

PLANNER = Viewer("planner_api", "planner", "620881")
OPEN = OPEN_STATUSES


@pytest.fixture
def planner(client: TestClient) -> TestClient:
    client.app.dependency_overrides[get_viewer] = lambda: PLANNER  # type: ignore[attr-defined]
    return client


def pick_grid(session: Session) -> Any:
    """A grid with open incidents and a grid party branch, in a community of 3+ grids."""
    return session.execute(
        text(
            """
            SELECT g.code, g.id, c.code AS community FROM area g JOIN area c ON c.id = g.parent_id
            WHERE g.level = 'grid' AND g.valid_to IS NULL
              AND EXISTS (SELECT 1 FROM party_org o WHERE o.area_id = g.id AND o.level = 'grid')
              AND EXISTS (SELECT 1 FROM incident i WHERE i.grid_id = g.id AND i.status = ANY(:open))
              AND (SELECT count(*) FROM area s WHERE s.parent_id = c.id AND s.valid_to IS NULL) >= 3
            ORDER BY g.code LIMIT 1
            """
        ),
        {"open": list(OPEN)},
    ).one()


def line_across(session: Session, code: str) -> dict[str, Any]:
    row = session.execute(
        text(
            "SELECT ST_XMin(geom) - 0.001 AS w, ST_XMax(geom) + 0.001 AS e, "
            "ST_Y(ST_PointOnSurface(geom)) AS y FROM area WHERE code = :c AND valid_to IS NULL"
        ),
        {"c": code},
    ).one()
    return {"type": "LineString", "coordinates": [[row.w, row.y], [row.e, row.y]]}


def now(session: Session) -> datetime:
    return session.execute(text("SELECT clock_timestamp()")).scalar_one()


def counts_in(session: Session, geometry: dict[str, Any]) -> dict[str, int]:
    """Households, residents, party members by building anchor in a geometry, and open incidents."""
    row = session.execute(
        text(
            """
            WITH g AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) AS geom),
            b AS (SELECT b.id FROM building b, g
                  WHERE b.valid_to IS NULL AND ST_Covers(g.geom, b.anchor))
            SELECT (SELECT count(*) FROM household h
                    WHERE h.building_id IN (SELECT id FROM b)) AS households,
                   (SELECT count(*) FROM household h JOIN resident r ON r.household_id = h.id
                    WHERE h.building_id IN (SELECT id FROM b)) AS residents,
                   (SELECT count(*) FROM household h JOIN resident r ON r.household_id = h.id
                    JOIN party_member m ON m.resident_id = r.id
                    WHERE h.building_id IN (SELECT id FROM b))
                       AS party_members,
                   (SELECT count(*) FROM building WHERE id IN (SELECT id FROM b)) AS buildings
            """
        ),
        {"g": json.dumps(geometry)},
    ).one()
    return dict(row._mapping)


def test_editing_needs_a_planner_in_scope(client: TestClient, db_session: Session) -> None:
    grid = pick_grid(db_session)
    response = client.post("/api/v1/plan/drafts", json={"scope_code": grid.community})
    assert response.status_code == 403
    assert response.json()["detail"] == "editing grid boundaries needs the planner or admin role"
    client.app.dependency_overrides[get_viewer] = lambda: Viewer("p", "planner", "620881999")  # type: ignore[attr-defined]
    response = client.post("/api/v1/plan/drafts", json={"scope_code": grid.community})
    assert response.status_code == 403 and "outside your scope" in response.json()["detail"]
    assert db_session.execute(text("SELECT count(*) FROM changeset")).scalar_one() == 0
    # History is public.
    assert client.get("/api/v1/history/areas").status_code == 200


def test_split_impact_commit_history_revert(planner: TestClient, db_session: Session) -> None:
    grid = pick_grid(db_session)
    opened = planner.post(
        "/api/v1/plan/drafts", json={"scope_code": grid.community, "title": "split"}
    )
    assert opened.status_code == 201, opened.text
    draft = opened.json()
    assert draft["base_versions"][grid.code] == 1
    response = planner.post(
        f"/api/v1/plan/drafts/{draft['id']}/operations",
        json={"kind": "split", "code": grid.code, "line": line_across(db_session, grid.code)},
    )
    assert response.status_code == 200, response.text
    draft = response.json()
    assert grid.code in draft["grids"]["retired"]
    new = [f for f in draft["grids"]["features"] if f["properties"]["status"] == "new"]
    assert len(new) == 2
    assert not [f for f in draft["findings"] if f["severity"] == "error"]

    # Impact preview vs SQL, field by field.
    impact = planner.get(f"/api/v1/plan/drafts/{draft['id']}/impact").json()
    before = next(b for b in impact["before"] if b["code"] == grid.code)
    old_geom = json.loads(
        db_session.execute(
            text("SELECT ST_AsGeoJSON(geom, 15) FROM area WHERE id = :i"), {"i": grid.id}
        ).scalar_one()
    )
    expected = db_session.execute(
        text(
            """
            SELECT count(DISTINCT h.id) AS households, count(r.id) AS residents,
                   count(m.id) AS party_members,
                   count(DISTINCT b.id) AS buildings
            FROM building b LEFT JOIN household h ON h.building_id = b.id
            LEFT JOIN resident r ON r.household_id = h.id
            LEFT JOIN party_member m ON m.resident_id = r.id
            WHERE b.grid_id = :g AND b.valid_to IS NULL
            """
        ),
        {"g": grid.id},
    ).one()
    for key in ("households", "residents", "party_members", "buildings"):
        assert before[key] == getattr(expected, key), key
    # The demo data agree: a grid's buildings are exactly those whose anchor it contains.
    assert counts_in(db_session, old_geom)["households"] == expected.households
    open_incidents = db_session.execute(
        text("SELECT count(*) FROM incident WHERE grid_id = :g AND status = ANY(:o)"),
        {"g": grid.id, "o": list(OPEN)},
    ).scalar_one()
    assert before["open_incidents"] == open_incidents
    after = {a["code"]: a for a in impact["after"]}
    for feature in new:
        code = feature["properties"]["code"]
        sql = counts_in(db_session, feature["geometry"])
        for key in ("households", "residents", "party_members", "buildings"):
            assert after[code][key] == sql[key], (code, key)
    assert sum(after[f["properties"]["code"]]["households"] for f in new) == expected.households
    assert sum(after[f["properties"]["code"]]["open_incidents"] for f in new) == open_incidents
    assert grid.code in impact["required_choices"]["party_branches"]

    # Commit without choices: 400 naming what to choose, nothing written.
    missing = planner.post(f"/api/v1/plan/drafts/{draft['id']}/commit", json={"reason": "拆分"})
    assert missing.status_code == 400
    assert "choose which grid the party branch" in missing.json()["detail"]
    assert (
        f"choose the chief of new grid {new[0]['properties']['code']}" in missing.json()["detail"]
    )
    assert (
        db_session.execute(
            text("SELECT valid_to FROM area WHERE id = :i"), {"i": grid.id}
        ).scalar_one()
        is None
    )

    chief = db_session.execute(
        text("SELECT person_id FROM grid_staff WHERE area_id = :g AND role = 'chief'"),
        {"g": grid.id},
    ).scalar_one()
    first, second = (f["properties"]["code"] for f in new)
    t0 = now(db_session)
    committed = planner.post(
        f"/api/v1/plan/drafts/{draft['id']}/commit",
        json={
            "reason": "人口增长，拆分网格",
            "choices": {
                "party_branches": {grid.code: first},
                "chiefs": {first: chief, second: None},
            },
        },
    )
    # The second new grid would have no branch: the planner must say so (a blank spot).
    assert committed.status_code == 400
    assert committed.json()["values"]["problems"] == [{"key": "blank_unconfirmed", "grid": second}]
    staff_before = {
        tuple(r)
        for r in db_session.execute(
            text("SELECT person_id, role FROM grid_staff WHERE area_id = :g"), {"g": grid.id}
        )
    }
    committed = planner.post(
        f"/api/v1/plan/drafts/{draft['id']}/commit",
        json={
            "reason": "人口增长，拆分网格",
            "choices": {
                "party_branches": {grid.code: first},
                "blank_grids": [second],
                "chiefs": {first: chief, second: None},
            },
        },
    )
    assert committed.status_code == 200, committed.text
    result = committed.json()
    t1 = now(db_session)
    assert result["retired"] == [grid.code]
    kinds = {(edge["predecessor"], edge["kind"]) for edge in result["lineage"]}
    assert kinds == {(grid.code, "split")}
    assert sum(edge["households_moved"] for edge in result["lineage"]) == expected.households

    # Database state: old version closed, buildings and open incidents re-pointed, closed kept.
    old = db_session.execute(
        text("SELECT valid_to FROM area WHERE id = :i"), {"i": grid.id}
    ).scalar_one()
    assert old is not None
    assert (
        db_session.execute(
            text("SELECT count(*) FROM building WHERE grid_id = :g AND valid_to IS NULL"),
            {"g": grid.id},
        ).scalar_one()
        == 0
    )
    assert (
        db_session.execute(
            text("SELECT count(*) FROM incident WHERE grid_id = :g AND status = ANY(:o)"),
            {"g": grid.id, "o": list(OPEN)},
        ).scalar_one()
        == 0
    )
    misplaced = db_session.execute(
        text(
            "SELECT count(*) FROM building b JOIN area g ON g.id = b.grid_id "
            "WHERE left(g.code, 12) = :c AND b.valid_to IS NULL AND NOT ST_Covers(g.geom, b.anchor)"
        ),
        {"c": grid.community},
    ).scalar_one()
    assert misplaced == 0
    # The stored area (migration 0026) of the new versions is their geometry's, and the two
    # halves add up to the retired grid's (tiles and /items read the stored value).
    areas = db_session.execute(
        text(
            "SELECT id, area_km2, ST_Area(geom::geography) / 1e6 AS computed FROM area "
            "WHERE id = ANY(:ids)"
        ),
        {"ids": [grid.id, *(result["created"][c]["id"] for c in (first, second))]},
    ).all()
    assert all(a.area_km2 == pytest.approx(a.computed, rel=1e-12) for a in areas)
    halves = sum(a.area_km2 for a in areas if a.id != grid.id)
    whole = next(a.area_km2 for a in areas if a.id == grid.id)
    assert whole > 0 and halves == pytest.approx(whole, rel=1e-3)
    branch_area = db_session.execute(
        text(
            "SELECT a.code FROM party_org o JOIN area a ON a.id = o.area_id "
            "WHERE o.level = 'grid' AND a.id = :i"
        ),
        {"i": result["created"][first]["id"]},
    ).scalar_one()
    assert branch_area == first
    branch_code = db_session.execute(
        text("SELECT code FROM party_org WHERE level = 'grid' AND area_id = :i"),
        {"i": result["created"][first]["id"]},
    ).scalar_one()
    assert (
        db_session.execute(
            text("SELECT count(*) FROM party_org WHERE level = 'grid' AND area_id = :i"),
            {"i": result["created"][second]["id"]},
        ).scalar_one()
        == 0
    )
    assert (
        db_session.execute(
            text("SELECT person_id FROM grid_staff WHERE area_id = :a AND role = 'chief'"),
            {"a": result["created"][first]["id"]},
        ).scalar_one()
        == chief
    )
    who = db_session.execute(
        text("SELECT committed_by, reason FROM changeset WHERE id = :i"), {"i": draft["id"]}
    ).one()
    assert tuple(who) == ("planner_api", "人口增长，拆分网格")

    # History before and after.
    codes_at = lambda t: {  # noqa: E731
        f["properties"]["code"]
        for f in planner.get(
            "/api/v1/history/areas", params={"as_of": t.isoformat(), "within": grid.community}
        ).json()["features"]
    }
    assert grid.code in codes_at(t0) and first not in codes_at(t0)
    assert grid.code not in codes_at(t1) and {first, second} <= codes_at(t1)
    diff = planner.get(
        "/api/v1/history/diff", params={"from": t0.isoformat(), "to": t1.isoformat()}
    ).json()
    assert grid.code in diff["removed"] and {first, second} <= set(diff["added"])
    assert [c["id"] for c in diff["changesets"]] == [draft["id"]]
    lineage = planner.get(f"/api/v1/history/lineage/{first}").json()
    assert [(e["predecessor"], e["successor"], e["kind"]) for e in lineage["lineage"]] == [
        (grid.code, first, "split")
    ]
    # Which grid was a building in, before and after?
    building = db_session.execute(
        text("SELECT code FROM building WHERE grid_id = :g LIMIT 1"),
        {"g": result["created"][first]["id"]},
    ).scalar_one()
    then = planner.get(
        f"/api/v1/history/buildings/{building}", params={"as_of": t0.isoformat()}
    ).json()
    assert then["grid"]["code"] == grid.code and then["grid"]["chief_person_id"] == chief

    # Revert: a new draft restoring the old grid, committed like any other.
    assert db_session.execute(
        text("SELECT choices -> 'blank_grids' FROM changeset WHERE id = :i"),
        {"i": draft["id"]},
    ).scalar_one() == [second]
    reverted = planner.post(f"/api/v1/plan/changesets/{draft['id']}/revert")
    assert reverted.status_code == 201, reverted.text
    revert_draft = reverted.json()
    assert revert_draft["reverts_changeset_id"] == draft["id"]
    assert sorted(revert_draft["grids"]["retired"]) == sorted([first, second])
    # A revert restores what the changeset replaced: no choices to make.
    done = planner.post(
        f"/api/v1/plan/drafts/{revert_draft['id']}/commit", json={"reason": "撤销拆分"}
    )
    assert done.status_code == 200, done.text
    restored_id = done.json()["created"][grid.code]["id"]
    # The branch is back on the restored grid, and so are all of its posts.
    assert (
        db_session.execute(
            text("SELECT area_id FROM party_org WHERE level = 'grid' AND code = :c"),
            {"c": branch_code},
        ).scalar_one()
        == restored_id
    )
    assert {
        tuple(r)
        for r in db_session.execute(
            text("SELECT person_id, role FROM grid_staff WHERE area_id = :g"), {"g": restored_id}
        )
    } == staff_before
    assert {(e["predecessor"], e["successor"]) for e in done.json()["lineage"]} == {
        (first, grid.code),
        (second, grid.code),
    }
    restored = db_session.execute(
        text(
            "SELECT version, ST_Area(ST_SymDifference(geom, (SELECT geom FROM area WHERE id = :i))"
            "::geography) AS changed_m2 FROM area WHERE code = :c AND valid_to IS NULL"
        ),
        {"c": grid.code, "i": grid.id},
    ).one()
    assert restored.version == 2
    assert restored.changed_m2 < 0.01
    assert (
        db_session.execute(
            text("SELECT count(*) FROM area WHERE code IN (:a, :b) AND valid_to IS NULL"),
            {"a": first, "b": second},
        ).scalar_one()
        == 0
    )


def test_merge_move_transfer_and_upload_via_api(planner: TestClient, db_session: Session) -> None:
    pair = db_session.execute(
        text(
            """
            SELECT c.code AS community, a.code AS a, b.code AS b FROM area a
            JOIN area b ON b.parent_id = a.parent_id AND a.code < b.code AND b.valid_to IS NULL
            JOIN area c ON c.id = a.parent_id
            WHERE a.level = 'grid' AND a.valid_to IS NULL
              AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))::geography)
                  > 50
            ORDER BY a.code LIMIT 1
            """
        )
    ).one()
    draft = planner.post("/api/v1/plan/drafts", json={"scope_code": pair.community}).json()
    url = f"/api/v1/plan/drafts/{draft['id']}"
    merged = planner.post(f"{url}/operations", json={"kind": "merge", "codes": [pair.a, pair.b]})
    assert merged.status_code == 200, merged.text
    assert sorted(merged.json()["grids"]["retired"]) == [pair.a, pair.b]
    undone = planner.post(f"{url}/undo").json()
    assert undone["head"] == 0 and undone["grids"]["retired"] == []
    redone = planner.post(f"{url}/redo").json()
    assert redone["head"] == 1
    assert planner.post(f"{url}/undo").status_code == 200

    building = db_session.execute(
        text(
            """
            SELECT bl.code FROM building bl JOIN area a ON a.id = bl.grid_id AND a.code = :a
            JOIN area b ON b.code = :b AND b.valid_to IS NULL WHERE bl.valid_to IS NULL
            ORDER BY ST_Distance(bl.geom,
                                 ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)))
            LIMIT 1
            """
        ),
        {"a": pair.a, "b": pair.b},
    ).scalar_one()
    moved = planner.post(
        f"{url}/operations", json={"kind": "transfer", "building_codes": [building], "to": pair.b}
    )
    assert moved.status_code == 200, moved.text
    impact = planner.get(f"{url}/impact").json()
    assert any(
        m["type"] == "building" and m["code"] == building and m["new_code"] == pair.b
        for m in impact["moves"]
    )
    committed = planner.post(f"{url}/commit", json={"reason": "楼栋划转"})
    assert committed.status_code == 200, committed.text
    lineage = committed.json()["lineage"]
    kinds = {(edge["predecessor"], edge["successor"]): edge["kind"] for edge in lineage}
    assert kinds[(pair.a, pair.b)] == "transfer"
    assert (
        db_session.execute(
            text("SELECT g.code FROM building b JOIN area g ON g.id = b.grid_id WHERE b.code = :b"),
            {"b": building},
        ).scalar_one()
        == pair.b
    )
    versions = dict(
        db_session.execute(
            text("SELECT code, version FROM area WHERE code IN (:a, :b) AND valid_to IS NULL"),
            {"a": pair.a, "b": pair.b},
        ).all()
    )
    assert versions == {pair.a: 2, pair.b: 2}

    # Upload: the current grids as GeoJSON, unchanged → the draft changes nothing.
    current = planner.get("/api/v1/history/areas", params={"within": pair.community}).json()
    upload = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": f["properties"]["code"]},
                "geometry": f["geometry"],
            }
            for f in current["features"]
        ],
    }
    second = planner.post("/api/v1/plan/drafts", json={"scope_code": pair.community}).json()
    uploaded = planner.post(
        f"/api/v1/plan/drafts/{second['id']}/upload",
        params={"community": pair.community},
        files={"file": ("grids.geojson", json.dumps(upload).encode(), "application/geo+json")},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["operations"][0]["kind"] == "replace"
    nothing = planner.post(f"/api/v1/plan/drafts/{second['id']}/commit", json={"reason": "x"})
    assert nothing.status_code == 400 and "changes nothing" in nothing.json()["detail"]
    assert planner.delete(f"/api/v1/plan/drafts/{second['id']}").json()["status"] == "discarded"


def test_rejected_operation_returns_findings(planner: TestClient, db_session: Session) -> None:
    grid = pick_grid(db_session)
    draft = planner.post("/api/v1/plan/drafts", json={"scope_code": grid.community}).json()
    shrunk = json.loads(
        db_session.execute(
            text(
                "SELECT ST_AsGeoJSON(ST_Buffer(geom::geography, -0.5, 'join=mitre')::geometry, 15) "
                "FROM area WHERE id = :i"
            ),
            {"i": grid.id},
        ).scalar_one()
    )
    response = planner.post(
        f"/api/v1/plan/drafts/{draft['id']}/operations",
        json={"kind": "reshape", "code": grid.code, "geometry": shrunk},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert "sliver gap" in body["detail"]
    assert any(f["code"] == "gap" and f["location"]["type"] == "Point" for f in body["findings"])
    assert planner.get(f"/api/v1/plan/drafts/{draft['id']}").json()["head"] == 0
    repair = planner.post(
        "/api/v1/plan/repair-preview",
        json={
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
            }
        },
    )
    assert repair.status_code == 200 and repair.json()["parts"] == 2


# --- Two planners, one community, committed database ----------------------------------------


@pytest.fixture(scope="module")
def concurrency_engine(server_url: str) -> Iterator[Engine]:
    from data.demo import load_demo

    url = create_test_database(server_url, "plan_concurrency")
    with psycopg.connect(owner_url(url)) as conn:
        load_demo(conn, households=3_000)
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    yield engine
    engine.dispose()
    drop_test_database(server_url, url)


def _client_for(engine: Engine, viewer: Viewer) -> TestClient:
    app = create_app()
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    def _session() -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[get_viewer] = lambda: viewer
    return TestClient(app)


def test_two_planners_commit_to_one_community(concurrency_engine: Engine) -> None:
    with Session(concurrency_engine) as session:
        rows = session.execute(
            text(
                """
                SELECT c.code AS community, array_agg(g.code ORDER BY g.code) AS grids FROM area c
                JOIN area g ON g.parent_id = c.id AND g.valid_to IS NULL
                WHERE c.level = 'community' AND c.valid_to IS NULL GROUP BY c.code
                HAVING count(*) >= 2 ORDER BY c.code LIMIT 1
                """
            )
        ).one()
        lines = [line_across(session, code) for code in rows.grids[:2]]
    planners = [Viewer(f"planner{i}", "planner", "620881") for i in (1, 2)]
    clients = [_client_for(concurrency_engine, v) for v in planners]
    drafts = []
    for client, code, line in zip(clients, rows.grids[:2], lines, strict=True):
        draft = client.post("/api/v1/plan/drafts", json={"scope_code": rows.community}).json()
        body = client.post(
            f"/api/v1/plan/drafts/{draft['id']}/operations",
            json={"kind": "split", "code": code, "line": line},
        ).json()
        new = [
            f["properties"]["code"]
            for f in body["grids"]["features"]
            if f["properties"]["status"] == "new"
        ]
        drafts.append((draft["id"], code, new))
    barrier = threading.Barrier(2)
    results: list[tuple[int, dict[str, Any]]] = [(0, {}), (0, {})]

    def run(i: int) -> None:
        changeset_id, code, new = drafts[i]
        choices = {
            "party_branches": {code: new[0]},
            "blank_grids": new[1:],
            "chiefs": dict.fromkeys(new),
        }
        barrier.wait()
        response = clients[i].post(
            f"/api/v1/plan/drafts/{changeset_id}/commit",
            json={"reason": f"planner {i}", "choices": choices},
        )
        results[i] = (response.status_code, response.json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409], results
    loser = next(body for status, body in results if status == 409)
    assert "changed since this draft was opened" in loser["detail"]
    assert "Nothing was written" in loser["detail"]
    with Session(concurrency_engine) as session:
        check = session.execute(
            text(
                """
                SELECT ST_Area(ST_SymDifference(c.geom, ST_Union(g.geom))::geography)
                           AS gap_or_excess,
                       sum(ST_Area(g.geom::geography)) - ST_Area(ST_Union(g.geom)::geography)
                           AS overlap,
                       count(*) AS grids
                FROM area c JOIN area g ON g.parent_id = c.id AND g.valid_to IS NULL
                WHERE c.code = :c AND c.valid_to IS NULL GROUP BY c.geom
                """
            ),
            {"c": rows.community},
        ).one()
        assert check.gap_or_excess < 0.5 and abs(check.overlap) < 0.5
        assert check.grids == len(rows.grids) + 1
        loser_id = next(d[0] for d, r in zip(drafts, results, strict=True) if r[0] == 409)
        assert (
            session.execute(
                text("SELECT status FROM changeset WHERE id = :i"), {"i": loser_id}
            ).scalar_one()
            == "draft"
        )


def test_geopackage_upload_is_read_and_reprojected(tmp_path: Any) -> None:
    import geopandas
    import shapely

    from api.routers.plan import read_upload

    square = shapely.box(106.65, 35.22, 106.651, 35.221)
    frame = geopandas.GeoDataFrame(
        {"code": ["620881001001001"], "name": ["一"]}, geometry=[square], crs=4326
    ).to_crs(3857)
    path = tmp_path / "grids.gpkg"
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    features = read_upload("grids.gpkg", path.read_bytes())
    assert [f["properties"]["code"] for f in features] == ["620881001001001"]
    back = shapely.geometry.shape(features[0]["geometry"])
    assert back.symmetric_difference(square).area < 1e-12
    with pytest.raises(InvalidInput, match="neither GeoJSON nor a GeoPackage"):
        read_upload("x.txt", b"\x00\x01 not json")


def test_grids_as_of_a_moment_as_geopackage(
    client: TestClient, db_session: Session, tmp_path: Any
) -> None:
    import geopandas as gpd

    community = pick_grid(db_session).community
    response = client.get("/api/v1/history/areas.gpkg", params={"within": community})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    assert f'filename="grids_{community}_' in response.headers["content-disposition"]
    path = tmp_path / "now.gpkg"
    path.write_bytes(response.content)
    frame = gpd.read_file(path, layer="grid", engine="pyogrio")
    expected = db_session.execute(
        text(
            "SELECT code, version FROM area WHERE level = 'grid' AND valid_to IS NULL "
            "AND code LIKE :c || '%' ORDER BY code"
        ),
        {"c": community},
    ).all()
    assert sorted(zip(frame.code, frame.version, strict=True)) == [tuple(r) for r in expected]
    assert frame.crs.to_epsg() == 4326 and set(frame.parent) == {community}
    # Before the city was loaded there were no grids; the file says which moment it shows.
    response = client.get(
        "/api/v1/history/areas.gpkg", params={"as_of": "2000-01-01T00:00:00Z", "level": "grid"}
    )
    path.write_bytes(response.content)
    assert len(gpd.read_file(path, layer="grid", engine="pyogrio")) == 0
    record = gpd.read_file(path, layer="export", engine="pyogrio")
    assert record.loc[0, "as_of"] == "2000-01-01T00:00:00+00:00" and record.loc[0, "areas"] == 0
    bad = client.get("/api/v1/history/areas.gpkg", params={"as_of": "yesterday"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["detail"]
    assert bad.headers["content-type"] == "application/problem+json"
