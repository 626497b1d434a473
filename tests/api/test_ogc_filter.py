"""OGC API – Features Part 3: queryables and CQL2 filters (text and JSON), checked against SQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

ITEMS = "/ogc/collections/{}/items"
PART3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"


def matched(client: TestClient, collection: str, **params: str) -> int:
    response = client.get(ITEMS.format(collection), params={"limit": "1", **params})
    assert response.status_code == 200, response.text[:500]
    return int(response.json()["numberMatched"])


def scalar(session: Session, sql: str, **params: object) -> int:
    return int(session.execute(text(sql), params).scalar_one())


def test_conformance_declares_filtering_and_cql2(client: TestClient) -> None:
    classes = set(client.get("/ogc/conformance").json()["conformsTo"])
    for name in ("queryables", "queryables-query-parameters", "filter", "features-filter"):
        assert PART3 + name in classes
    for name in ("basic-cql2", "cql2-text", "cql2-json", "basic-spatial-functions"):
        assert CQL2 + name in classes
    # not implemented, so not claimed
    for name in ("temporal-functions", "case-insensitive-comparison", "arithmetic"):
        assert CQL2 + name not in classes


def test_queryables_are_a_json_schema_linked_from_the_collection(client: TestClient) -> None:
    collection = client.get("/ogc/collections/incidents").json()
    link = next(x for x in collection["links"] if x["rel"].endswith("/rel/ogc/1.0/queryables"))
    response = client.get(link["href"].replace("http://testserver", ""))
    assert response.headers["content-type"].startswith("application/schema+json")
    schema = response.json()
    jsonschema_rs.Draft202012Validator(schema)  # a valid JSON Schema
    props = schema["properties"]
    assert props["status"]["type"] == "string"
    assert props["reported_at"] == {
        "title": "Reported 上报时间",
        "type": "string",
        "format": "date-time",
    }
    assert props["geometry"]["format"] == "geometry-point"
    assert "reporter_name" not in props and "reporter_phone" not in props  # personal


def test_cql2_text_and_json_match_sql(client: TestClient, db_session: Session) -> None:
    box = db_session.execute(
        text(
            "SELECT ST_XMin(e) w, ST_YMin(e) s, ST_XMax(e) e, ST_YMax(e) n FROM (SELECT "
            "ST_Extent(geom) e FROM area WHERE level = 'grid' AND valid_to IS NULL) q"
        )
    ).one()
    w, s = box.w, box.s
    e, n = (box.w + box.e) / 2, (box.s + box.n) / 2  # the south-west quarter
    community = db_session.execute(
        text("SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL LIMIT 1")
    ).scalar_one()
    expected = scalar(
        db_session,
        "SELECT count(*) FROM area g JOIN area c ON c.id = g.parent_id WHERE g.level = 'grid' "
        "AND g.valid_to IS NULL AND (c.code <> :c OR g.code LIKE :p) "
        "AND ST_Intersects(g.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))",
        c=community,
        p=community + "00%",
        w=w,
        s=s,
        e=e,
        n=n,
    )
    cql_text = (
        f"(parent_code <> '{community}' OR code LIKE '{community}00%') AND "
        f"S_INTERSECTS(geometry, BBOX({w}, {s}, {e}, {n}))"
    )
    assert 0 < matched(client, "grids", filter=cql_text) == expected
    as_json = {
        "op": "and",
        "args": [
            {
                "op": "or",
                "args": [
                    {"op": "<>", "args": [{"property": "parent_code"}, community]},
                    {"op": "like", "args": [{"property": "code"}, community + "00%"]},
                ],
            },
            {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [w, s, e, n]}]},
        ],
    }
    assert matched(client, "grids", filter=json.dumps(as_json), **{"filter-lang": "cql2-json"}) == (
        expected
    )
    # IN, NOT, and a polygon literal with S_WITHIN
    polygon = f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))"
    within = scalar(
        db_session,
        "SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL "
        "AND ST_Within(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326)) AND kind IN ('综合网格')",
        w=w,
        s=s,
        e=e,
        n=n,
    )
    got = matched(client, "grids", filter=f"S_WITHIN(geometry, {polygon}) AND kind IN ('综合网格')")
    assert got == within


def test_temporal_and_typed_filters_on_incidents(client: TestClient, db_session: Session) -> None:
    start = datetime.now(UTC) - timedelta(days=10)
    expected = scalar(
        db_session,
        "SELECT count(*) FROM incident WHERE reported_at >= :t AND status <> 'closed'",
        t=start,
    )
    got = matched(
        client,
        "incidents",
        filter=f"T_INTERSECTS(reported_at, INTERVAL('{start.isoformat()}', '..')) "
        "AND NOT status = 'closed'",
    )
    assert got == expected
    overdue = scalar(
        db_session,
        "SELECT count(*) FROM incident WHERE status NOT IN ('closed','evaluated','rejected') "
        "AND due_at < now()",
    )
    assert matched(client, "incidents", filter="overdue = true") == overdue


@pytest.mark.parametrize(
    ("cql", "fragment"),
    [
        ("status = ", "not valid cql2-text"),
        ("secret = 'x'", "not a queryable"),
        ("reporter_name = '张三'", "not a queryable"),  # personal: never an oracle
        ("rating = 'five'", "number"),
        ("status = 3", "text"),
        ("reported_at > 'yesterday'", "time"),
        ("S_INTERSECTS(status, POINT(1 2))", "geometry"),
        ("CASEI(status) = 'closed'", "not supported"),
    ],
)
def test_bad_filters_are_400_with_what_to_fix(client: TestClient, cql: str, fragment: str) -> None:
    response = client.get(ITEMS.format("incidents"), params={"filter": cql})
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and fragment in body["description"]


def test_filter_values_are_parameters_not_sql(client: TestClient, db_session: Session) -> None:
    grids = scalar(
        db_session, "SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL"
    )
    assert matched(client, "grids", filter="name = 'x'' OR ''1''=''1'") == 0
    assert matched(client, "grids", filter="name <> 'x'';DROP TABLE area;--'") == grids
    assert scalar(db_session, "SELECT count(*) FROM area") > 0
