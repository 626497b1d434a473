"""SQL for the area hierarchy (district, street, community, grid)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

LEVELS = ("district", "street", "community", "grid")


def city_bounds(session: Session) -> tuple[float, float, float, float] | None:
    """The lon/lat bounds of all current areas, or None when the database has none."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e_, ST_YMax(e) AS n "
            "FROM (SELECT ST_Extent(geom) AS e FROM area WHERE valid_to IS NULL) x"
        )
    ).one()
    if row.w is None:
        return None
    return (row.w, row.s, row.e_, row.n)


def area_features(
    session: Session,
    level: str,
    bbox: tuple[float, float, float, float] | None = None,
    tolerance: float = 0.0,
) -> dict[str, Any]:
    """Current areas of one level as a GeoJSON FeatureCollection, optionally cut to a bbox.

    The collection is built by PostGIS in one statement; geometry may be simplified with a
    topology-preserving ``tolerance`` in degrees for overview maps.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    sql = text(
        """
        SELECT coalesce(json_agg(json_build_object(
                   'type', 'Feature',
                   'id', a.code,
                   'geometry', ST_AsGeoJSON(
                       CASE WHEN :tol > 0 THEN ST_SimplifyPreserveTopology(a.geom, :tol)
                            ELSE a.geom END, 7)::json,
                   'properties', json_build_object(
                       'code', a.code, 'name', a.name, 'level', a.level, 'kind', a.kind,
                       'parent_code', p.code)
               ) ORDER BY a.code), '[]'::json) AS features
        FROM area a LEFT JOIN area p ON p.id = a.parent_id
        WHERE a.valid_to IS NULL AND a.level = :level
          AND (CAST(:w AS float8) IS NULL
               OR a.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326))
        """
    )
    w, s, e, n = bbox if bbox else (None, None, None, None)
    features = session.execute(
        sql, {"level": level, "tol": tolerance, "w": w, "s": s, "e": e, "n": n}
    ).scalar_one()
    return {"type": "FeatureCollection", "features": features}
