"""OGC API – Features at ``/ogc``: Part 1 (Core, GeoJSON) and Part 2 (CRS by reference).

Errors here use OGC's exception JSON (``{"code", "description"}``), not problem+json, because
OGC clients (GDAL, QGIS, ArcGIS) parse that shape. Query parameters arrive as strings and are
validated by hand so that every bad value is a 400 in that shape, never FastAPI's 422.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from api.deps import SessionDep
from api.security import ViewerDep, scope_decision
from gis.collections import COLLECTIONS, Collection, get_collection
from gis.errors import Forbidden, GridgovError, InvalidInput, NotFound
from gis.queries import cql, features
from gis.queries.features import (
    CRS84_URI,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    SUPPORTED_CRS,
    ItemsQuery,
    check_access,
)
from gis.scope import Viewer

PREFIX = "/ogc"
router = APIRouter(tags=["OGC API – Features"])

GEOJSON = "application/geo+json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.1"
OPENAPI_30_JSON = "application/vnd.oai.openapi+json;version=3.0"
TRS_GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3 (Filtering) and CQL2: only the classes tests/api/test_ogc_filter.py exercises.
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
)
ITEMS_PARAMETERS = frozenset(
    {"f", "bbox", "bbox-crs", "limit", "offset", "datetime", "crs", "filter", "filter-lang"}
    | {"filter-crs"}
)
ITEM_PARAMETERS = frozenset({"f", "crs"})
METADATA_PARAMETERS = frozenset({"f"})

P = ParamSpec("P")


def ogc_exception(status: int, code: str, description: str, **headers: str) -> JSONResponse:
    """An OGC API exception response."""
    return JSONResponse(
        {"code": code, "description": description}, status_code=status, headers=headers or None
    )


def ogc_errors(handler: Callable[P, Response]) -> Callable[P, Response]:
    """Answer domain errors raised by a handler in OGC exception JSON."""

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return handler(*args, **kwargs)
        except InvalidInput as exc:
            return ogc_exception(400, "InvalidParameterValue", exc.detail)
        except NotFound as exc:
            return ogc_exception(404, "NotFound", exc.detail)
        except Forbidden as exc:
            viewer = kwargs.get("viewer")
            if isinstance(viewer, Viewer) and viewer.is_public:
                return ogc_exception(
                    401,
                    "Unauthorized",
                    "sign in first: " + exc.detail,
                    **{"WWW-Authenticate": 'Bearer realm="gridgov"'},
                )
            return ogc_exception(403, "Forbidden", exc.detail)
        except GridgovError as exc:
            return ogc_exception(400, "InvalidParameterValue", exc.detail)

    return wrapper


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def check_parameters(request: Request, allowed: frozenset[str]) -> None:
    # ``purpose`` is the disclosure rule's, accepted by every route (api/security.py).
    unknown = sorted(set(request.query_params) - allowed - {"purpose"})
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s): {', '.join(unknown)}; "
            f"this resource accepts: {', '.join(sorted(allowed)) or 'none'}",
            parameter=unknown[0],
        )
    fmt = request.query_params.get("f")
    if fmt is not None and fmt.lower() not in ("json", "geojson"):
        raise InvalidInput(f"f={fmt[:20]!r} is not offered; use f=json", parameter="f")


def json_response(body: dict[str, Any], media_type: str = "application/json") -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), media_type=media_type)


def _collection(collection_id: str, viewer: Viewer) -> Collection:
    collection = get_collection(collection_id)
    if collection is None:
        raise NotFound(f"no collection {collection_id!r}; see /ogc/collections for those offered")
    check_access(collection, viewer)
    return collection


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- landing page, conformance, collections ------------------------------------------------


@router.get("", summary="OGC API landing page")
@ogc_errors
def landing(request: Request, viewer: ViewerDep, f: str | None = Query(None)) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    root = str(request.base_url).rstrip("/")
    base = base_url(request)
    return json_response(
        {
            "title": "gridgov OGC API",
            "description": "Areas, buildings, party organisations, service facilities and "
            "incidents of gridgov as OGC API – Features and vector tiles.",
            "links": [
                {"rel": "self", "type": "application/json", "title": "This document", "href": base},
                {
                    "rel": "service-desc",
                    "type": OPENAPI_30_JSON,
                    "title": "The API definition (OpenAPI 3.0)",
                    "href": f"{base}/api",
                },
                {
                    "rel": "service-desc",
                    "type": OPENAPI_JSON,
                    "title": "The API definition (OpenAPI 3.1)",
                    "href": f"{root}/openapi.json",
                },
                {
                    "rel": "service-doc",
                    "type": "text/html",
                    "title": "The API documentation",
                    "href": f"{root}/docs",
                },
                {
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "Conformance classes",
                    "href": f"{base}/conformance",
                },
                {
                    "rel": "data",
                    "type": "application/json",
                    "title": "Collections",
                    "href": f"{base}/collections",
                },
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                    "type": "application/json",
                    "title": "Tile matrix sets",
                    "href": f"{base}/tileMatrixSets",
                },
            ],
        }
    )


@router.get("/conformance", summary="Conformance classes implemented")
@ogc_errors
def conformance(request: Request, viewer: ViewerDep, f: str | None = Query(None)) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    return json_response({"conformsTo": list(CONFORMANCE)})


def collection_document(
    request: Request, session: SessionDep, collection: Collection, viewer: Viewer
) -> dict[str, Any]:
    base = f"{base_url(request)}/collections/{collection.id}"
    extent = features.collection_extent(session, collection, viewer)
    document: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": collection.item_type,
        "crs": [c.uri for c in SUPPORTED_CRS.values()],
        "storageCrs": CRS84_URI,
        "extent": {},
        "links": [
            {"rel": "self", "type": "application/json", "title": collection.title, "href": base},
            {
                "rel": "items",
                "type": GEOJSON,
                "title": f"{collection.title} items",
                "href": f"{base}/items",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "Queryables",
                "href": f"{base}/queryables",
            },
        ],
    }
    if extent.bbox is not None:
        document["extent"]["spatial"] = {"bbox": [list(extent.bbox)], "crs": CRS84_URI}
    if extent.interval is not None:
        start, end = extent.interval
        document["extent"]["temporal"] = {
            "interval": [[_timestamp(start), _timestamp(end)]],
            "trs": TRS_GREGORIAN,
        }
    if collection.tiles:
        document["links"].extend(
            [
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                    "type": "application/json",
                    "title": "Vector tilesets",
                    "href": f"{base}/tiles",
                },
                {
                    "rel": "describedby",
                    "type": "application/json",
                    "title": "TileJSON",
                    "href": f"{base}/tiles/WebMercatorQuad/tilejson.json",
                },
            ]
        )
    return document


def _may_list(collection: Collection, viewer: Viewer) -> bool:
    try:
        check_access(collection, viewer)
    except Forbidden:
        return False
    return True


@router.get("/collections", summary="The feature collections")
@ogc_errors
def collections(
    request: Request, session: SessionDep, viewer: ViewerDep, f: str | None = Query(None)
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    base = base_url(request)
    return json_response(
        {
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{base}/collections"},
            ],
            "crs": [c.uri for c in SUPPORTED_CRS.values()],
            "collections": [
                collection_document(request, session, c, viewer)
                for c in COLLECTIONS.values()
                if _may_list(c, viewer)
            ],
        }
    )


@router.get("/collections/{collection_id}", summary="One feature collection")
@ogc_errors
def collection(
    request: Request,
    collection_id: str,
    session: SessionDep,
    viewer: ViewerDep,
    f: str | None = Query(None),
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    found = _collection(collection_id, viewer)
    return json_response(collection_document(request, session, found, viewer))


@router.get(
    "/collections/{collection_id}/queryables",
    summary="The properties a filter may use (JSON Schema)",
    response_class=Response,
    responses={200: {"content": {"application/schema+json": {}}}},
    openapi_extra=scope_decision("public"),
)
@ogc_errors
def queryables(
    request: Request, collection_id: str, viewer: ViewerDep, f: str | None = Query(None)
) -> Response:
    check_parameters(request, METADATA_PARAMETERS)
    found = _collection(collection_id, viewer)
    url = f"{base_url(request)}/collections/{found.id}/queryables"
    return json_response(cql.queryables_schema(found, url), media_type="application/schema+json")


# --- items ---------------------------------------------------------------------------------


def _int_parameter(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be an integer from {low} to {high}", parameter=name)
    return number


def parse_items_query(request: Request, collection: Collection) -> ItemsQuery:
    """Validate the query parameters of an items request."""
    queryables = {p.name for p in collection.queryables}
    check_parameters(request, ITEMS_PARAMETERS | queryables)
    params = request.query_params
    crs = features.parse_ogc_crs(params.get("crs"), "crs")
    bbox_crs = features.parse_ogc_crs(params.get("bbox-crs"), "bbox-crs")
    if "bbox-crs" in params and "bbox" not in params:
        raise InvalidInput("bbox-crs is given without bbox", parameter="bbox-crs")
    bbox = features.parse_bbox(params["bbox"], bbox_crs) if "bbox" in params else None
    time = None
    if "datetime" in params:
        time = features.parse_datetime(params["datetime"])
        if collection.temporal is None:
            # Features without time match every datetime (OGC API – Features 1.0, 7.15.4).
            time = None
    cql_filter = None
    if "filter" in params:
        filter_crs = features.parse_ogc_crs(params.get("filter-crs"), "filter-crs")
        if filter_crs.uri != CRS84_URI:
            raise InvalidInput(
                f"filter-crs must be {CRS84_URI} (geometries in filters are lon/lat)",
                parameter="filter-crs",
            )
        cql_filter = cql.to_sql(cql.parse(params["filter"], params.get("filter-lang")), collection)
    elif "filter-lang" in params or "filter-crs" in params:
        raise InvalidInput("filter-lang and filter-crs need a filter", parameter="filter")
    return ItemsQuery(
        collection=collection,
        bbox=bbox,
        time=time,
        cql=cql_filter,
        filters={name: params[name] for name in queryables if name in params},
        # Above the maximum the server uses its maximum (OGC API – Features 1.0, 7.15.3).
        limit=min(
            _int_parameter(params.get("limit"), "limit", DEFAULT_LIMIT, 1, 2**31 - 1), MAX_LIMIT
        ),
        offset=_int_parameter(params.get("offset"), "offset", 0, 0, 2**31 - 1),
        crs=crs,
    )


# The parameters as OGC API – Features defines them (openapi/parameters/*.yaml of the standard),
# so that generic clients see integers and arrays; the handler still parses them by hand, so a
# bad value is a 400 in OGC's exception shape rather than FastAPI's 422.
def _query_parameter(
    name: str, description: str, schema: dict[str, Any], *, form: bool = False
) -> dict[str, Any]:
    """One optional query parameter for the OpenAPI document (``form``: comma-separated)."""
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False}
    if form:
        parameter.update(style="form", explode=False)
    return {**parameter, "description": description, "schema": schema}


ITEMS_OPENAPI_PARAMETERS: list[dict[str, Any]] = [
    _query_parameter(
        "limit",
        f"Features per page; above {MAX_LIMIT} the server uses {MAX_LIMIT}.",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        form=True,
    ),
    _query_parameter(
        "offset",
        "Features to skip (paging; the next/prev links carry it).",
        {"type": "integer", "minimum": 0, "default": 0},
    ),
    _query_parameter(
        "bbox",
        "minx,miny,maxx,maxy in the axis order of bbox-crs (default CRS84: lon,lat).",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        form=True,
    ),
    _query_parameter(
        "bbox-crs", "CRS URI of bbox (default CRS84).", {"type": "string", "format": "uri"}
    ),
    _query_parameter(
        "datetime",
        "RFC 3339 instant, date, or interval a/b (either end may be ..).",
        {"type": "string"},
        form=True,
    ),
    _query_parameter("crs", "Output CRS URI (default CRS84).", {"type": "string", "format": "uri"}),
    _query_parameter("f", "Output format.", {"type": "string", "enum": ["json", "geojson"]}),
    _query_parameter(
        "filter",
        "A CQL2 filter on the collection's queryables (see its /queryables), e.g. "
        "status = 'closed' AND S_INTERSECTS(geometry, BBOX(106.6,35.2,106.7,35.3)).",
        {"type": "string"},
    ),
    _query_parameter(
        "filter-lang",
        "cql2-text (default) or cql2-json.",
        {"type": "string", "enum": ["cql2-text", "cql2-json"]},
    ),
    _query_parameter(
        "filter-crs",
        "CRS of geometries in the filter (CRS84 only).",
        {"type": "string", "format": "uri"},
    ),
]


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    description="GeoJSON features, paged by `limit`/`offset` with `next`/`prev` links. "
    "Collections' queryable properties filter by equality (`?status=closed`).",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, 400: {"description": "Invalid parameter"}},
    openapi_extra={"parameters": ITEMS_OPENAPI_PARAMETERS},
)
@ogc_errors
def items(
    request: Request,
    collection_id: str,
    session: SessionDep,
    viewer: ViewerDep,
) -> Response:
    found = _collection(collection_id, viewer)
    query = parse_items_query(request, found)
    page, returned = features.items_page(session, query, viewer)
    if returned < query.limit and (returned > 0 or query.offset == 0):
        # A short page is the last one: everything matched is on it or before it, exactly,
        # without counting the collection again.
        matched = query.offset + returned
    else:
        matched = features.count_items(session, query, viewer)
    links = [
        {"rel": "self", "type": GEOJSON, "title": "This page", "href": str(request.url)},
        {
            "rel": "collection",
            "type": "application/json",
            "title": found.title,
            "href": f"{base_url(request)}/collections/{found.id}",
        },
    ]
    if query.offset + returned < matched:
        links.append(
            {
                "rel": "next",
                "type": GEOJSON,
                "title": "Next page",
                "href": str(request.url.include_query_params(offset=query.offset + returned)),
            }
        )
    if query.offset > 0:
        previous = max(0, query.offset - query.limit)
        links.append(
            {
                "rel": "prev",
                "type": GEOJSON,
                "title": "Previous page",
                "href": str(request.url.include_query_params(offset=previous)),
            }
        )
    meta = json.dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": returned,
            "timeStamp": _timestamp(datetime.now(UTC)),
            "links": links,
        },
        ensure_ascii=False,
    )
    body = meta[:-1] + ', "features": ' + page + "}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{query.crs.uri}>"})


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, 404: {"description": "No such feature"}},
)
@ogc_errors
def item(
    request: Request,
    collection_id: str,
    feature_id: str,
    session: SessionDep,
    viewer: ViewerDep,
    crs: str | None = Query(None, description="output CRS URI; default CRS84"),
    f: str | None = Query(None, description="json"),
) -> Response:
    found = _collection(collection_id, viewer)
    check_parameters(request, ITEM_PARAMETERS)
    output_crs = features.parse_ogc_crs(crs, "crs")
    feature = features.get_item(session, found, feature_id, viewer, output_crs)
    if feature is None:
        raise NotFound(f"collection {found.id!r} has no feature {feature_id[:100]!r}")
    base = f"{base_url(request)}/collections/{found.id}"
    links = json.dumps(
        [
            {"rel": "self", "type": GEOJSON, "href": str(request.url)},
            {"rel": "collection", "type": "application/json", "href": base},
        ]
    )
    body = feature[:-1] + ', "links": ' + links + "}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{output_crs.uri}>"})


# --- the API definition for OGC clients ----------------------------------------------------


def _as_openapi_30(node: Any) -> Any:
    """Rewrite the OpenAPI 3.1 constructs FastAPI emits into their 3.0 forms (nullable,
    ``example``, boolean ``exclusiveMinimum``), for clients that read 3.0 only."""
    if isinstance(node, list):
        return [_as_openapi_30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _as_openapi_30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            out.pop(key)
            if len(rest) == 1 and isinstance(rest[0], dict):
                out.update(rest[0])
            else:
                out[key] = rest
            out["nullable"] = True
    if isinstance(out.get("examples"), list) and "type" in out:
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[plain] = value
            out[bound] = True
    if out.get("type") == "null":
        out.pop("type")
        out["nullable"] = True
    return out


def _references(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


@router.get(
    "/api",
    summary="The OpenAPI 3.0 definition of the OGC API",
    response_class=Response,
    responses={200: {"content": {OPENAPI_30_JSON: {}}}},
    openapi_extra=scope_decision("public"),
)
@ogc_errors
def api_definition(request: Request, viewer: ViewerDep, f: str | None = Query(None)) -> Response:
    """The OGC routes of ``/openapi.json`` as OpenAPI 3.0, the landing page's first
    ``service-desc`` (OWSLib and other OGC clients look for ``version=3.0``). Only the public
    OGC paths are listed, so it is open also where ``/openapi.json`` is admins-only."""
    check_parameters(request, METADATA_PARAMETERS)
    full = request.app.openapi()
    # Relative to the server /ogc, as OGC clients look paths up (GDAL: /collections/{id}/items).
    paths = {
        (p[len(PREFIX) :] or "/"): ops
        for p, ops in full["paths"].items()
        if p == PREFIX or p.startswith(PREFIX + "/")
    }
    generic = paths.get("/collections/{collection_id}/items", {}).get("get")
    if generic is not None:
        # One items path per collection listing its queryables as query parameters, so that
        # clients (GDAL's OAPIF driver) send an equality filter to the server.
        for collection in COLLECTIONS.values():
            if not _may_list(collection, viewer):
                continue
            parameters = [
                p for p in generic.get("parameters", []) if p.get("name") != "collection_id"
            ]
            parameters += [
                _query_parameter(q.name, q.title, {"type": "string"})
                for q in collection.queryables
                if q.personal is None
            ]
            paths[f"/collections/{collection.id}/items"] = {
                "get": {
                    **generic,
                    "operationId": f"items_{collection.id}",
                    "parameters": parameters,
                }
            }
    schemas = full.get("components", {}).get("schemas", {})
    wanted: set[str] = set()
    _references(paths, wanted)
    pending = list(wanted)
    while pending:
        found: set[str] = set()
        _references(schemas.get(pending.pop(), {}), found)
        pending.extend(found - wanted)
        wanted |= found
    document = {
        "openapi": "3.0.3",
        "info": {**full["info"], "title": "gridgov OGC API"},
        "servers": [{"url": base_url(request)}],
        "paths": paths,
        "components": {"schemas": {k: v for k, v in schemas.items() if k in wanted}},
    }
    return json_response(_as_openapi_30(document), media_type=OPENAPI_30_JSON)


def add_head_routes(target: APIRouter) -> None:
    """Answer HEAD wherever GET is answered (RFC 9110 §9.3.2; OGC API – Common), without
    listing the HEAD operations in the OpenAPI document. Servers drop the body of a HEAD."""
    for route in list(target.routes):
        if isinstance(route, APIRoute) and route.methods == {"GET"}:
            target.add_api_route(
                route.path,
                route.endpoint,
                methods=["HEAD"],
                include_in_schema=False,
                response_class=route.response_class,
                openapi_extra=route.openapi_extra,
            )


add_head_routes(router)
