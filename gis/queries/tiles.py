"""Mapbox vector tiles of the published collections, built by PostGIS, with an in-process cache.

A tile is one ``ST_AsMVT`` over the collection's SQL source (:mod:`gis.collections`): rows whose
geometry meets the tile envelope (plus the render buffer) through the GiST index, simplified for
the zoom in lon/lat before projecting, clipped and quantised by ``ST_AsMVTGeom``. Only current
versions of areas and buildings are drawn.

Cache: an LRU of finished tiles (raw and gzipped bytes, ETag) keyed by collection, z/x/y, the
data version (the one-row ``data_version`` table of migration 0008, bumped by statement-level
triggers on area, building, party_org, service_facility and area_stats: a change committed by any
process changes the key) and a local generation that :func:`invalidate_tile_cache` bumps. The data
version is read at most every ``GRIDGOV_TILE_VERSION_CHECK_MS`` per worker and database, so a
cached tile is served without touching the database (no pool checkout, no transaction); a change
committed elsewhere shows within that bound, and :func:`invalidate_tile_cache` (called by this
process's boundary and building writers) drops the remembered version at once. Entries also
expire after a TTL,
which bounds how stale the live counts in tiles (open incidents) can be. Tiles are gzipped at
level 1: vector tiles are small and level 6 costs several times the CPU for a few per cent.
``GRIDGOV_TILE_CACHE_SIZE`` (entries, default 4096, 0 disables) and ``GRIDGOV_TILE_CACHE_TTL``
(seconds, default 60) tune it.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.collections import Collection
from gis.db import database_of
from gis.errors import InvalidInput, NotFound
from gis.settings import get_settings
from gis.sqlfiles import read_sql
from gis.tilematrixsets import WEB_MERCATOR_MAX_ZOOM, WEB_MERCATOR_QUAD, TileMatrixSetSpec

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = WEB_MERCATOR_MAX_ZOOM
# Web Mercator world width in degrees of longitude; one pixel of a 4096-unit tile at zoom z is
# 360 / 2**z / 4096 degrees, which is the simplification tolerance (in lon/lat, before projecting).
_WORLD_DEGREES = 360.0
# Level 1 gives nearly the ratio of level 6 on MVT (varints, short strings) at a fraction of the
# CPU; a cold tile is compressed once per cache entry but on every request when the cache is off.
GZIP_LEVEL = 1


@dataclass(frozen=True)
class Tile:
    """A finished tile: MVT bytes, their gzip, and a validator. Empty tiles have no bytes."""

    data: bytes
    gzipped: bytes
    etag: str

    @property
    def empty(self) -> bool:
        return not self.data


class TileCache:
    """A thread-safe LRU of tiles with a time-to-live and a generation counter."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size = size
        self.ttl = ttl
        self.generation = 0
        self._entries: OrderedDict[tuple[object, ...], tuple[float, Tile]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Tile | None:
        with self._lock:
            entry = self._entries.get((self.generation, *key))
            if entry is None:
                return None
            stored_at, tile = entry
            if time.monotonic() - stored_at > self.ttl:
                del self._entries[(self.generation, *key)]
                return None
            self._entries.move_to_end((self.generation, *key))
            return tile

    def put(self, key: tuple[object, ...], tile: Tile) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[(self.generation, *key)] = (time.monotonic(), tile)
            self._entries.move_to_end((self.generation, *key))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@lru_cache(maxsize=1)
def _tile_cache() -> TileCache:
    """This process's cache, sized from the settings when first used."""
    settings = get_settings()
    return TileCache(settings.tile_cache_size, float(settings.tile_cache_ttl))


def invalidate_tile_cache() -> None:
    """Drop every cached tile of this process (call after editing boundaries or buildings).

    Other worker processes notice area edits through the data version in the cache key (within
    ``GRIDGOV_TILE_VERSION_CHECK_MS``), and everything else within the TTL.
    """
    _versions.forget()
    _tile_cache().clear()


def cache_ttl() -> int:
    """Seconds a tile may be reused; also what ``Cache-Control: max-age`` should say."""
    return int(_tile_cache().ttl)


def parse_tile_address(z: str, x: str, y: str) -> tuple[int, int, int]:
    """Integers from the path, or InvalidInput naming the bad part."""
    numbers = []
    for name, value in (("z", z), ("x", x), ("y", y)):
        if not value.isdigit() or len(value) > 9:
            raise InvalidInput(
                f"{name} must be a non-negative integer, not {value[:20]!r}", parameter=name
            )
        numbers.append(int(value))
    return numbers[0], numbers[1], numbers[2]


def data_version(session: Session) -> str:
    """A value that changes with every committed write to what tiles draw (one-row read)."""
    return str(
        session.execute(text("SELECT version FROM data_version WHERE id")).scalar_one_or_none()
    )


class _VersionMemo:
    """The data version last read per database, reused for ``GRIDGOV_TILE_VERSION_CHECK_MS``."""

    def __init__(self) -> None:
        self._read: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session) -> str:
        database = database_of(session)
        interval = get_settings().tile_version_check_ms / 1000
        now = time.monotonic()
        with self._lock:
            known = self._read.get(database)
        if known is not None and now - known[0] < interval:
            return known[1]
        version = data_version(session)
        with self._lock:
            self._read[database] = (now, version)
        return version

    def forget(self) -> None:
        with self._lock:
            self._read.clear()


_versions = _VersionMemo()


def current_data_version(session: Session) -> str:
    """The data version for a cache key: read from the database at most every N ms."""
    return _versions.get(session)


def _tile_sql(collection: Collection, tms: TileMatrixSetSpec) -> str:
    columns = ", ".join(
        f'CAST(f."{p.name}" AS text) AS "{p.name}"'
        if p.type in ("date", "date-time")
        else f'f."{p.name}"'
        for p in collection.properties
        if p.tile and p.personal is None
    )
    geom = "f.geom" if collection.geometry_type == "Point" else "ST_Simplify(f.geom, :tol, true)"
    current = "f.t_end IS NULL" if collection.temporal == "interval" else "true"
    source = read_sql(collection.sql_name)
    if tms.geographic:
        # Stored lon/lat are drawn as they are; the envelopes come from the matrix set.
        drawn, bounds = geom, "ST_MakeEnvelope(:west, :south, :east, :north, 4326)"
        meets = "ST_MakeEnvelope(:bwest, :bsouth, :beast, :bnorth, 4326)"
    else:
        drawn, bounds = f"ST_Transform({geom}, 3857)", "ST_TileEnvelope(:z, :x, :y)"
        meets = f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326)"
    return f"""
        SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom')
          FROM (SELECT ST_AsMVTGeom({drawn}, {bounds}, {EXTENT}, {BUFFER}, true) AS geom,
                       {columns}
                  FROM ({source}) f
                 WHERE f.geom && {meets}
                   AND {current}) t
         WHERE t.geom IS NOT NULL
    """


def _tile_parameters(tms: TileMatrixSetSpec, z: int, x: int, y: int) -> dict[str, float]:
    if not tms.geographic:
        # One pixel of the tile in degrees of longitude at the equator.
        return {"z": z, "x": x, "y": y, "tol": _WORLD_DEGREES / 2**z / EXTENT}
    west, south, east, north = tms.bounds(z, x, y)
    margin = (east - west) * BUFFER / EXTENT
    return {
        "west": west,
        "south": south,
        "east": east,
        "north": north,
        "bwest": west - margin,
        "bsouth": south - margin,
        "beast": east + margin,
        "bnorth": north + margin,
        "tol": (east - west) / EXTENT,
    }


def build_tile(
    session: Session,
    collection: Collection,
    z: int,
    x: int,
    y: int,
    tms: TileMatrixSetSpec = WEB_MERCATOR_QUAD,
) -> bytes:
    """The MVT bytes of one tile (empty when nothing is drawn there); no cache."""
    data = session.execute(
        text(_tile_sql(collection, tms)),
        {"layer": collection.id, **_tile_parameters(tms, z, x, y)},
    ).scalar_one()
    return bytes(data or b"")


def get_tile(
    session: Session,
    collection: Collection,
    z: int,
    x: int,
    y: int,
    tms: TileMatrixSetSpec = WEB_MERCATOR_QUAD,
) -> Tile:
    """A tile from the cache, or built and cached."""
    if not collection.tiles:
        raise NotFound(f"collection {collection.id!r} is not offered as vector tiles")
    tms.check_tile(z, x, y)
    key = (collection.id, tms.id, z, x, y, current_data_version(session))
    cached = _tile_cache().get(key)
    if cached is not None:
        return cached
    data = build_tile(session, collection, z, x, y, tms)
    tile = Tile(
        data=data,
        gzipped=gzip.compress(data, compresslevel=GZIP_LEVEL) if data else b"",
        etag='"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"',
    )
    _tile_cache().put(key, tile)
    return tile


def tile_fields(collection: Collection) -> dict[str, str]:
    """TileJSON ``vector_layers[].fields``: property name → description."""
    return {
        p.name: f"{p.type}: {p.title}"
        for p in collection.properties
        if p.tile and p.personal is None
    }
