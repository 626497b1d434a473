"""Hostile input: every attack is a 4xx with a clear message, nothing is written, the server lives.

Oversized bodies, deeply nested JSON, a polygon with a million vertices, NaN/Infinity, coordinates
out of range, injection strings in filters and search, unknown CRS and a bbox spanning the world.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from gis.db import get_session
from tests.api.security_helpers import add_account, demo_areas, token_for

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE resident; --",
    "%' UNION SELECT name, id_number, phone FROM resident --",
    "\\x00\\u0000",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "${jndi:ldap://x}",
]
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9X](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
WRITTEN_TABLES = ("incident", "audit_log", "app_user", "household", "resident", "area")


@pytest.fixture
def hostile(db_session: Session) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    app = create_app()

    def _session() -> Iterator[Session]:
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    areas = demo_areas(db_session)
    add_account(db_session, "worker", "grid_worker", areas.grid)
    add_account(db_session, "planner", "planner", areas.district)
    headers = {
        name: {"Authorization": f"Bearer {token_for(db_session, name)}"}
        for name in ("worker", "planner")
    }
    # Persist the accounts in the test's outer transaction: a failed request rolls back only
    # its own savepoint, never them.
    db_session.commit()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, headers


def _counts(session: Session, tables: tuple[str, ...] = WRITTEN_TABLES) -> dict[str, int]:
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def _problem(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    body = response.json()
    detail = body.get("detail") or body.get("description") or ""
    assert isinstance(detail, (str, list)) and detail, body
    return body


def _incident(lon: Any, lat: Any, **extra: Any) -> dict[str, Any]:
    return {
        "category": "市容环境",
        "description": "路灯损坏",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        **extra,
    }


def test_oversized_bodies_are_413_and_nothing_is_written(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], db_session: Session
) -> None:
    client, headers = hostile
    before = _counts(db_session)
    huge = json.dumps(_incident(106.65, 35.22, address="x" * (3 * 1024 * 1024)))
    response = client.post(
        "/api/v1/incidents",
        content=huge,
        headers={**headers["worker"], "Content-Type": "application/json"},
    )
    body = _problem(response, 413)
    assert "bytes" in body["detail"]
    # A lying Content-Length is refused before the body is read.
    lying = client.post(
        "/api/v1/incidents",
        content=b"{}",
        headers={
            **headers["worker"],
            "Content-Type": "application/json",
            "Content-Length": str(50 * 1024 * 1024),
        },
    )
    assert lying.status_code in (400, 413)
    assert _counts(db_session) == before


def test_a_polygon_with_a_million_vertices_is_refused(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], db_session: Session
) -> None:
    client, headers = hostile
    before = _counts(db_session)
    ring = [[106.6 + (i % 1000) * 1e-5, 35.2 + (i // 1000) * 1e-5] for i in range(1_000_000)]
    ring.append(ring[0])
    body = json.dumps({"geometry": {"type": "Polygon", "coordinates": [ring]}})
    started = time.monotonic()
    response = client.post(
        "/api/v1/plan/repair-preview",
        content=body,
        headers={**headers["planner"], "Content-Type": "application/json"},
    )
    _problem(response, 413)
    assert time.monotonic() - started < 5
    assert _counts(db_session) == before


@pytest.mark.parametrize("depth", [40, 10_000])
def test_deeply_nested_json_is_400(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], depth: int
) -> None:
    client, headers = hostile
    nested = "[" * depth + "]" * depth
    response = client.post(
        "/api/v1/incidents",
        content=f'{{"category": "市容环境", "description": {nested}}}',
        headers={**headers["worker"], "Content-Type": "application/json"},
    )
    assert "nest" in _problem(response, 400)["detail"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_json_are_400(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], db_session: Session, token: str
) -> None:
    client, headers = hostile
    before = _counts(db_session)
    raw = json.dumps(_incident(0, 35.22)).replace("[0, 35.22]", f"[{token}, 35.22]")
    response = client.post(
        "/api/v1/incidents",
        content=raw,
        headers={**headers["worker"], "Content-Type": "application/json"},
    )
    assert "NaN" in _problem(response, 400)["detail"]
    assert _counts(db_session) == before


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(200.0, 35.2), (106.6, -95.0), ("1e400", 35.2), (106.6, "-1e999")],
)
def test_coordinates_out_of_range_are_4xx_and_not_written(
    hostile: tuple[TestClient, dict[str, dict[str, str]]],
    db_session: Session,
    lon: Any,
    lat: Any,
) -> None:
    client, headers = hostile
    before = _counts(db_session)
    raw = json.dumps(_incident("LON", "LAT")).replace('"LON"', str(lon)).replace('"LAT"', str(lat))
    response = client.post(
        "/api/v1/incidents",
        content=raw,
        headers={**headers["worker"], "Content-Type": "application/json"},
    )
    _problem(response, (400, 422))
    assert _counts(db_session) == before


def test_unknown_crs_is_4xx(hostile: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, headers = hostile
    response = client.post(
        "/api/v1/incidents",
        json=_incident(106.65, 35.22, crs="EPSG:99999"),
        headers=headers["worker"],
    )
    _problem(response, (400, 422))
    locate = client.get("/api/v1/locate", params={"lon": 106.65, "lat": 35.22, "crs": "EPSG:99999"})
    _problem(locate, (400, 422))
    ogc = client.get(
        "/ogc/collections/grids/items",
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/99999"},
    )
    _problem(ogc, 400)


@pytest.mark.parametrize(
    "params",
    [
        {"lon": "nan", "lat": "35.2"},
        {"lon": "inf", "lat": "35.2"},
        {"lon": "200", "lat": "35.2"},
        {"lon": "106.6", "lat": "-91"},
    ],
)
def test_locate_refuses_impossible_points(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], params: dict[str, str]
) -> None:
    client, _ = hostile
    _problem(client.get("/api/v1/locate", params=params), (400, 422))


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/areas", "bbox"),
        ("/api/v1/incidents", "bbox"),
        ("/api/v1/incidents/aggregates", "bbox"),
    ],
)
def test_a_world_spanning_bbox_is_refused_with_a_reason(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], path: str, parameter: str
) -> None:
    client, headers = hostile
    response = client.get(path, params={parameter: "-180,-90,180,90"}, headers=headers["worker"])
    body = _problem(response, (400, 422))
    assert "bbox" in json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("injection", INJECTIONS)
def test_injection_strings_in_filters_and_search_change_nothing(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], db_session: Session, injection: str
) -> None:
    client, headers = hostile
    # Reads with a purpose are audited by design; every other table must stay as it was.
    data_tables = tuple(t for t in WRITTEN_TABLES if t != "audit_log")
    before = _counts(db_session, data_tables)
    probes = [
        ("/api/v1/search", {"q": injection}),
        ("/api/v1/areas", {"q": injection}),
        ("/api/v1/areas", {"within": injection}),
        ("/api/v1/areas", {"bbox": injection}),
        ("/api/v1/incidents", {"status": injection, "within": injection}),
        ("/api/v1/households", {"within": injection}),
        ("/api/v1/households", {"purpose": injection}),
        ("/ogc/collections/grids/items", {"bbox": injection}),
        ("/ogc/collections/grids/items", {"datetime": injection}),
        ("/open311/v2/requests.json", {"service_code": injection, "status": injection}),
    ]
    for path, params in probes:
        for who in ({}, headers["worker"]):
            response = client.get(path, params=params, headers=who)
            assert response.status_code < 500, (path, params, response.status_code)
            if not who and response.status_code == 200:
                # An injected UNION would bring back ID numbers or phones; the public sees none.
                assert not ID_NUMBER.search(response.text), (path, params)
                assert not MOBILE.search(response.text), (path, params)
    assert _counts(db_session, data_tables) == before
    assert client.get("/api/v1/health").json()["database"] is True


def test_the_server_stays_up_and_fast_after_the_barrage(
    hostile: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = hostile
    for _ in range(3):
        client.post(
            "/api/v1/incidents",
            content="[" * 5000,
            headers={**headers["worker"], "Content-Type": "application/json"},
        )
        client.post("/api/v1/incidents", content=b"\xff\xfe garbage", headers=headers["worker"])
    started = time.monotonic()
    assert client.get("/api/v1/health").status_code == 200
    assert time.monotonic() - started < 2
