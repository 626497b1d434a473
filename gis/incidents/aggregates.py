"""Map aggregates: counts per grid or per hexagon, optionally per time bucket. Public."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.incidents.listing import FILTER_WHERE, IncidentFilter, filter_params
from gis.incidents.timestamps import iso, local_iso
from gis.sqlfiles import read_sql

BUCKETS = ("hour", "day", "week", "month")
# Hexagon edge at zoom z ≈ 32 screen pixels, in Web Mercator metres (what the map shows).
HEX_PIXELS = 32
MAX_HEXAGONS = 50_000


def hexagon_size(zoom: int) -> float:
    """Edge length in EPSG:3857 metres of the hexagons shown at ``zoom``.

    >>> round(hexagon_size(14), 1)
    305.7
    """
    return HEX_PIXELS * 156543.03392804097 / 2**zoom


def aggregates(
    session: Session,
    *,
    by: str,
    zoom: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    bucket: str | None = None,
    filters: IncidentFilter | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Counts per grid, or per hexagon sized for ``zoom``, optionally per time bucket (GeoJSON).

    Public: only counts leave the database, never a case.
    """
    filters = filters or IncidentFilter()
    filters.bbox = bbox
    filters.validate()
    if by not in ("grid", "hex"):
        raise InvalidInput("by must be grid or hex", parameter="by")
    if bucket is not None and bucket not in BUCKETS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}", parameter="bucket")
    params = {**filter_params(filters, now or datetime.now(UTC)), "bucket": bucket}
    if by == "grid":
        sql = read_sql("incident_aggregate_grid.sql").replace("/*WHERE*/", FILTER_WHERE)
        rows = session.execute(text(sql), params).all()
        features = [
            {
                "type": "Feature",
                "id": f"{r.code or 'unassigned'}/{iso(r.bucket) or 'all'}",
                "geometry": json.loads(r.geometry) if r.geometry else None,
                "properties": {
                    "grid_code": r.code,
                    "grid_name": r.name,
                    "bucket": local_iso(r.bucket),
                    "count": r.n,
                    "open": r.open,
                    "overdue": r.overdue,
                },
            }
            for r in rows
        ]
        return {"type": "FeatureCollection", "features": features}
    if zoom is None or not 0 <= zoom <= 22:
        raise InvalidInput("hexagons need a zoom from 0 to 22", parameter="zoom")
    if bbox is None:
        raise InvalidInput("hexagons need a bbox (the map's view)", parameter="bbox")
    size = hexagon_size(zoom)
    w, s, e, n = bbox
    count = session.execute(
        text(
            "SELECT ST_Area(ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), 3857)) "
            "/ (1.5 * sqrt(3) * :size * :size)"
        ),
        {"w": w, "s": max(s, -85.0), "e": e, "n": min(n, 85.0), "size": size},
    ).scalar_one()
    if count > MAX_HEXAGONS:
        raise InvalidInput(
            f"the view would need about {int(count)} hexagons at zoom {zoom}; zoom in or narrow "
            "the bbox",
            parameter="zoom",
        )
    sql = read_sql("incident_aggregate_hex.sql").replace("/*WHERE*/", FILTER_WHERE)
    rows = session.execute(text(sql), {**params, "size": size}).all()
    features = [
        {
            "type": "Feature",
            "id": f"{r.i},{r.j}/{iso(r.bucket) or 'all'}",
            "geometry": json.loads(r.geometry),
            "properties": {
                "i": r.i,
                "j": r.j,
                "bucket": local_iso(r.bucket),
                "count": r.n,
                "open": r.open,
                "overdue": r.overdue,
            },
        }
        for r in rows
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "hexagon_size_m": round(size, 3),
        "zoom": zoom,
    }
