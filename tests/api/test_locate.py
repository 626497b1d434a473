"""GET /api/v1/locate against the demo city, checked against independent SQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.security import get_viewer
from gis.crs import from_wgs84
from gis.masking import mask_name, mask_phone
from gis.scope import Viewer


def anchors(db_session: Session, n: int = 5) -> list[dict]:
    """Building anchor points spread over the city, with their grid by ST_Contains."""
    rows = db_session.execute(
        text(
            """
            SELECT b.code AS building, ST_X(b.anchor) AS lon, ST_Y(b.anchor) AS lat,
                   (SELECT g.code FROM area g
                    WHERE g.valid_to IS NULL AND g.level = 'grid'
                      AND ST_Contains(g.geom, b.anchor) ORDER BY g.code LIMIT 1) AS grid
            FROM building b WHERE b.valid_to IS NULL
            ORDER BY b.code
            """
        )
    ).mappings()
    every = list(rows)
    return every[:: max(1, len(every) // n)][:n]


def test_locate_building_anchors_match_st_contains(client: TestClient, db_session: Session):
    for point in anchors(db_session):
        response = client.get("/api/v1/locate", params={"lon": point["lon"], "lat": point["lat"]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["building"]["code"] == point["building"]
        assert body["grid"]["code"] == point["grid"]
        expected = db_session.execute(
            text(
                """
                SELECT c.code AS community, s.code AS street, g.name AS grid_name,
                       (SELECT po.code FROM party_org po
                        WHERE po.level = 'grid' AND po.area_id = g.id) AS branch
                FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id
                WHERE g.code = :code AND g.valid_to IS NULL
                """
            ),
            {"code": point["grid"]},
        ).one()
        assert body["grid"]["name"] == expected.grid_name
        assert body["community"]["code"] == expected.community
        assert body["street"]["code"] == expected.street
        assert (body["party_branch"] or {}).get("code") == expected.branch
        assert body["nearest_grid"] is None


def test_nearest_service_centre_by_geodesic_distance(client: TestClient, db_session: Session):
    point = anchors(db_session, 1)[0]
    body = client.get("/api/v1/locate", params={"lon": point["lon"], "lat": point["lat"]}).json()
    nearest = db_session.execute(
        text(
            """
            SELECT code, ST_Distance(geom::geography,
                                     ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d
            FROM service_facility WHERE kind = '党群服务中心' ORDER BY d, code LIMIT 1
            """
        ),
        point,
    ).one()
    assert body["service_centre"]["code"] == nearest.code
    assert body["service_centre"]["distance_m"] == pytest.approx(nearest.d, abs=0.01)


def test_staff_masked_for_public_and_unmasked_in_scope(client: TestClient, db_session: Session):
    point = anchors(db_session, 1)[0]
    params = {"lon": point["lon"], "lat": point["lat"]}
    chief = db_session.execute(
        text(
            """
            SELECT p.id, p.name, p.phone FROM grid_staff s JOIN person p ON p.id = s.person_id
            JOIN area g ON g.id = s.area_id
            WHERE g.code = :grid AND g.valid_to IS NULL AND s.role = 'chief'
            """
        ),
        {"grid": point["grid"]},
    ).one()
    public = client.get("/api/v1/locate", params=params).json()["staff"]["chief"]
    assert public == {
        "name": mask_name(chief.name),
        "phone": mask_phone(chief.phone),
        "masked": True,
        "title": public["title"],
    }
    app = client.app
    app.dependency_overrides[get_viewer] = lambda: Viewer("c", "grid_chief", point["grid"])  # type: ignore[attr-defined]
    # In scope without a purpose: masked (the disclosure rule), nothing audited.
    assert client.get("/api/v1/locate", params=params).json()["staff"]["chief"]["masked"]
    purposeful = {**params, "purpose": "联系网格长"}
    own = client.get("/api/v1/locate", params=purposeful).json()["staff"]["chief"]
    assert (own["name"], own["phone"], own["masked"]) == (chief.name, chief.phone, False)
    audited = db_session.execute(
        text(
            "SELECT target, purpose, subjects FROM audit_log WHERE username = 'c'"
            " AND action = 'read.unmasked'"
        )
    ).one()
    assert audited.target == f"locate:{point['grid']}" and audited.purpose == "联系网格长"
    assert f"person:{chief.id}" in audited.subjects
    # The same role scoped to another grid stays masked.
    other = point["grid"][:-3] + ("002" if not point["grid"].endswith("002") else "001")
    app.dependency_overrides[get_viewer] = lambda: Viewer("c", "grid_chief", other)  # type: ignore[attr-defined]
    assert client.get("/api/v1/locate", params=purposeful).json()["staff"]["chief"]["masked"]
    # A role without personal-data rights stays masked even in scope.
    app.dependency_overrides[get_viewer] = lambda: Viewer("c", "planner", point["grid"])  # type: ignore[attr-defined]
    assert client.get("/api/v1/locate", params=purposeful).json()["staff"]["chief"]["masked"]


def test_shared_boundary_resolves_to_lowest_code(client: TestClient, db_session: Session):
    shared = db_session.execute(
        text(
            """
            WITH pair AS (
                SELECT a.code AS a, b.code AS b,
                       ST_PointOnSurface(ST_Intersection(ST_Boundary(a.geom),
                                                         ST_Boundary(b.geom))) AS p
                FROM area a JOIN area b ON a.code < b.code
                WHERE a.level = 'grid' AND b.level = 'grid' AND a.valid_to IS NULL
                  AND b.valid_to IS NULL AND ST_Touches(a.geom, b.geom)
                  AND ST_Dimension(ST_Intersection(a.geom, b.geom)) = 1
            )
            SELECT a, b, ST_X(p) AS lon, ST_Y(p) AS lat FROM pair ORDER BY a, b LIMIT 1
            """
        )
    ).one_or_none()
    assert shared is not None, "the demo city has grids sharing an edge"
    candidates = (
        db_session.execute(
            text(
                "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL "
                "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY code"
            ),
            {"lon": shared.lon, "lat": shared.lat},
        )
        .scalars()
        .all()
    )
    body = client.get("/api/v1/locate", params={"lon": shared.lon, "lat": shared.lat}).json()
    assert body["grid"]["code"] == candidates[0]
    assert len(candidates) >= 1


def test_outside_every_grid_gives_nulls_and_nearest_grid(client: TestClient, db_session: Session):
    lon, lat = 106.5, 35.0
    response = client.get("/api/v1/locate", params={"lon": lon, "lat": lat})
    assert response.status_code == 200
    body = response.json()
    assert body["grid"] is None and body["community"] is None and body["street"] is None
    assert body["staff"] is None and body["party_branch"] is None
    nearest = db_session.execute(
        text(
            """
            SELECT code, ST_Distance(geom::geography,
                                     ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d
            FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY d, code LIMIT 1
            """
        ),
        {"lon": lon, "lat": lat},
    ).one()
    assert body["nearest_grid"]["code"] == nearest.code
    assert body["nearest_grid"]["distance_m"] == pytest.approx(nearest.d, abs=0.01)


@pytest.mark.parametrize("crs", ["GCJ02", "bd09", "EPSG:3857", "EPSG:4526"])
def test_locate_in_other_crs_lands_in_the_same_grid(
    client: TestClient, db_session: Session, crs: str
):
    point = anchors(db_session, 1)[0]
    x, y = from_wgs84(point["lon"], point["lat"], crs)
    body = client.get("/api/v1/locate", params={"lon": x, "lat": y, "crs": crs}).json()
    assert body["grid"]["code"] == point["grid"]
    assert body["building"]["code"] == point["building"]
    assert body["point"]["lon"] == pytest.approx(point["lon"], abs=1e-8)
    assert body["point"]["lat"] == pytest.approx(point["lat"], abs=1e-8)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"lon": 200, "lat": 35}, "lon"),
        ({"lon": 106.6, "lat": 95}, "lat"),
        ({"lon": "nan", "lat": 35}, "lon"),
        ({"lon": 106.6, "lat": "inf"}, "lat"),
        ({"lon": 106.6, "lat": 35.2, "crs": "EPSG:999999"}, "crs"),
        ({"lon": 106.6, "lat": 35.2, "crs": "mars"}, "crs"),
    ],
)
def test_bad_input_is_a_400_problem_naming_the_parameter(
    client: TestClient, params: dict, parameter: str
):
    response = client.get("/api/v1/locate", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["parameter"] == parameter
    assert parameter in body["detail"]


def test_missing_or_non_numeric_lon_is_422_naming_it(client: TestClient):
    response = client.get("/api/v1/locate", params={"lon": "east", "lat": 35})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e["parameter"].endswith("lon") for e in response.json()["errors"])
