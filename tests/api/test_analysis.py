"""/api/v1/analysis: service coverage and blank spots against independent SQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session


def test_service_coverage_matches_geodesic_distances(client: TestClient, db_session: Session):
    radius = 800.0
    # Independently: the distance from each building anchor to its nearest centre.
    rows = db_session.execute(
        text(
            """
            SELECT b.code, g.code AS grid,
                   (SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households,
                   (SELECT min(ST_Distance(f.geom::geography, b.anchor::geography))
                    FROM service_facility f WHERE f.kind = '党群服务中心') AS nearest
            FROM building b JOIN area g ON g.id = b.grid_id WHERE b.valid_to IS NULL
            """
        )
    ).all()
    far = {r.code for r in rows if r.nearest > radius}
    body = client.get("/api/v1/analysis/service-coverage", params={"radius_m": radius}).json()
    features = body["uncovered_buildings"]["features"]
    assert {f["properties"]["code"] for f in features} == far
    assert body["totals"]["buildings"] == len(rows)
    assert body["totals"]["buildings_uncovered"] == len(far)
    assert body["totals"]["households_uncovered"] == sum(
        r.households for r in rows if r.code in far
    )
    per_grid = {g["code"]: g for g in body["grids"]}
    for row in rows[:50]:
        assert per_grid[row.grid]["buildings"] >= 1
    grid = next(iter(per_grid))
    assert per_grid[grid]["households_uncovered"] == sum(
        r.households for r in rows if r.grid == grid and r.code in far
    )
    assert features and features[0]["geometry"]["type"] == "Point"


def test_service_coverage_within_and_bad_radius(client: TestClient, db_session: Session):
    community = db_session.execute(
        text("SELECT code FROM area WHERE level = 'community' ORDER BY code LIMIT 1")
    ).scalar_one()
    body = client.get("/api/v1/analysis/service-coverage", params={"within": community}).json()
    assert body["grids"] and all(g["code"].startswith(community) for g in body["grids"])
    response = client.get("/api/v1/analysis/service-coverage", params={"radius_m": 5})
    assert response.status_code == 400
    assert response.json()["parameter"] == "radius_m"
    response = client.get("/api/v1/analysis/service-coverage", params={"within": "620881999999"})
    assert response.status_code == 404
    assert response.json()["parameter"] == "within"


def test_blank_spots_match_sql(client: TestClient, db_session: Session):
    no_branch = (
        db_session.execute(
            text(
                """
            SELECT g.code FROM area g
            LEFT JOIN party_org po ON po.area_id = g.id AND po.org_type = '党支部'
                                  AND po.level = 'grid'
            WHERE g.level = 'grid' AND g.valid_to IS NULL AND po.id IS NULL ORDER BY g.code
            """
            )
        )
        .scalars()
        .all()
    )
    blank_buildings = (
        db_session.execute(
            text(
                """
            SELECT b.code FROM building b
            WHERE b.valid_to IS NULL
              AND EXISTS (SELECT 1 FROM household h WHERE h.building_id = b.id)
              AND NOT EXISTS (SELECT 1 FROM party_org po WHERE po.building_id = b.id
                              AND po.level = 'building')
              AND NOT EXISTS (SELECT 1 FROM household h JOIN resident r ON r.household_id = h.id
                              JOIN party_member m ON m.resident_id = r.id
                              WHERE h.building_id = b.id)
            ORDER BY b.code
            """
            )
        )
        .scalars()
        .all()
    )
    body = client.get("/api/v1/analysis/blank-spots").json()
    assert [g["code"] for g in body["grids_without_branch"]] == no_branch
    codes = [f["properties"]["code"] for f in body["uncovered_buildings"]["features"]]
    assert codes == blank_buildings
    ratios = [c["party_members_per_100_households"] for c in body["communities"]]
    numeric = [r for r in ratios if r is not None]
    assert numeric == sorted(numeric)
    count = db_session.execute(
        text("SELECT count(*) FROM area WHERE level = 'community' AND valid_to IS NULL")
    ).scalar_one()
    assert len(body["communities"]) == count


def test_blank_spots_malformed_within(client: TestClient):
    response = client.get("/api/v1/analysis/blank-spots", params={"within": "x"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["parameter"] == "within"
