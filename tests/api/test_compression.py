"""Responses are gzipped for clients that accept it: large JSON/GeoJSON and pages, not tiles twice,
not small answers; the decoded body is the uncompressed one (api/compression.py).
Event streams are checked in tests/api/test_incident_stream.py (never encoded)."""

from __future__ import annotations

import gzip
import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.compression import MINIMUM_BYTES
from gis.queries.tiles import invalidate_tile_cache
from tests.api.test_ogc_tiles import GRIDS, _tile_of_centre

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def _raw(client: TestClient, url: str, headers: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """Headers and the bytes as sent (not decoded by the client)."""
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, response.read()[:300]
        return dict(response.headers), b"".join(response.iter_raw())


def test_geojson_items_are_gzipped_and_decode_to_the_same_bytes(client: TestClient) -> None:
    url = "/ogc/collections/grids/items?limit=50"
    zipped_headers, zipped = _raw(client, url, GZIP)
    plain_headers, plain = _raw(client, url, IDENTITY)
    assert zipped_headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped_headers["vary"].lower()
    assert "content-encoding" not in plain_headers
    unzipped, plain_body = json.loads(gzip.decompress(zipped)), json.loads(plain)
    unzipped.pop("timeStamp"), plain_body.pop("timeStamp")  # the only part that moves
    assert unzipped == plain_body and unzipped["features"]
    assert len(zipped) < len(plain) / 3  # GeoJSON compresses well


def test_pages_are_gzipped_with_their_csp_hashes_intact(client: TestClient) -> None:
    # The security middleware hashes inline scripts of the uncompressed HTML into the CSP;
    # gzip sits outside it, so every inline script of the page the browser unpacks is allowed.
    from api.middleware import inline_script_hashes

    zipped_headers, zipped = _raw(client, "/", GZIP)
    assert zipped_headers["content-encoding"] == "gzip"
    page = gzip.decompress(zipped)
    assert page.startswith(b"<!DOCTYPE html>")
    hashes = inline_script_hashes(page)
    assert hashes
    assert all(h in zipped_headers["content-security-policy"] for h in hashes)


def test_small_answers_are_not_compressed(client: TestClient) -> None:
    headers, body = _raw(client, "/api/v1/health/live", GZIP)
    assert len(body) < MINIMUM_BYTES
    assert "content-encoding" not in headers


def test_tiles_are_gzipped_once_and_raw_when_gzip_is_refused(
    client: TestClient, db_session: Session
) -> None:
    invalidate_tile_cache()
    z = 14
    x, y = _tile_of_centre(db_session, GRIDS, z)
    url = f"/ogc/collections/grids/tiles/WebMercatorQuad/{z}/{x}/{y}"
    zipped_headers, zipped = _raw(client, url, GZIP)
    assert zipped_headers["content-encoding"] == "gzip"
    tile = gzip.decompress(zipped)
    assert not tile.startswith(b"\x1f\x8b")  # the route's gzip, not gzip of gzip
    # "gzip;q=0" refuses gzip: the route answers raw and the middleware must not encode it.
    refused_headers, refused = _raw(client, url, {"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused_headers
    assert refused == tile
