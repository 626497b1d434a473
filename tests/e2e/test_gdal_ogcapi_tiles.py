"""GDAL's OGC API driver (``OGCAPI:``) reading our vector tiles against a live server.

Two GDALs: Debian's ``gdalinfo`` (3.6), which lists the collections, and the GDAL inside the
pyogrio wheel (3.12), which reads the tiles (3.6 cannot: see the pinned limit below). The driver
walks landing page → collections → collection → tilesets list → TileSet → tiling scheme, picks
WorldCRS84Quad, and exposes one layer per tile matrix ("Zoom level N") whose features are the
MVT features of every tile within the collection's extent and ``tileMatrixSetLimits``.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import psycopg
import pyogrio
import pytest

from gis.collections import COLLECTIONS
from gis.queries.tiles import tile_fields
from gis.tilematrixsets import TILE_MATRIX_SETS
from tests.conftest import LiveServer, unavailable
from tests.e2e.test_gdal_client import _gdal

pytestmark = pytest.mark.gdal

GRIDS_SQL = (
    "SELECT code, name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
    "FROM area WHERE level = 'grid' AND valid_to IS NULL"
)
# Grids are tiled from WebMercatorQuad 13, i.e. WorldCRS84Quad 12 (tiles 0.044° wide).
GRID_LEVEL = TILE_MATRIX_SETS["WorldCRS84Quad"].min_zoom_for(COLLECTIONS["grids"].min_zoom)


def _grids(database_url: str) -> dict[str, tuple[str, float, float, float, float]]:
    with psycopg.connect(database_url) as conn:
        return {row[0]: row[1:] for row in conn.execute(GRIDS_SQL).fetchall()}


def test_gdalinfo_lists_every_collection_as_a_subdataset(live_server: LiveServer) -> None:
    out = _gdal("gdalinfo", f"OGCAPI:{live_server.url}/ogc")
    listed = re.findall(r"SUBDATASET_\d+_NAME=OGCAPI:(\S+)", out)
    public = httpx.get(f"{live_server.url}/ogc/collections", timeout=30).json()["collections"]
    assert listed == [f"{live_server.url}/ogc/collections/{c['id']}" for c in public]
    assert "grids" in {c["id"] for c in public}


def test_gdal_lists_one_layer_per_tile_matrix_served(live_server: LiveServer) -> None:
    """GDAL 3.12: the tiled collection opens with a layer per WorldCRS84Quad level from the
    grids' first level to the deepest served, in CRS84, with the tiles' fields."""
    source = f"OGCAPI:{live_server.url}/ogc/collections/grids"
    levels = [int(name.removeprefix("Zoom level ")) for name, _ in pyogrio.list_layers(source)]
    assert levels == list(range(GRID_LEVEL, TILE_MATRIX_SETS["WorldCRS84Quad"].max_zoom + 1))
    info = pyogrio.read_info(source, layer=f"Zoom level {GRID_LEVEL}")
    assert 'AUTHORITY["OGC","CRS84"]' in info["crs"]
    # mvt_id is the MVT driver's own feature id field.
    assert set(info["fields"]) - {"mvt_id"} == set(tile_fields(COLLECTIONS["grids"]))


def test_debian_gdal_does_not_read_tile_matrix_set_2_0(live_server: LiveServer) -> None:
    """Debian's GDAL 3.6 parses only the 1.0 JSON encoding of a TileMatrixSet, while OGC API –
    Tiles 1.0 requires 2.0 (what morecantile writes). This pins the known limit: when it
    starts passing, Debian's GDAL has caught up and the ogr2ogr route can be tested too."""
    tool = shutil.which("ogrinfo")
    if tool is None:
        unavailable("ogrinfo (Debian gdal-bin) is not installed")
    version = subprocess.run(
        [tool or "ogrinfo", "--version"], capture_output=True, text=True, check=False
    ).stdout
    source = f"OGCAPI:{live_server.url}/ogc/collections/grids"
    result = subprocess.run(
        [tool or "ogrinfo", "-ro", "-q", source],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if version.startswith("GDAL 3.6."):
        assert result.returncode != 0 and "tiling matrix set" in result.stderr
    else:  # a newer Debian GDAL: it must read the layers then (no skip)
        assert result.returncode == 0, f"{version.strip()}: {result.stderr}"


def _check_grid_features(frame: object, database_url: str) -> None:
    grids = _grids(database_url)
    codes = set(frame["code"])  # type: ignore[index]
    assert codes == set(grids) and grids
    # Every piece of a grid (one per tile it crosses) carries its name; the pieces together
    # span the grid's extent, to within the tiles' quantisation (0.044° / 4096 ≈ 1 m).
    for code, group in frame.groupby("code"):  # type: ignore[attr-defined]
        name, west, south, east, north = grids[code]
        assert set(group["name"]) == {name}
        bounds = group.geometry.total_bounds
        assert bounds == pytest.approx([west, south, east, north], abs=5e-5)


def test_pyogrio_gdal_reads_the_grids_from_the_vector_tiles(
    live_server: LiveServer, demo_database_url: str
) -> None:
    """GDAL 3.12 (pyogrio wheel): the features of the grids' first level are exactly the
    grids of the database, with their names and geometry."""
    source = f"OGCAPI:{live_server.url}/ogc/collections/grids"
    layers = [name for name, _ in pyogrio.list_layers(source)]
    assert f"Zoom level {GRID_LEVEL}" in layers
    frame = pyogrio.read_dataframe(source, layer=f"Zoom level {GRID_LEVEL}")
    assert frame.crs is not None and frame.crs.to_authority() == ("OGC", "CRS84")
    _check_grid_features(frame, demo_database_url)


def test_gdal_reads_web_mercator_tiles_given_the_extent_in_metres(
    live_server: LiveServer, demo_database_url: str
) -> None:
    """GDAL 3.12 places vector tiles with the collection's CRS84 extent taken as coordinates of
    the matrix set's CRS (it reprojects only for raster tiles), so WebMercatorQuad needs the
    extent in metres as open options; given that, its tiles read the same grids."""
    from pyproj import Transformer

    source = f"OGCAPI:{live_server.url}/ogc/collections/grids"
    grids = _grids(demo_database_url)
    west = min(g[1] for g in grids.values())
    south = min(g[2] for g in grids.values())
    east = max(g[3] for g in grids.values())
    north = max(g[4] for g in grids.values())
    to_metres = Transformer.from_crs(4326, 3857, always_xy=True)
    minx, miny = to_metres.transform(west, south)
    maxx, maxy = to_metres.transform(east, north)
    options = {
        "TILEMATRIXSET": "WebMercatorQuad",
        "MINX": str(minx),
        "MINY": str(miny),
        "MAXX": str(maxx),
        "MAXY": str(maxy),
    }
    level = COLLECTIONS["grids"].min_zoom
    frame = pyogrio.read_dataframe(source, layer=f"Zoom level {level}", **options)
    assert frame.crs is not None and frame.crs.to_epsg() == 3857
    _check_grid_features(frame.to_crs(4326), demo_database_url)
