"""gzip for response bodies: JSON, GeoJSON, HTML and the rest, once they are worth compressing.

Starlette's :class:`GZipMiddleware`, outermost (the security middleware hashes inline scripts of
HTML pages into the CSP, so it must see bodies uncompressed). It leaves alone what is already
encoded (vector tiles carry their own gzip, made once per cached tile: api/routers/ogc_tiles.py),
event streams (each event must leave when written) and formats that are compressed already
(images, archives). Bodies under ``MINIMUM_BYTES`` go out as they are: one TCP packet either way,
and a locate answer would pay the compressor's set-up for nothing. Level 4: GeoJSON and JSON
shrink to within a few per cent of level 9 at a third of its CPU on a CPU-bound server.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from api.routers.ogc_tiles import MVT

MINIMUM_BYTES = 1024
LEVEL = 4
# Tiles are gzipped by their route when the client accepts it and must otherwise stay raw.
EXCLUDED_TYPES = (*DEFAULT_EXCLUDED_CONTENT_TYPES, MVT)


def install_compression(app: FastAPI) -> None:
    """Add the gzip layer; call after every other middleware, so it is the outermost."""
    app.add_middleware(
        GZipMiddleware,
        minimum_size=MINIMUM_BYTES,
        compresslevel=LEVEL,
        exclude_content_types=EXCLUDED_TYPES,
    )
