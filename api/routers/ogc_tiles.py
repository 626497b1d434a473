"""Vector tiles at ``/ogc``: OGC API – Tiles for WebMercatorQuad, MVT, and TileJSON 3.0.

Tiles are gzipped when the client accepts it, carry a weak ETag (the same for both encodings,
as they hold the same data) and ``Cache-Control``; ``If-None-Match`` answers 304 and an empty
tile 204.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep
from api.routers.ogc import (
    METADATA_PARAMETERS,
    _collection,
    base_url,
    check_parameters,
    json_response,
    ogc_errors,
)
from api.security import ViewerDep
from gis.collections import Collection
from gis.errors import InvalidInput, NotFound
from gis.queries import features, tiles

PREFIX = "/ogc"
router = APIRouter(tags=["OGC API – Tiles"])

MVT = "application/vnd.mapbox-vector-tile"
TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
# Half the Web Mercator world width in metres, and the scale denominator of zoom 0 (256-px tiles
# at 0.28 mm per pixel), from the OGC Two Dimensional Tile Matrix Set standard.
_ORIGIN = 20037508.3427892
_SCALE0 = 559082264.0287178


def _tiled_collection(collection_id: str, viewer: Any) -> Collection:
    found = _collection(collection_id, viewer)
    if not found.tiles:
        raise NotFound(f"collection {found.id!r} is not offered as vector tiles")
    return found


def _tile_template(request: Request, collection: Collection) -> str:
    return f"{base_url(request)}/collections/{collection.id}/tiles/{TMS}/{{z}}/{{x}}/{{y}}"


@router.get("/tileMatrixSets", summary="Tile matrix sets offered")
@ogc_errors
def tile_matrix_sets(request: Request, viewer: ViewerDep, f: str | None = Query(None)) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    return json_response(
        {
            "tileMatrixSets": [
                {
                    "id": TMS,
                    "title": "Google Maps compatible (Web Mercator)",
                    "uri": TMS_URI,
                    "links": [
                        {
                            "rel": "self",
                            "type": "application/json",
                            "href": f"{base_url(request)}/tileMatrixSets/{TMS}",
                        }
                    ],
                }
            ]
        }
    )


@router.get("/tileMatrixSets/WebMercatorQuad", summary="The WebMercatorQuad tile matrix set")
@ogc_errors
def web_mercator_quad(request: Request, viewer: ViewerDep, f: str | None = Query(None)) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    matrices = [
        {
            "id": str(z),
            "scaleDenominator": _SCALE0 / 2**z,
            "cellSize": 2 * _ORIGIN / 256 / 2**z,
            "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [-_ORIGIN, _ORIGIN],
            "tileWidth": 256,
            "tileHeight": 256,
            "matrixWidth": 2**z,
            "matrixHeight": 2**z,
        }
        for z in range(tiles.MAX_ZOOM + 1)
    ]
    return json_response(
        {
            "id": TMS,
            "title": "Google Maps compatible (Web Mercator)",
            "uri": TMS_URI,
            "crs": CRS_3857,
            "orderedAxes": ["X", "Y"],
            "tileMatrices": matrices,
        }
    )


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection")
@ogc_errors
def tilesets(
    request: Request, collection_id: str, viewer: ViewerDep, f: str | None = Query(None)
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    found = _tiled_collection(collection_id, viewer)
    base = f"{base_url(request)}/collections/{found.id}/tiles/{TMS}"
    return json_response(
        {
            "tilesets": [
                {
                    "title": f"{found.title} ({TMS})",
                    "dataType": "vector",
                    "crs": CRS_3857,
                    "tileMatrixSetURI": TMS_URI,
                    "links": [
                        {"rel": "self", "type": "application/json", "href": base},
                        {
                            "rel": "item",
                            "type": MVT,
                            "templated": True,
                            "href": f"{base}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}",
                        },
                        {
                            "rel": "describedby",
                            "type": "application/json",
                            "href": f"{base}/tilejson.json",
                        },
                    ],
                }
            ]
        }
    )


def _tilejson(
    request: Request, session: SessionDep, found: Collection, viewer: Any
) -> dict[str, Any]:
    extent = features.collection_extent(session, found, viewer)
    bounds = list(extent.bbox) if extent.bbox else [-180.0, -85.0511, 180.0, 85.0511]
    center_zoom = min(max(found.min_zoom + 2, 12), tiles.MAX_ZOOM)
    return {
        "tilejson": "3.0.0",
        "name": found.id,
        "description": found.description,
        "scheme": "xyz",
        "tiles": [_tile_template(request, found)],
        "minzoom": found.min_zoom,
        "maxzoom": tiles.MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, center_zoom],
        "vector_layers": [
            {
                "id": found.id,
                "description": found.title,
                "minzoom": found.min_zoom,
                "maxzoom": tiles.MAX_ZOOM,
                "fields": tiles.tile_fields(found),
            }
        ],
    }


@router.get(
    "/collections/{collection_id}/tiles/WebMercatorQuad",
    summary="Tileset metadata (TileJSON)",
)
@ogc_errors
def tileset(
    request: Request,
    collection_id: str,
    session: SessionDep,
    viewer: ViewerDep,
    f: str | None = Query(None),
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    found = _tiled_collection(collection_id, viewer)
    return json_response(_tilejson(request, session, found, viewer))


@router.get(
    "/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json",
    summary="TileJSON 3.0 of a collection's vector tiles",
)
@ogc_errors
def tilejson(
    request: Request,
    collection_id: str,
    session: SessionDep,
    viewer: ViewerDep,
    f: str | None = Query(None),
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    found = _tiled_collection(collection_id, viewer)
    return json_response(_tilejson(request, session, found, viewer))


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return "*" in candidates or etag in candidates


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@router.get(
    "/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{x}/{y}",
    summary="A Mapbox vector tile",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}},
        204: {"description": "Nothing in this tile"},
        304: {"description": "Not modified (If-None-Match)"},
        404: {"description": "No such collection or tile"},
    },
)
@ogc_errors
def tile(
    request: Request,
    collection_id: str,
    z: str,
    x: str,
    y: str,
    session: SessionDep,
    viewer: ViewerDep,
    f: str | None = Query(None, description="mvt"),
) -> Response:
    fmt = request.query_params.get("f")
    if fmt is not None and fmt.lower() not in ("mvt", "pbf"):
        raise InvalidInput(f"f={fmt[:20]!r} is not offered; tiles are f=mvt", parameter="f")
    unknown = set(request.query_params) - {"f"}
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s): {', '.join(sorted(unknown))}", parameter=min(unknown)
        )
    found = _tiled_collection(collection_id, viewer)
    zoom, column, row = tiles.parse_tile_address(z, x, y)
    result = tiles.get_tile(session, found, zoom, column, row)
    etag = "W/" + result.etag
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={tiles.cache_ttl()}",
        "Vary": "Accept-Encoding",
    }
    if _etag_matches(request.headers.get("if-none-match"), result.etag):
        return Response(status_code=304, headers=headers)
    if result.empty:
        return Response(status_code=204, headers=headers)
    if _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(result.gzipped, media_type=MVT, headers=headers)
    return Response(result.data, media_type=MVT, headers=headers)
