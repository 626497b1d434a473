"""OWSLib's OGC API – Features client (``owslib.ogcapi.features.Features``) against a live server:
service-desc discovery, conformance, collections, items (with a CQL2 filter), one item and the
queryables, compared with the database."""

from __future__ import annotations

import psycopg
import pytest
from owslib.ogcapi.features import Features

from gis.collections import COLLECTIONS
from tests.conftest import LiveServer

GRIDS = "SELECT code, name FROM area WHERE level = 'grid' AND valid_to IS NULL"


@pytest.fixture(scope="module")
def features(live_server: LiveServer) -> Features:
    return Features(f"{live_server.url}/ogc", timeout=120)


def test_owslib_finds_the_openapi_service_description(features: Features) -> None:
    document = features.api()
    assert document["openapi"].startswith("3.0")
    assert "/collections/{collection_id}/items" in document["paths"]


def test_owslib_reads_the_conformance_and_collections(features: Features) -> None:
    conforms = features.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset" in conforms
    public = {c.id for c in COLLECTIONS.values() if not c.personal}
    assert set(features.feature_collections()) == public
    grids = features.collection("grids")
    assert grids["id"] == "grids" and len(grids["extent"]["spatial"]["bbox"][0]) == 4


def test_owslib_items_equal_the_database(features: Features, demo_database_url: str) -> None:
    with psycopg.connect(demo_database_url) as conn:
        expected = dict(conn.execute(GRIDS).fetchall())
    body = features.collection_items("grids", limit=10_000)
    assert body["numberMatched"] == len(expected) == body["numberReturned"] > 0
    got = {f["properties"]["code"]: f["properties"]["name"] for f in body["features"]}
    assert got == expected
    code = sorted(expected)[0]
    one = features.collection_item("grids", code)
    assert one["properties"]["code"] == code and one["geometry"]["type"] == "MultiPolygon"


def test_owslib_sends_a_cql2_filter(features: Features, demo_database_url: str) -> None:
    with psycopg.connect(demo_database_url) as conn:
        row = conn.execute(
            "SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL LIMIT 1"
        ).fetchone()
        assert row is not None
        expected = {
            r[0]
            for r in conn.execute(
                GRIDS + " AND parent_id = (SELECT id FROM area WHERE code = %s "
                "AND valid_to IS NULL)",
                (row[0],),
            ).fetchall()
        }
    queryables = features.collection_queryables("grids")
    assert {"code", "parent_code", "geometry"} <= set(queryables["properties"])
    body = features.collection_items("grids", filter=f"parent_code = '{row[0]}'", limit=1000)
    assert {f["properties"]["code"] for f in body["features"]} == expected and expected
