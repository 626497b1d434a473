"""Vector tiles at ``/ogc``: OGC API – Tiles in the matrix sets of :mod:`gis.tilematrixsets`
(WebMercatorQuad, WorldCRS84Quad, CGCS2000Quad), MVT, and TileJSON 3.0 for WebMercatorQuad.

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
    add_head_routes,
    base_url,
    check_parameters,
    json_response,
    ogc_errors,
)
from api.security import ViewerDep
from gis.collections import Collection
from gis.errors import InvalidInput, NotFound
from gis.queries import features, tiles
from gis.tilematrixsets import (
    TILE_MATRIX_SETS,
    WEB_MERCATOR_QUAD,
    TileMatrixSetSpec,
    get_tile_matrix_set,
)

PREFIX = "/ogc"
router = APIRouter(tags=["OGC API – Tiles"])

MVT = "application/vnd.mapbox-vector-tile"
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
REL_GEODATA = "http://www.opengis.net/def/rel/ogc/1.0/geodata"
_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def _tiled_collection(collection_id: str, viewer: Any) -> Collection:
    found = _collection(collection_id, viewer)
    if not found.tiles:
        raise NotFound(f"collection {found.id!r} is not offered as vector tiles")
    return found


def _tile_template(request: Request, collection: Collection) -> str:
    tiles_url = f"{base_url(request)}/collections/{collection.id}/tiles"
    return f"{tiles_url}/{WEB_MERCATOR_QUAD.id}/{{z}}/{{x}}/{{y}}"


def _tms_url(request: Request, tms: TileMatrixSetSpec) -> str:
    return f"{base_url(request)}/tileMatrixSets/{tms.id}"


def _tms_summary(request: Request, tms: TileMatrixSetSpec) -> dict[str, Any]:
    summary: dict[str, Any] = {"id": tms.id, "title": tms.title}
    if tms.uri:
        summary["uri"] = tms.uri
    summary["crs"] = tms.crs_uri
    summary["links"] = [
        {"rel": "self", "type": "application/json", "href": _tms_url(request, tms)},
        {"rel": REL_TILING_SCHEME, "type": "application/json", "href": _tms_url(request, tms)},
    ]
    return summary


@router.get("/tileMatrixSets", summary="Tile matrix sets offered")
@ogc_errors
def tile_matrix_sets(request: Request, viewer: ViewerDep, f: str | None = Query(None)) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    return json_response(
        {
            "tileMatrixSets": [_tms_summary(request, t) for t in TILE_MATRIX_SETS.values()],
            "links": [
                {
                    "rel": "self",
                    "type": "application/json",
                    "href": f"{base_url(request)}/tileMatrixSets",
                }
            ],
        }
    )


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    summary="A tile matrix set (OGC Two Dimensional Tile Matrix Set 2.0)",
)
@ogc_errors
def tile_matrix_set(
    request: Request, tileMatrixSetId: str, viewer: ViewerDep, f: str | None = Query(None)
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    tms = get_tile_matrix_set(tileMatrixSetId)
    document = tms.document()
    document["links"] = [
        {"rel": "self", "type": "application/json", "href": _tms_url(request, tms)}
    ]
    return json_response(document)


def _tileset_url(request: Request, found: Collection, tms: TileMatrixSetSpec) -> str:
    return f"{base_url(request)}/collections/{found.id}/tiles/{tms.id}"


def _tileset_links(
    request: Request, found: Collection, tms: TileMatrixSetSpec
) -> list[dict[str, Any]]:
    return [
        {
            "rel": "self",
            "type": "application/json",
            "title": "This tileset",
            "href": _tileset_url(request, found, tms),
        },
        {
            "rel": REL_TILING_SCHEME,
            "type": "application/json",
            "title": f"The {tms.id} tile matrix set",
            "href": _tms_url(request, tms),
        },
    ]


def _tileset_summary(request: Request, found: Collection, tms: TileMatrixSetSpec) -> dict[str, Any]:
    """A tileset as the tilesets list describes it (OGC API – Tiles, tileSet-item)."""
    summary: dict[str, Any] = {
        "title": f"{found.title} ({tms.id})",
        "dataType": "vector",
        "crs": tms.crs_uri,
    }
    if tms.uri:
        summary["tileMatrixSetURI"] = tms.uri
    summary["links"] = _tileset_links(request, found, tms)
    return summary


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection")
@ogc_errors
def tilesets(
    request: Request, collection_id: str, viewer: ViewerDep, f: str | None = Query(None)
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    found = _tiled_collection(collection_id, viewer)
    return json_response(
        {
            "tilesets": [_tileset_summary(request, found, t) for t in TILE_MATRIX_SETS.values()],
            "links": [
                {
                    "rel": "self",
                    "type": "application/json",
                    "href": f"{base_url(request)}/collections/{found.id}/tiles",
                }
            ],
        }
    )


def _tile_matrix_limits(
    tms: TileMatrixSetSpec, bbox: tuple[float, float, float, float], minzoom: int
) -> list[dict[str, Any]]:
    west, south, east, north = bbox
    limits = []
    for z in range(minzoom, tms.max_zoom + 1):
        min_col, min_row = tms.tile_of(west, north, z)
        max_col, max_row = tms.tile_of(east, south, z)
        limits.append(
            {
                "tileMatrix": str(z),
                "minTileRow": min_row,
                "maxTileRow": max_row,
                "minTileCol": min_col,
                "maxTileCol": max_col,
            }
        )
    return limits


def _tileset_document(
    request: Request,
    session: SessionDep,
    found: Collection,
    viewer: Any,
    tms: TileMatrixSetSpec,
) -> dict[str, Any]:
    """OGC API – Tiles TileSet metadata (tileSet.yaml): the tiling scheme, the tile template,
    the tile matrices and tile ranges that hold data, and the layer with its properties."""
    extent = features.collection_extent(session, found, viewer)
    bbox = extent.bbox or (-180.0, -85.0511, 180.0, 85.0511)
    base = _tileset_url(request, found, tms)
    properties = {
        p.name: {"type": _JSON_TYPES[p.type], "title": p.title}
        if p.type in _JSON_TYPES
        else {"type": "string", "format": p.type, "title": p.title}
        for p in found.properties
        if p.tile and p.personal is None
    }
    min_zoom = tms.min_zoom_for(found.min_zoom)
    document = _tileset_summary(request, found, tms)
    document["links"] = [
        *_tileset_links(request, found, tms),
        {
            "rel": "item",
            "type": MVT,
            "title": "A vector tile",
            "templated": True,
            "href": f"{base}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}",
        },
        {
            "rel": REL_GEODATA,
            "type": "application/json",
            "title": found.title,
            "href": f"{base_url(request)}/collections/{found.id}",
        },
    ]
    if tms is WEB_MERCATOR_QUAD:
        document["links"].append(
            {
                "rel": "describedby",
                "type": "application/json",
                "title": "TileJSON",
                "href": f"{base}/tilejson.json",
            }
        )
    document["tileMatrixSetLimits"] = _tile_matrix_limits(tms, bbox, min_zoom)
    document["boundingBox"] = {
        "lowerLeft": [bbox[0], bbox[1]],
        "upperRight": [bbox[2], bbox[3]],
        "crs": features.CRS84_URI,
    }
    document["layers"] = [
        {
            "id": found.id,
            "title": found.title,
            "dataType": "vector",
            "geometryDimension": 0 if found.geometry_type == "Point" else 2,
            "minTileMatrix": str(min_zoom),
            "maxTileMatrix": str(tms.max_zoom),
            "propertiesSchema": {"type": "object", "properties": properties},
        }
    ]
    return document


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


# TileJSON describes XYZ (WebMercatorQuad) tiles only; declared before the TileSet route.
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


@router.get(
    "/collections/{collection_id}/tiles/{tileMatrixSetId}",
    summary="Tileset metadata (OGC API – Tiles TileSet; TileJSON at WebMercatorQuad/tilejson.json)",
)
@ogc_errors
def tileset(
    request: Request,
    collection_id: str,
    tileMatrixSetId: str,
    session: SessionDep,
    viewer: ViewerDep,
    f: str | None = Query(None),
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    found = _tiled_collection(collection_id, viewer)
    tms = get_tile_matrix_set(tileMatrixSetId)
    return json_response(_tileset_document(request, session, found, viewer, tms))


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
    "/collections/{collection_id}/tiles/{tileMatrixSetId}/{z}/{x}/{y}",
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
    tileMatrixSetId: str,
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
    tms = get_tile_matrix_set(tileMatrixSetId)
    zoom, column, row = tiles.parse_tile_address(z, x, y)
    result = tiles.get_tile(session, found, zoom, column, row, tms)
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


add_head_routes(router)
