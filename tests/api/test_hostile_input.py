"""Hostile input: every attack is a 4xx with a clear message, nothing is written, the server lives.

Oversized bodies, deeply nested JSON, a polygon with a million vertices, NaN/Infinity, coordinates
out of range, injection strings in filters and search, unknown CRS and a bbox spanning the world.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from gis.accounts import create_api_client
from gis.db import get_session
from tests.api.security_helpers import add_account, demo_areas, token_for
from tests.api.test_access_matrix import (
    STREAMING_PATH,
    SYNTHETIC,
    Samples,
    build_samples,
    iter_routes,
    path_candidates,
    query_sample,
)

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
def hostile(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    # Hundreds of requests from one client, sign-in forms included: rate limits are tested
    # elsewhere.
    monkeypatch.setenv("GRIDGOV_RATE_PUBLIC_PER_MINUTE", "1000000")
    monkeypatch.setenv("GRIDGOV_RATE_SIGN_IN_PER_MINUTE", "1000000")
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


# --- every parameter and body field of every route, generated from the OpenAPI document ------
#
# One hostile value at a time in one parameter or body field of an otherwise plausible request
# (path values from the demo city, the rest from the schema's examples, enums and defaults), as
# an admin so that the request gets past sign-in. Values the database cannot hold must be
# refused at the edge with a 4xx saying what to fix; nothing may answer 5xx.

API_KEY: list[str] = []  # an Open311 client's key, made per test (the fixture below)
HOSTILE_VALUES: dict[str, Any] = {
    "nul": "a\x00b",
    "long": "x" * 10_000,
    "beyond-bigint": 9223372036854775808,
    "below-bigint": -9223372036854775809,
    "date-max": "9999-12-31T23:59:59Z",
    "date-min": "0001-01-01T00:00:00+08:00",
}
# What the database cannot hold: refused with 400 by api/input_limits.py wherever it appears.
REFUSED_AT_THE_EDGE = frozenset({"nul", "beyond-bigint", "below-bigint", "date-max", "date-min"})
GUARDED_MEDIA = frozenset({"application/json", "application/x-www-form-urlencoded"})
# Sensible bodies where the schema alone cannot make one (codes with patterns, points).
BASE_BODIES: dict[tuple[str, str], Callable[[Samples], Any]] = {
    ("POST", "/api/v1/incidents"): lambda s: _incident(*s.point),
    ("POST", "/api/v1/service-orders"): lambda s: {
        "service_type": "维修",
        "description": "水管漏水",
        "requester_name": "王阿姨",
        "community_code": s.areas.community,
    },
    ("POST", "/api/v1/plan/drafts"): lambda s: {"scope_code": s.areas.community},
    ("POST", "/api/v1/plan/drafts/{changeset_id}/operations"): lambda s: {
        "kind": "merge",
        "codes": [s.areas.grid, s.areas.sibling_grid],
    },
    ("POST", "/api/v1/plan/repair-preview"): lambda s: {
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[106.6, 35.2], [106.61, 35.2], [106.61, 35.21], [106.6, 35.2]]],
        }
    },
    ("POST", "/open311/v2/requests.{fmt}"): lambda s: {
        "api_key": API_KEY[0],
        "service_code": "E01",
        "lat": str(s.point[1]),
        "long": str(s.point[0]),
        "description": "垃圾堆积",
    },
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"): lambda s: {
        "api_key": API_KEY[0],
        "service_request_id": s.incidents[0],
        "description": "还没有处理",
    },
    ("POST", "/api/v1/auth/token"): lambda s: {"username": "hostile", "password": "x"},
    ("POST", "/login"): lambda s: {"username": "hostile", "password": "x"},
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    parameters: tuple[tuple[str, str, bool], ...]  # (in, name, required)
    media: str | None  # the request body's media type
    body_schema: dict[str, Any] | None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _example(schema: dict[str, Any], document: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for ``schema``: its example, enum, default, else the simplest one."""
    schema = _resolve(schema, document)
    for key in ("examples", "example"):
        if key in schema:
            value = schema[key]
            return value[0] if key == "examples" and isinstance(value, list) else value
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("default") is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, document).get("type") != "null"]
            return _example(options[0], document, depth) if options else None
    kind = schema.get("type")
    if kind == "object" and depth < 4:
        properties = schema.get("properties", {})
        return {
            name: _example(properties[name], document, depth + 1)
            for name in schema.get("required", [])
            if name in properties
        }
    if kind == "array":
        return [_example(schema.get("items", {}), document, depth + 1)] * schema.get("minItems", 0)
    return {"integer": 1, "number": 1.0, "boolean": False}.get(str(kind), "x")


def _fields(
    schema: dict[str, Any], document: dict[str, Any], depth: int = 0
) -> list[tuple[str, ...]]:
    """Every property path of an object schema (nested objects included)."""
    schema = _resolve(schema, document)
    paths: list[tuple[str, ...]] = []
    for name, sub in schema.get("properties", {}).items():
        paths.append((name,))
        resolved = _resolve(sub, document)
        if (resolved.get("type") == "object" or "properties" in resolved) and depth < 2:
            paths += [(name, *p) for p in _fields(resolved, document, depth + 1)]
    return paths


def _operations() -> list[Operation]:
    app = create_app()
    document = app.openapi()
    found: dict[tuple[str, str], Operation] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            parameters = tuple(
                (p["in"], p["name"], bool(p.get("required"))) for p in op.get("parameters", [])
            )
            content = op.get("requestBody", {}).get("content", {})
            media = next(iter(content), None)
            schema = content[media]["schema"] if media else None
            found[(method.upper(), path)] = Operation(
                method.upper(), path, parameters, media, schema
            )
    # Pages and sign-in forms are left out of the document (include_in_schema=False); FastAPI
    # builds the document from the same dependants, so they are read from there.
    for info in iter_routes(app):
        if (info.method, info.path) in found or not hasattr(info.route, "dependant"):
            continue
        dependant = info.route.dependant
        parameters = tuple(
            [("path", p.alias, True) for p in dependant.path_params]
            + [("query", p.alias, p.field_info.is_required()) for p in dependant.query_params]
            + [("header", p.alias, p.field_info.is_required()) for p in dependant.header_params]
        )
        form = [p.alias for p in dependant.body_params]
        schema = (
            {
                "type": "object",
                "properties": {n: {"type": "string"} for n in form},
                "required": form,
            }
            if form
            else None
        )
        found[(info.method, info.path)] = Operation(
            info.method,
            info.path,
            parameters,
            "application/x-www-form-urlencoded" if form else None,
            schema,
        )
    return sorted(found.values(), key=lambda o: o.label)


OPERATIONS = _operations()
DOCUMENT = create_app().openapi()


def _set(body: Any, path: tuple[str, ...], value: Any) -> Any:
    body = json.loads(json.dumps(body)) if body is not None else {}
    node = body
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value
    return body


def _base_path(op: Operation, samples: Samples) -> str:
    path = op.path
    for where, name, _ in op.parameters:
        if where == "path":
            values = path_candidates(name, op.path, samples) or ["1"]
            path = path.replace("{" + name + "}", values[0].removeprefix(SYNTHETIC))
    return path


def _base_query(op: Operation, samples: Samples) -> dict[str, str]:
    query = {}
    for where, name, required in op.parameters:
        if where == "query" and required:
            query[name] = query_sample(name, samples) or "1"
    return query


@pytest.fixture
def generated(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], db_session: Session
) -> tuple[TestClient, dict[str, str], Samples]:
    client, _ = hostile
    areas = demo_areas(db_session)
    add_account(db_session, "hostile_admin", "admin", areas.district)
    headers = {"Authorization": f"Bearer {token_for(db_session, 'hostile_admin')}"}
    samples = build_samples(db_session, areas)
    API_KEY[:] = [create_api_client(db_session, "hostile-app")[1]]
    db_session.commit()
    return client, headers, samples


@pytest.mark.parametrize("op", OPERATIONS, ids=[o.label for o in OPERATIONS])
def test_no_hostile_value_in_any_parameter_or_field_is_a_server_error(
    generated: tuple[TestClient, dict[str, str], Samples], op: Operation
) -> None:
    client, headers, samples = generated
    base_path = _base_path(op, samples)
    base_query = _base_query(op, samples)
    make_body = BASE_BODIES.get((op.method, op.path))
    base_body = (
        make_body(samples)
        if make_body
        else (_example(op.body_schema, DOCUMENT) if op.body_schema else None)
    )
    targets: list[tuple[str, Any]] = [(w, n) for w, n, _ in op.parameters]
    if op.body_schema is not None:
        targets += [("body", f) for f in _fields(op.body_schema, DOCUMENT)]
    problems = []
    sent = 0
    for where, target in targets:
        for case, value in HOSTILE_VALUES.items():
            path, query, body = base_path, dict(base_query), base_body
            extra_headers: dict[str, str] = {}
            if where == "path":
                placeholder = "{" + target + "}"
                path = op.path
                for w, n, _ in op.parameters:
                    if w == "path" and n != target:
                        candidates = path_candidates(n, op.path, samples) or ["1"]
                        path = path.replace("{" + n + "}", candidates[0].removeprefix(SYNTHETIC))
                path = path.replace(placeholder, quote(str(value), safe=""))
            elif where == "query":
                query[target] = str(value)
            elif where == "header":
                if case == "nul":
                    continue  # HTTP/1.1 cannot carry a NUL in a header
                extra_headers[target] = str(value)
            else:
                body = _set(base_body, target, value)
            kwargs: dict[str, Any] = {"params": query, "headers": {**headers, **extra_headers}}
            if op.media == "application/json":
                kwargs["content"] = json.dumps(body if body is not None else {})
                kwargs["headers"]["Content-Type"] = "application/json"
            elif op.media == "multipart/form-data":
                fields = {k: str(v) for k, v in (body or {}).items() if k != "file"}
                kwargs["files"] = {"file": ("x.geojson", b"{}", "application/geo+json")}
                kwargs["data"] = fields
            elif op.media:
                kwargs["data"] = {k: str(v) for k, v in (body or {}).items()}
            if STREAMING_PATH.search(op.path) and target != "timeout":
                kwargs["params"].setdefault("timeout", "0.2")  # the stream ends by itself
            response = client.request(op.method, path, **kwargs)
            sent += 1
            label = f"{case} in {where} {'.'.join(target) if isinstance(target, tuple) else target}"
            if response.status_code >= 500:
                problems.append(f"{label}: {response.status_code} {response.text[:160]}")
            elif case in REFUSED_AT_THE_EDGE and (
                where in ("path", "query") or (where == "body" and op.media in GUARDED_MEDIA)
            ):
                # The guard refuses it before routing, whatever the route does with it.
                says_why = "accepted" in response.text or "NUL" in response.text
                if response.status_code != 400 or not says_why:
                    problems.append(
                        f"{label}: not refused: {response.status_code} {response.text[:160]}"
                    )
    assert not problems, f"{op.label}: {len(problems)} wrong answers:\n" + "\n".join(problems)
    assert sent or not targets


@pytest.mark.parametrize(
    ("method", "path", "request_args", "names"),
    [
        ("GET", "/api/v1/search", {"params": {"q": "张\x00"}}, "q"),
        ("GET", "/api/v1/areas", {"params": {"offset": "9223372036854775808"}}, "offset"),
        (
            "GET",
            "/open311/v2/requests.json",
            {"params": {"start_date": "9999-12-31T23:59:59Z"}},
            "start_date",
        ),
        ("POST", "/login", {"data": {"username": "admin\x00", "password": "x"}}, "username"),
        (
            "POST",
            "/api/v1/auth/token",
            {"data": {"username": "a", "password": "\x00"}},
            "password",
        ),
        (
            "POST",
            "/api/v1/incidents",
            {"json": _incident(106.65, 35.22, description="路灯\x00损坏")},
            "JSON body",
        ),
    ],
)
def test_what_the_database_cannot_hold_is_refused_with_the_reason(
    hostile: tuple[TestClient, dict[str, dict[str, str]]],
    db_session: Session,
    method: str,
    path: str,
    request_args: dict[str, Any],
    names: str,
) -> None:
    client, headers = hostile
    before = _counts(db_session)
    response = client.request(method, path, headers=headers["worker"], **request_args)
    assert response.status_code == 400, response.text
    text = response.text
    assert names in text and ("NUL" in text or "accepted" in text), text
    assert _counts(db_session) == before


def test_a_10000_character_email_to_open311_is_refused(
    hostile: tuple[TestClient, dict[str, dict[str, str]]], db_session: Session
) -> None:
    client, _ = hostile
    _, key = create_api_client(db_session, "long-email-app")
    before = _counts(db_session)
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "E01",
            "lat": "35.22",
            "long": "106.65",
            "description": "垃圾",
            "email": "a" * 10_000 + "@example.com",
        },
    )
    assert response.status_code == 400, response.text
    assert response.json() == [{"code": 400, "description": "email is longer than 254 characters"}]
    assert _counts(db_session) == before
