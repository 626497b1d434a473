"""SQL for OGC API – Features: items pages, single features, counts and extents.

Every collection's rows come from its SQL source (``gis/sql/features_<id>.sql``, see
:mod:`gis.collections`), wrapped here with the filters of a request. PostGIS builds the GeoJSON
text of a page in one statement (``json_agg`` of ``ST_AsGeoJSON``); Python only splices it into
the response. ``numberMatched`` is ``offset + numberReturned`` when the page is the last one, and
otherwise a separate ``count(*)`` over the same filters, which PostgreSQL answers without
evaluating the per-row counts of the source (and, where the source joins unique keys with LEFT
JOINs, without those joins: a count of buildings reads only ``building``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gis import audit
from gis.collections import Collection, Property
from gis.crs import parse_crs
from gis.errors import Forbidden, InvalidInput
from gis.scope import Viewer
from gis.sqlfiles import read_sql, statement

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class OgcCrs:
    """A CRS the OGC API offers: its URI, PostGIS SRID, axis order and output precision."""

    uri: str
    srid: int
    lat_first: bool
    digits: int


SUPPORTED_CRS: dict[str, OgcCrs] = {
    "OGC:CRS84": OgcCrs(CRS84_URI, 4326, lat_first=False, digits=7),
    # EPSG's own definitions of the geographic CRSs put latitude first; OGC API Part 2 requires
    # that order whenever a client names them instead of CRS84.
    "EPSG:4326": OgcCrs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, 7),
    "EPSG:4490": OgcCrs("http://www.opengis.net/def/crs/EPSG/0/4490", 4490, True, 7),
    "EPSG:3857": OgcCrs("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, 2),
}
CRS84 = SUPPORTED_CRS["OGC:CRS84"]


def parse_ogc_crs(value: str | None, parameter: str = "crs") -> OgcCrs:
    """The supported CRS a client named (URI, URN or ``EPSG:n``); CRS84 when not given.

    >>> parse_ogc_crs("http://www.opengis.net/def/crs/EPSG/0/3857").srid
    3857
    >>> parse_ogc_crs(None) is CRS84
    True
    >>> parse_ogc_crs("[EPSG:4490]").srid  # a safe CURIE (OGC API Part 2, W3C CURIE syntax)
    4490
    """
    if value is None:
        return CRS84
    curie = value.strip()
    if curie.startswith("[") and curie.endswith("]"):
        curie = curie[1:-1]
    try:
        canonical = parse_crs(curie)
    except InvalidInput:
        canonical = None
    found = SUPPORTED_CRS.get(canonical or "")
    if found is None:
        offered = ", ".join(c.uri for c in SUPPORTED_CRS.values())
        raise InvalidInput(
            f"{parameter} {value[:100]!r} is not offered; use one of: {offered}",
            parameter=parameter,
        )
    return found


@dataclass(frozen=True)
class Envelope:
    """A bbox as x/y in the SRID of the CRS it was given in."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    srid: int


def parse_bbox(value: str, crs: OgcCrs) -> Envelope:
    """Parse ``bbox`` (4 or 6 numbers, in the axis order of ``crs``) into an envelope.

    >>> parse_bbox("106.6,35.2,106.7,35.3", CRS84)
    Envelope(xmin=106.6, ymin=35.2, xmax=106.7, ymax=35.3, srid=4326)
    >>> parse_bbox("35.2,106.6,35.3,106.7", SUPPORTED_CRS["EPSG:4326"]).xmin
    106.6
    """
    parts = [p.strip() for p in value.split(",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise InvalidInput(
            f"bbox {value[:100]!r} must be 4 (or 6) comma-separated numbers: "
            "minx,miny,maxx,maxy in the axis order of bbox-crs (CRS84: lon,lat)",
            parameter="bbox",
        )
    if len(numbers) == 6:  # minx,miny,minz,maxx,maxy,maxz: height is ignored
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a1, a2, b1, b2 = numbers
    x1, y1, x2, y2 = (a2, a1, b2, b1) if crs.lat_first else (a1, a2, b1, b2)
    if x1 > x2 or y1 > y2:
        raise InvalidInput(
            "bbox lower corner must not exceed the upper corner (boxes crossing the "
            "antimeridian are not supported)",
            parameter="bbox",
        )
    if crs.srid != 3857 and not (-180 <= x1 <= 180 and -180 <= x2 <= 180):
        raise InvalidInput("bbox longitudes must lie within [-180, 180]", parameter="bbox")
    if crs.srid != 3857 and not (-90 <= y1 <= 90 and -90 <= y2 <= 90):
        raise InvalidInput("bbox latitudes must lie within [-90, 90]", parameter="bbox")
    return Envelope(x1, y1, x2, y2, crs.srid)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_instant(value: str, *, end: bool) -> datetime:
    """An RFC 3339 date-time (naive means UTC) or a date (its first/last moment)."""
    value = value.strip()
    try:
        if _DATE_ONLY.match(value):
            day = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"datetime {value[:60]!r} is not an RFC 3339 date-time such as "
            "2026-09-01T08:00:00Z (or a date 2026-09-01; intervals as start/end, '..' open)",
            parameter="datetime",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TimeFilter:
    """A closed interval [start, end]; either end open (None). An instant has start == end."""

    start: datetime | None
    end: datetime | None


def parse_datetime(value: str) -> TimeFilter:
    """Parse the OGC ``datetime`` parameter: an instant, a date, or ``start/end`` with ``..``.

    >>> parse_datetime("2026-09-01T00:00:00Z/..").end is None
    True
    >>> f = parse_datetime("2026-09-01")
    >>> (f.start.isoformat(), f.end.isoformat())
    ('2026-09-01T00:00:00+00:00', '2026-09-01T23:59:59.999999+00:00')
    """
    if "/" in value:
        first, _, second = value.partition("/")
        start = None if first.strip() in ("", "..") else _parse_instant(first, end=False)
        end = None if second.strip() in ("", "..") else _parse_instant(second, end=True)
        if start is None and end is None:
            raise InvalidInput(
                "datetime interval must have at least one bounded end", parameter="datetime"
            )
        if start and end and start > end:
            raise InvalidInput("datetime interval ends before it starts", parameter="datetime")
        return TimeFilter(start, end)
    if _DATE_ONLY.match(value.strip()):
        return TimeFilter(_parse_instant(value, end=False), _parse_instant(value, end=True))
    instant = _parse_instant(value, end=False)
    return TimeFilter(instant, instant)


@dataclass(frozen=True)
class ItemsQuery:
    """What one items request asks for, already validated."""

    collection: Collection
    bbox: Envelope | None = None
    time: TimeFilter | None = None
    filters: dict[str, str] = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    crs: OgcCrs = CRS84
    cql: tuple[str, dict[str, Any]] | None = None
    """A CQL2 ``filter`` translated by :func:`gis.queries.cql.to_sql` (predicate, parameters)."""


# --- access and SQL assembly ---------------------------------------------------------------


def check_access(collection: Collection, viewer: Viewer) -> None:
    """Personal collections are for roles that may unmask, with a scope; raise Forbidden."""
    if collection.personal and not (viewer.may_unmask and viewer.scope_code):
        raise Forbidden(
            f"collection {collection.id!r} holds personal data; it is open only to signed-in "
            "roles that need it, within their own area"
        )


def _mask_sql(kind: str, column: str) -> str:
    """SQL equal to gis.masking.mask_name / mask_phone of a column (trusted column name)."""
    if kind == "name":
        return (
            f"CASE WHEN {column} IS NULL OR {column} = '' THEN {column} "
            f"WHEN length({column}) = 1 THEN '*' "
            f"WHEN length({column}) = 2 THEN left({column}, 1) || '*' "
            f"ELSE left({column}, 1) || repeat('*', length({column}) - 2) || right({column}, 1) END"
        )
    return (
        f"CASE WHEN {column} IS NULL OR {column} = '' THEN {column} "
        f"ELSE left({column}, 3) || repeat('*', length({column}) - 7) || right({column}, 4) END"
    )


def visible_properties(collection: Collection, viewer: Viewer) -> tuple[Property, ...]:
    """Item properties this viewer gets: personal ones only for roles that may unmask."""
    return tuple(
        p for p in collection.properties if p.items and (p.personal is None or viewer.may_unmask)
    )


def _property_sql(prop: Property, viewer: Viewer) -> str:
    column = f'f."{prop.name}"'
    if prop.personal is None:
        return column
    # The disclosure rule in SQL: unmasked only with a purpose (:unmask) and for rows in the
    # viewer's scope; both are bound parameters.
    masked = _mask_sql(prop.personal, column)
    return f"CASE WHEN :unmask AND f.scope_code LIKE :scope_like THEN {column} ELSE {masked} END"


def _properties_json_sql(collection: Collection, viewer: Viewer) -> str:
    pairs = ", ".join(
        f"'{p.name}', {_property_sql(p, viewer)}" for p in visible_properties(collection, viewer)
    )
    return f"json_build_object({pairs})"


def _geometry_sql(crs: OgcCrs) -> str:
    geom = "f.geom" if crs.srid == 4326 else f"ST_Transform(f.geom, {crs.srid:d})"
    if crs.lat_first:
        geom = f"ST_FlipCoordinates({geom})"
    return f"ST_AsGeoJSON({geom}, {crs.digits:d}, 0)::json"


def _where_sql(query: ItemsQuery, viewer: Viewer) -> tuple[str, dict[str, Any]]:
    collection = query.collection
    clauses: list[str] = []
    params: dict[str, Any] = {
        "scope_like": viewer.scope_like,
        "unmask": bool(viewer.purpose) and viewer.may_unmask,
    }
    if collection.personal:
        clauses.append("f.scope_code LIKE :scope_like")
    if query.bbox is not None:
        # The envelope is transformed once; && uses the GiST index, ST_Intersects is exact.
        params.update(
            bx1=query.bbox.xmin,
            by1=query.bbox.ymin,
            bx2=query.bbox.xmax,
            by2=query.bbox.ymax,
            bsrid=query.bbox.srid,
        )
        env = "ST_Transform(ST_MakeEnvelope(:bx1, :by1, :bx2, :by2, :bsrid), 4326)"
        clauses.append(f"f.geom && {env} AND ST_Intersects(f.geom, {env})")
    clauses.extend(_time_clauses(collection, query.time, params))
    for index, (name, value) in enumerate(sorted(query.filters.items())):
        prop = collection.property(name)
        if prop is None or not prop.queryable:  # the router checks; this guards the SQL
            raise InvalidInput(f"{name} is not a queryable of {collection.id}", parameter=name)
        clauses.append(f'CAST(f."{prop.name}" AS text) = :q{index}')
        params[f"q{index}"] = value
    if query.cql is not None:
        predicate, cql_params = query.cql
        clauses.append(predicate)
        params.update(cql_params)
    return (" AND ".join(clauses) or "true"), params


def _time_clauses(
    collection: Collection, time: TimeFilter | None, params: dict[str, Any]
) -> list[str]:
    if collection.temporal is None:
        return []
    if collection.temporal == "interval":
        if time is None:
            return ["f.t_end IS NULL"]  # current versions
        params.update(t_start=time.start, t_end=time.end)
        return [
            "(CAST(:t_end AS timestamptz) IS NULL OR f.t_start <= :t_end)",
            "(f.t_end IS NULL OR CAST(:t_start AS timestamptz) IS NULL OR f.t_end > :t_start)",
        ]
    if time is None:
        return []
    params.update(t_start=time.start, t_end=time.end)
    return [
        "(CAST(:t_start AS timestamptz) IS NULL OR f.t_start >= :t_start)",
        "(CAST(:t_end AS timestamptz) IS NULL OR f.t_start <= :t_end)",
    ]


def _feature_sql(collection: Collection, viewer: Viewer, crs: OgcCrs) -> str:
    return (
        "json_build_object('type', 'Feature', 'id', f.fid, "
        f"'geometry', {_geometry_sql(crs)}, "
        f"'properties', {_properties_json_sql(collection, viewer)})"
    )


# Whom a feature of a collection with personal properties stands for in the audit log.
SUBJECT_KIND = {"households": "household", "incidents": "incident"}


def _log_disclosure(
    session: Session, collection: Collection, viewer: Viewer, target: str, fids: list[str]
) -> None:
    """The audit half of the disclosure rule: features shown unmasked are recorded with the
    request's purpose; a masked page of a personal collection is a bulk masked read."""
    if not any(p.personal for p in collection.properties) or not viewer.may_unmask:
        return
    kind = SUBJECT_KIND.get(collection.id, "household")
    if viewer.purpose:
        shown = [audit.subject(kind, fid) for fid in fids]
        audit.disclose(session, viewer, target, subjects=shown)
    elif collection.personal and fids:
        audit.disclose(session, viewer, target, rows=len(fids), action=audit.READ_MASKED_BULK)


# --- public functions ----------------------------------------------------------------------


def count_items(session: Session, query: ItemsQuery, viewer: Viewer) -> int:
    """How many features match the filters of ``query`` (``numberMatched``)."""
    check_access(query.collection, viewer)
    where, params = _where_sql(query, viewer)
    source = read_sql(query.collection.sql_name)
    sql = f"SELECT count(*) FROM ({source}) f WHERE {where}"
    return int(session.execute(statement(sql), params).scalar_one())


def items_page(session: Session, query: ItemsQuery, viewer: Viewer) -> tuple[str, int]:
    """One page of features as the JSON text of a GeoJSON feature array, and its length."""
    collection = query.collection
    check_access(collection, viewer)
    where, params = _where_sql(query, viewer)
    params.update(limit=query.limit, offset=query.offset)
    source = read_sql(collection.sql_name)
    sql = f"""
        SELECT coalesce(json_agg(page.feature ORDER BY page.fid, page.t_start), '[]')::text,
               count(*),
               coalesce(array_agg(DISTINCT page.fid::text)
                        FILTER (WHERE page.scope_code LIKE :scope_like), '{{}}')
          FROM (SELECT f.fid, f.t_start, f.scope_code,
                       {_feature_sql(collection, viewer, query.crs)} AS feature
                  FROM ({source}) f
                 WHERE {where}
                 ORDER BY f.fid, f.t_start
                 LIMIT :limit OFFSET :offset) page
    """
    features, returned, in_scope = session.execute(statement(sql), params).one()
    _log_disclosure(session, collection, viewer, f"ogc:{collection.id}", list(in_scope))
    return str(features), int(returned)


def get_item(
    session: Session, collection: Collection, feature_id: str, viewer: Viewer, crs: OgcCrs
) -> str | None:
    """The JSON text of one feature (its current version, or the latest), or None."""
    check_access(collection, viewer)
    where, params = _where_sql(ItemsQuery(collection), viewer)
    if collection.temporal == "interval":
        where = "true" if not collection.personal else "f.scope_code LIKE :scope_like"
    params["fid"] = feature_id
    source = read_sql(collection.sql_name)
    sql = f"""
        SELECT {_feature_sql(collection, viewer, crs)}::text, f.scope_code LIKE :scope_like
          FROM ({source}) f
         WHERE f.fid = :fid AND {where}
         ORDER BY f.t_end IS NULL DESC, f.t_start DESC
         LIMIT 1
    """
    found = session.execute(statement(sql), params).one_or_none()
    if found is None:
        return None
    feature, in_scope = found
    if in_scope:
        target = f"ogc:{collection.id}:{feature_id}"
        _log_disclosure(session, collection, viewer, target, [feature_id])
    return str(feature)


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float] | None
    interval: tuple[datetime | None, datetime | None] | None


def collection_extent(session: Session, collection: Collection, viewer: Viewer) -> Extent:
    """The lon/lat bbox of the current features and, for temporal collections, the time span."""
    where, params = _where_sql(ItemsQuery(collection), viewer)
    if collection.personal and not (viewer.may_unmask and viewer.scope_code):
        where = "false"
    source = read_sql(collection.sql_name)
    sql = f"""
        SELECT ST_XMin(e.b), ST_YMin(e.b), ST_XMax(e.b), ST_YMax(e.b), e.t0, e.t1
          FROM (SELECT ST_Extent(f.geom) AS b, min(f.t_start) AS t0,
                       CASE WHEN bool_or(f.t_end IS NULL) THEN NULL ELSE max(f.t_end) END AS t1
                  FROM ({source}) f WHERE {where}) e
    """
    if collection.temporal == "instant":
        sql = sql.replace(
            "CASE WHEN bool_or(f.t_end IS NULL) THEN NULL ELSE max(f.t_end) END", "max(f.t_start)"
        )
    row = session.execute(statement(sql), params).one()
    bbox = None if row[0] is None else (row[0], row[1], row[2], row[3])
    interval = (row[4], row[5]) if collection.temporal else None
    return Extent(bbox, interval)
