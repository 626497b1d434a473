"""OGC API responses against the standards' own schemas (vendored in tests/schemas/ogcapi).

OGC API – Features Part 1 (opengeospatial/ogcapi-features ``core/openapi/schemas``): landing
page, conformance, collections, collection, items. OGC API – Tiles Part 1
(opengeospatial/ogcapi-tiles ``openapi/schemas`` and two response definitions): tilesets list,
TileSet, tile matrix sets list, TileMatrixSet. Formats (``uri``, ``date-time``) are checked.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from fastapi.testclient import TestClient

from gis.tilematrixsets import TILE_MATRIX_SETS

SCHEMAS = Path(__file__).parents[1] / "schemas" / "ogcapi"
BASE_URI = "https://schemas.ogcapi.invalid/"
FEATURES = "features/core/openapi/schemas/"
TILES = "tiles/openapi/schemas/"
TILES_RESPONSES = "tiles/openapi/responses/tiles-core/"


def _null_types(node: Any) -> Any:
    """The Features schemas write ``type: null`` unquoted, which YAML reads as no value; they
    mean the JSON type ``"null"`` (OpenAPI 3.1), so read them so, leaving the files as published."""
    if isinstance(node, dict):
        return {k: _type_names(v) if k == "type" else _null_types(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_null_types(v) for v in node]
    return node


def _type_names(value: Any) -> Any:
    if isinstance(value, list):
        return ["null" if v is None else v for v in value]
    return "null" if value is None else _null_types(value)


@cache
def _documents() -> dict[str, Any]:
    return {
        str(p.relative_to(SCHEMAS)): _null_types(yaml.safe_load(p.read_text()))
        for p in SCHEMAS.rglob("*.yaml")
    }


def _schema(name: str) -> dict[str, Any]:
    """A vendored schema, or the JSON schema of a vendored OpenAPI response definition."""
    document = _documents()[name]
    if "content" in document:
        return dict(document["content"]["application/json"]["schema"])
    return dict(document)


@cache
def validator(name: str) -> jsonschema_rs.Validator:
    registry = jsonschema_rs.Registry([(BASE_URI + n, d) for n, d in _documents().items()])
    return jsonschema_rs.Draft202012Validator(
        _schema(name), validate_formats=True, registry=registry, base_uri=BASE_URI + name
    )


def errors(name: str, instance: Any) -> list[str]:
    return [f"{e.instance_path}: {e.message}" for e in validator(name).iter_errors(instance)]


def test_the_vendored_schemas_catch_what_they_should() -> None:
    tileset = {
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "links": [{"rel": "self", "href": "https://example.invalid/t"}],
    }
    assert errors(TILES + "tms/tileSet.yaml", tileset) == []
    assert errors(TILES + "tms/tileSet.yaml", {**tileset, "dataType": 3})
    assert errors(TILES + "tms/tileSet.yaml", {k: v for k, v in tileset.items() if k != "crs"})
    assert errors(TILES + "tms/tileSet.yaml", {**tileset, "tileMatrixSetURI": "not a uri"})
    assert errors(FEATURES + "landingPage.yaml", {"title": "no links"})
    bad_extent = {"id": "x", "links": [], "extent": {"spatial": {"bbox": [[1, 2, 3]]}}}
    assert errors(FEATURES + "collection.yaml", bad_extent)


FEATURES_DOCUMENTS = [
    ("/ogc", FEATURES + "landingPage.yaml"),
    ("/ogc/conformance", FEATURES + "confClasses.yaml"),
    ("/ogc/collections", FEATURES + "collections.yaml"),
    ("/ogc/collections/grids", FEATURES + "collection.yaml"),
    ("/ogc/collections/incidents", FEATURES + "collection.yaml"),  # with a temporal extent
    ("/ogc/collections/grids/items?limit=5", FEATURES + "featureCollectionGeoJSON.yaml"),
    ("/ogc/collections/buildings/items?limit=5", FEATURES + "featureCollectionGeoJSON.yaml"),
    ("/ogc/collections/party_orgs/items?limit=5", FEATURES + "featureCollectionGeoJSON.yaml"),
]


@pytest.mark.parametrize(("path", "schema"), FEATURES_DOCUMENTS)
def test_features_documents_validate(client: TestClient, path: str, schema: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert errors(schema, body) == []
    if "items" in path:
        assert body["features"], "an empty collection would validate vacuously"


def test_every_collection_validates(client: TestClient) -> None:
    collections = client.get("/ogc/collections").json()["collections"]
    assert len(collections) > 3
    for collection in collections:
        assert errors(FEATURES + "collection.yaml", collection) == [], collection["id"]


TILES_DOCUMENTS = [
    ("/ogc/tileMatrixSets", TILES_RESPONSES + "rTileMatrixSetsList.yaml"),
    ("/ogc/collections/grids/tiles", TILES_RESPONSES + "rTileSetsList.yaml"),
    ("/ogc/collections/buildings/tiles", TILES_RESPONSES + "rTileSetsList.yaml"),
]


@pytest.mark.parametrize(("path", "schema"), TILES_DOCUMENTS)
def test_tiles_lists_validate(client: TestClient, path: str, schema: str) -> None:
    body = client.get(path).json()
    assert errors(schema, body) == []
    items = body.get("tilesets") or body.get("tileMatrixSets")
    assert len(items) == len(TILE_MATRIX_SETS)
    item_schema = TILES + (
        "tms/tileSet-item.yaml" if "tilesets" in body else "tms/tileMatrixSet-item.yaml"
    )
    for item in items:
        assert errors(item_schema, item) == []


@pytest.mark.parametrize("tms", list(TILE_MATRIX_SETS))
@pytest.mark.parametrize("collection", ["grids", "buildings", "service_facilities"])
def test_tileset_validates(client: TestClient, collection: str, tms: str) -> None:
    body = client.get(f"/ogc/collections/{collection}/tiles/{tms}").json()
    assert errors(TILES + "tms/tileSet.yaml", body) == []
    assert body["tileMatrixSetLimits"] and body["layers"]


@pytest.mark.parametrize("tms", list(TILE_MATRIX_SETS))
def test_tile_matrix_set_validates(client: TestClient, tms: str) -> None:
    body = client.get(f"/ogc/tileMatrixSets/{tms}").json()
    assert errors(TILES + "tms/tileMatrixSet.yaml", body) == []
    assert body["id"] == tms and body["tileMatrices"]
