"""/api/v1/areas and /api/v1/areas/{code}: statistics compared with independent SQL counts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.security import get_viewer
from gis.masking import mask_name, mask_phone
from gis.scope import Viewer

# Independent counts: households located with a spatial join of building anchors into the area
# polygon (the API goes through building.grid_id and codes), so both paths are exercised.
EXPECTED_SQL = """
WITH a AS (SELECT id, geom, level FROM area WHERE code = :code AND valid_to IS NULL),
b AS (SELECT b.id FROM building b, a WHERE b.valid_to IS NULL AND ST_Contains(a.geom, b.anchor)),
h AS (SELECT h.id FROM household h WHERE h.building_id IN (SELECT id FROM b))
SELECT (SELECT count(*) FROM h) AS households,
       (SELECT count(*) FROM resident WHERE household_id IN (SELECT id FROM h)) AS residents,
       (SELECT count(*) FROM party_member m JOIN resident r ON r.id = m.resident_id
         WHERE r.household_id IN (SELECT id FROM h)) AS party_members,
       (SELECT count(*) FROM b) AS buildings,
       (SELECT count(*) FROM party_org WHERE level = 'building'
         AND building_id IN (SELECT id FROM b)) AS building_orgs,
       (SELECT count(*) FROM service_facility f, a WHERE ST_Intersects(a.geom, f.geom))
         AS facilities_inside,
       (SELECT ST_Area(geom::geography) / 1e6 FROM a) AS km2
"""


def some_codes(db_session: Session) -> list[str]:
    return list(
        db_session.execute(
            text(
                "SELECT DISTINCT ON (level) code FROM area WHERE valid_to IS NULL "
                "ORDER BY level, code"
            )
        ).scalars()
    )


def test_detail_statistics_match_independent_sql(client: TestClient, db_session: Session):
    for code in some_codes(db_session):
        response = client.get(f"/api/v1/areas/{code}")
        assert response.status_code == 200, response.text
        body = response.json()
        stats = body["statistics"]
        expected = db_session.execute(text(EXPECTED_SQL), {"code": code}).mappings().one()
        assert body["code"] == code
        for key in ("households", "residents", "party_members", "buildings"):
            assert stats[key] == expected[key], (code, key)
        assert stats["party_orgs_by_level"]["building"] == expected["building_orgs"]
        assert body["area_km2"] == pytest.approx(expected["km2"], abs=1e-6)  # rounded to 1 m²
        if expected["households"]:
            assert stats["party_members_per_100_households"] == pytest.approx(
                100 * expected["party_members"] / expected["households"], abs=0.005
            )
        if body["level"] == "grid":
            assert stats["households_within_standard"] == (300 <= expected["households"] <= 500)
        else:
            assert stats["households_within_standard"] is None


def test_grid_detail_has_chief_and_party_branch_masked_per_viewer(
    client: TestClient, db_session: Session
):
    grid = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    staff = db_session.execute(
        text(
            """
            SELECT s.role, p.id, p.name, p.phone, p.title FROM grid_staff s
            JOIN person p ON p.id = s.person_id JOIN area g ON g.id = s.area_id
            WHERE g.code = :grid AND g.valid_to IS NULL ORDER BY s.role, p.id
            """
        ),
        {"grid": grid},
    ).all()
    branch = db_session.execute(
        text(
            """
            SELECT o.code, o.name, o.org_type, se.id AS secretary_id, se.name AS secretary,
                   se.phone
            FROM party_org o JOIN area g ON g.id = o.area_id
            LEFT JOIN person se ON se.id = o.secretary_id
            WHERE g.code = :grid AND g.valid_to IS NULL AND o.level = 'grid'
            ORDER BY o.code LIMIT 1
            """
        ),
        {"grid": grid},
    ).one()
    chief = next(s for s in staff if s.role == "chief")

    public = client.get(f"/api/v1/areas/{grid}").json()
    assert public["staff"]["chief"] == {
        "name": mask_name(chief.name),
        "phone": mask_phone(chief.phone),
        "masked": True,
        "title": chief.title,
    }
    assert [w["name"] for w in public["staff"]["workers"]] == [
        mask_name(s.name) for s in staff if s.role == "worker"
    ]
    assert len(public["staff"]["instructors"]) == sum(s.role == "instructor" for s in staff)
    got = public["party_branch"]
    assert (got["code"], got["name"], got["org_type"]) == (
        branch.code,
        branch.name,
        branch.org_type,
    )
    assert got["secretary"]["name"] == mask_name(branch.secretary)
    assert got["secretary"]["masked"] is True

    app = client.app
    app.dependency_overrides[get_viewer] = lambda: Viewer("c", "grid_chief", grid)  # type: ignore[attr-defined]
    assert client.get(f"/api/v1/areas/{grid}").json()["staff"]["chief"]["masked"] is True
    own = client.get(f"/api/v1/areas/{grid}", headers={"X-Purpose": "work"}).json()
    assert (own["staff"]["chief"]["name"], own["staff"]["chief"]["masked"]) == (chief.name, False)
    assert own["party_branch"]["secretary"]["name"] == branch.secretary
    audited = db_session.execute(
        text("SELECT target, purpose, subjects FROM audit_log WHERE username = 'c'")
    ).one()
    assert (audited.target, audited.purpose) == (f"area:{grid}", "work")
    people = {s.id for s in staff} | {branch.secretary_id}
    assert sorted(audited.subjects) == sorted(f"person:{p}" for p in people)
    # Other levels have neither.
    community = client.get(f"/api/v1/areas/{grid[:12]}").json()
    assert community["staff"] is None and community["party_branch"] is None


def test_open_and_overdue_incidents(client: TestClient, db_session: Session):
    code = db_session.execute(
        text(
            "SELECT c.code FROM incident i JOIN area c ON c.id = i.community_id "
            "WHERE i.status IN ('reported','registered','dispatched','in_progress','handled') "
            "GROUP BY c.code ORDER BY count(*) DESC, c.code LIMIT 1"
        )
    ).scalar_one()
    counts = db_session.execute(
        text(
            """
            SELECT count(*) AS open, count(*) FILTER (WHERE i.due_at < now()) AS overdue
            FROM incident i JOIN area c ON c.id = i.community_id
            WHERE c.code = :code AND i.status NOT IN ('rejected', 'closed', 'evaluated')
            """
        ),
        {"code": code},
    ).one()
    stats = client.get(f"/api/v1/areas/{code}").json()["statistics"]
    assert (stats["open_incidents"], stats["overdue_incidents"]) == (counts.open, counts.overdue)


def test_parents_children_and_geometry(client: TestClient, db_session: Session):
    grid = db_session.execute(
        text(
            """
            SELECT g.code, c.code AS community, s.code AS street, d.code AS district,
                   ST_AsGeoJSON(g.geom)::json AS geom,
                   (SELECT array_agg(code ORDER BY code) FROM building
                    WHERE grid_id = g.id AND valid_to IS NULL) AS buildings
            FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id
            JOIN area d ON d.id = s.parent_id
            WHERE g.level = 'grid' AND g.valid_to IS NULL ORDER BY g.code LIMIT 1
            """
        )
    ).one()
    body = client.get(f"/api/v1/areas/{grid.code}", params={"geometry": "true"}).json()
    assert [p["code"] for p in body["parents"]] == [grid.district, grid.street, grid.community]
    assert [c["code"] for c in body["children"]] == grid.buildings
    assert body["geometry"]["type"] == "MultiPolygon"
    assert len(body["geometry"]["coordinates"]) == len(grid.geom["coordinates"])
    assert client.get(f"/api/v1/areas/{grid.code}").json()["geometry"] is None
    street = client.get(f"/api/v1/areas/{grid.street}").json()
    expected_children = (
        db_session.execute(
            text(
                "SELECT c.code FROM area c JOIN area s ON s.id = c.parent_id "
                "WHERE s.code = :code AND c.valid_to IS NULL ORDER BY c.code"
            ),
            {"code": grid.street},
        )
        .scalars()
        .all()
    )
    assert [c["code"] for c in street["children"]] == expected_children


def test_unknown_and_malformed_codes(client: TestClient):
    response = client.get("/api/v1/areas/620881999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["parameter"] == "code"
    response = client.get("/api/v1/areas/abc")
    assert response.status_code == 400
    assert response.json()["parameter"] == "code"


def test_list_filters_and_paging(client: TestClient, db_session: Session):
    street = db_session.execute(
        text("SELECT code FROM area WHERE level = 'street' ORDER BY code LIMIT 1")
    ).scalar_one()
    expected = (
        db_session.execute(
            text(
                "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL "
                "AND left(code, 9) = left(:s, 9) ORDER BY code"
            ),
            {"s": street},
        )
        .scalars()
        .all()
    )
    first = client.get(
        "/api/v1/areas", params={"level": "grid", "within": street, "limit": 5}
    ).json()
    assert first["total"] == len(expected)
    assert [i["code"] for i in first["items"]] == expected[:5]
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    assert parse_qs(urlparse(next_link).query)["offset"] == ["5"]
    second = client.get(next_link).json()
    assert [i["code"] for i in second["items"]] == expected[5:10]
    assert any(link["rel"] == "prev" for link in second["links"])
    last = client.get(
        "/api/v1/areas", params={"level": "grid", "within": street, "offset": len(expected)}
    ).json()
    assert last["items"] == [] and last["total"] == len(expected)


def test_list_bbox_and_name(client: TestClient, db_session: Session):
    bbox = (106.62, 35.215, 106.635, 35.225)
    expected = (
        db_session.execute(
            text(
                "SELECT code FROM area WHERE valid_to IS NULL AND level = 'grid' "
                "AND ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326)) ORDER BY code"
            ),
            dict(zip("wsen", bbox, strict=True)),
        )
        .scalars()
        .all()
    )
    body = client.get(
        "/api/v1/areas",
        params={"level": "grid", "bbox": ",".join(map(str, bbox)), "limit": 1000},
    ).json()
    assert [i["code"] for i in body["items"]] == expected and expected
    name = db_session.execute(
        text("SELECT name FROM area WHERE level = 'community' ORDER BY code LIMIT 1")
    ).scalar_one()
    fragment = name[:3]
    expected_names = (
        db_session.execute(
            text(
                "SELECT code FROM area WHERE valid_to IS NULL AND strpos(name, :f) > 0 "
                "ORDER BY code"
            ),
            {"f": fragment},
        )
        .scalars()
        .all()
    )
    body = client.get("/api/v1/areas", params={"q": fragment, "limit": 1000}).json()
    assert [i["code"] for i in body["items"]] == expected_names


@pytest.mark.parametrize(
    ("params", "parameter", "hint"),
    [
        ({"bbox": "1,2,3"}, "bbox", "4 comma-separated"),
        ({"bbox": "106.7,35.2,106.6,35.3"}, "bbox", "west"),
        ({"bbox": "106.6,35.3,106.7,35.2"}, "bbox", "south"),
        # Out of range but narrow: a wide bbox is refused earlier by the security middleware.
        ({"bbox": "179.6,35.2,180.5,35.3"}, "bbox", "between -180 and 180"),
        ({"bbox": "a,35.2,106.7,35.3"}, "bbox", "not a number"),
        ({"within": "62088"}, "within", "digits"),
    ],
)
def test_list_rejects_bad_input(client: TestClient, params: dict, parameter: str, hint: str):
    response = client.get("/api/v1/areas", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["parameter"] == parameter
    assert hint in response.json()["detail"]


def test_list_unknown_within_and_limit(client: TestClient):
    response = client.get("/api/v1/areas", params={"within": "620881999999"})
    assert response.status_code == 404
    assert response.json()["parameter"] == "within"
    response = client.get("/api/v1/areas", params={"limit": 0})
    assert response.status_code == 422
    assert "limit" in response.json()["detail"]


def test_doctests_of_the_parameter_helpers() -> None:
    import doctest

    import gis.queries.areas
    import gis.queries.spatial_params

    for module in (gis.queries.spatial_params, gis.queries.areas):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0


def test_every_spatial_endpoint_is_documented(client: TestClient):
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/locate",
        "/api/v1/areas",
        "/api/v1/areas/{code}",
        "/api/v1/search",
        "/api/v1/analysis/service-coverage",
        "/api/v1/analysis/blank-spots",
        "/api/v1/export/{layer}",
    ):
        operation = spec["paths"][path]["get"]
        assert operation.get("description") or operation.get("summary"), path
        ok = operation["responses"]["200"]["content"]
        assert ok, path
        assert "400" in operation["responses"] or "422" in operation["responses"], path
    for schema in ("Location", "AreaDetail", "AreaPage", "SearchResult", "ServiceCoverage"):
        assert schema in spec["components"]["schemas"]
    assert "example" in spec["components"]["schemas"]["Location"]


# --- counts after a boundary commit (precomputed area_stats, migration 0008) ----------------

PLANNER = Viewer("planner_stats", "planner", "620881")


def test_counts_follow_a_boundary_commit(client: TestClient, db_session: Session):
    """Split a grid through the plan API: the new grids, their community and street report the
    counts independent SQL finds, in area details and in OGC items, without any other step."""
    client.app.dependency_overrides[get_viewer] = lambda: PLANNER  # type: ignore[attr-defined]
    grid = db_session.execute(
        text(
            """
            SELECT g.code, g.id, c.code AS community, s.code AS street
              FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id
             WHERE g.level = 'grid' AND g.valid_to IS NULL
               AND EXISTS (SELECT 1 FROM party_org o WHERE o.area_id = g.id AND o.level = 'grid')
               AND (SELECT count(*) FROM area x WHERE x.parent_id = c.id
                      AND x.valid_to IS NULL) >= 3
             ORDER BY g.code DESC LIMIT 1
            """
        )
    ).one()
    line = db_session.execute(
        text(
            "SELECT ST_XMin(geom) - 0.001 AS w, ST_XMax(geom) + 0.001 AS e, "
            "ST_Y(ST_PointOnSurface(geom)) AS y FROM area WHERE id = :i"
        ),
        {"i": grid.id},
    ).one()
    draft = client.post(
        "/api/v1/plan/drafts", json={"scope_code": grid.community, "title": "split"}
    ).json()
    split = client.post(
        f"/api/v1/plan/drafts/{draft['id']}/operations",
        json={
            "kind": "split",
            "code": grid.code,
            "line": {"type": "LineString", "coordinates": [[line.w, line.y], [line.e, line.y]]},
        },
    )
    assert split.status_code == 200, split.text
    first, second = (
        f["properties"]["code"]
        for f in split.json()["grids"]["features"]
        if f["properties"]["status"] == "new"
    )
    chief = db_session.execute(
        text("SELECT person_id FROM grid_staff WHERE area_id = :g AND role = 'chief'"),
        {"g": grid.id},
    ).scalar_one_or_none()
    committed = client.post(
        f"/api/v1/plan/drafts/{draft['id']}/commit",
        json={
            "reason": "统计随边界更新",
            "choices": {
                "party_branches": {grid.code: first},
                "blank_grids": [second],  # confirmed: the second half has no branch yet
                "chiefs": {first: chief, second: None},
            },
        },
    )
    assert committed.status_code == 200, committed.text
    client.app.dependency_overrides.pop(get_viewer)  # type: ignore[attr-defined]

    totals = {"households": 0, "residents": 0, "party_members": 0, "buildings": 0}
    for code in (first, second, grid.community, grid.street):
        expected = db_session.execute(text(EXPECTED_SQL), {"code": code}).one()
        stats = client.get(f"/api/v1/areas/{code}").json()["statistics"]
        for key in totals:
            assert stats[key] == getattr(expected, key), (code, key)
        collection = "grids" if code in (first, second) else "communities"
        if code == grid.street:
            collection = "streets"
        item = client.get(f"/ogc/collections/{collection}/items/{code}").json()["properties"]
        for key in ("households", "residents", "party_members"):
            assert item[key] == getattr(expected, key), (code, key)
        if code in (first, second):
            assert item["buildings"] == expected.buildings
            for key in totals:
                totals[key] += getattr(expected, key)
    # The split neither lost nor doubled anyone: the two new grids hold the old one's people.
    old = db_session.execute(
        text(
            "SELECT count(DISTINCT h.id) AS households, count(r.id) AS residents, "
            "count(m.id) AS party_members, count(DISTINCT b.id) AS buildings "
            "FROM building b JOIN area g ON g.id = b.grid_id "
            "LEFT JOIN household h ON h.building_id = b.id "
            "LEFT JOIN resident r ON r.household_id = h.id "
            "LEFT JOIN party_member m ON m.resident_id = r.id "
            "WHERE g.code IN (:a, :b) AND g.valid_to IS NULL AND b.valid_to IS NULL"
        ),
        {"a": first, "b": second},
    ).one()
    assert totals == old._asdict()
    assert totals["households"] > 0
