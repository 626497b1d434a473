"""SQL for the area hierarchy (district, street, community, grid)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound
from gis.queries.locate import locate
from gis.queries.spatial_params import BBox, check_area_code, subtree_prefix
from gis.scope import Viewer
from gis.sqlfiles import read_sql

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


# --- The /api/v1/areas resource -------------------------------------------------------------
# Boundaries and aggregate statistics are public (gis.scope): these functions take the viewer
# so that a later change of policy has one place to go, but return the same to everyone.

HOUSEHOLD_STANDARD = (300, 500)
"""The usual size of an urban grid in households (domain.md)."""

MAX_PAGE = 1000


def escape_like(value: str) -> str:
    """Escape LIKE wildcards in user input (the default escape character is a backslash).

    >>> escape_like("50%_off")
    '50\\\\%\\\\_off'
    """
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def current_area(session: Session, code: str, parameter: str = "code") -> dict[str, Any]:
    """The current version of an area by code, or :class:`NotFound` naming the parameter."""
    row = (
        session.execute(
            text(
                "SELECT a.id, a.code, a.name, a.level, a.kind, a.district_code, a.version, "
                "a.valid_from, a.updated_at, p.code AS parent_code "
                "FROM area a LEFT JOIN area p ON p.id = a.parent_id "
                "WHERE a.code = :code AND a.valid_to IS NULL"
            ),
            {"code": code},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound(f"no current area has the code {code}", parameter=parameter)
    return dict(row)


def subtree_pattern(session: Session, within: str | None, parameter: str = "within") -> str:
    """The LIKE pattern of an existing area's subtree; ``%`` (everything) when None."""
    if within is None:
        return "%"
    check_area_code(within, parameter)
    current_area(session, within, parameter=parameter)
    return subtree_prefix(within)


def area_detail(
    session: Session, viewer: Viewer, code: str, *, with_geometry: bool = False
) -> dict[str, Any]:
    """One area of any level: properties, parent chain, children and statistics.

    Children are the next level down; a grid's children are its buildings.
    """
    check_area_code(code, "code")
    area = current_area(session, code)
    area_id = area.pop("id")
    geometry = None
    if with_geometry:
        geometry = session.execute(
            text("SELECT ST_AsGeoJSON(geom, 7)::json FROM area WHERE id = :id"), {"id": area_id}
        ).scalar_one()
    parents = [
        dict(r)
        for r in session.execute(
            text(
                """
                WITH RECURSIVE chain AS (
                    SELECT parent_id, 0 AS depth FROM area WHERE id = :id
                    UNION ALL
                    SELECT a.parent_id, c.depth + 1 FROM chain c JOIN area a ON a.id = c.parent_id
                )
                SELECT a.code, a.name, a.level, a.kind
                FROM chain c JOIN area a ON a.id = c.parent_id
                ORDER BY c.depth DESC
                """
            ),
            {"id": area_id},
        ).mappings()
    ]
    if area["level"] == "grid":
        children_sql = (
            "SELECT code, name, 'building' AS level, use AS kind FROM building "
            "WHERE grid_id = :id AND valid_to IS NULL ORDER BY code"
        )
    else:
        children_sql = (
            "SELECT code, name, level, kind FROM area "
            "WHERE parent_id = :id AND valid_to IS NULL ORDER BY code"
        )
    children = [dict(r) for r in session.execute(text(children_sql), {"id": area_id}).mappings()]
    statistics = area_statistics(session, viewer, area_id=area_id, code=code, level=area["level"])
    staff, branch = None, None
    if area["level"] == "grid":
        staff, branch = grid_people(session, viewer, area_id, code)
    return {
        **area,
        "area_km2": statistics.pop("area_km2"),
        "geometry": geometry,
        "parents": parents,
        "children": children,
        "statistics": statistics,
        "staff": staff,
        "party_branch": branch,
    }


def grid_people(
    session: Session, viewer: Viewer, area_id: int, code: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A grid's staff (chief, workers, instructors) and party branch, masked for the viewer.

    Exactly what ``/api/v1/locate`` answers for a point inside the grid, so both masking rules
    and shapes stay in one place (gis/queries/locate.py): this asks it at the grid's
    ``ST_PointOnSurface``, which lies inside this grid and, grids being disjoint, in no other.
    """
    lon, lat = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM area "
            "WHERE id = :id) x"
        ),
        {"id": area_id},
    ).one()
    found = locate(session, viewer, lon, lat, target=f"area:{code}")
    if found["grid"] is None or found["grid"]["code"] != code:
        # Only if grids overlap (which boundary validation forbids): say nothing rather than
        # show another grid's people.
        return None, None
    return found["staff"], found["party_branch"]


def area_statistics(
    session: Session, viewer: Viewer, *, area_id: int, code: str, level: str
) -> dict[str, Any]:
    """Aggregate counts of an area's subtree (public: no personal data)."""
    low, high = HOUSEHOLD_STANDARD
    row = (
        session.execute(
            text(read_sql("areas_statistics.sql")),
            {
                "area_id": area_id,
                "prefix": subtree_prefix(code),
                "code": code,
                "hh_min": low,
                "hh_max": high,
            },
        )
        .mappings()
        .one()
    )
    stats = dict(row)
    households = stats["households"]
    stats["party_members_per_100_households"] = (
        round(100.0 * stats["party_members"] / households, 2) if households else None
    )
    stats["party_orgs_by_level"] = {
        level_name: int(stats["party_orgs_by_level"].get(level_name, 0))
        for level_name in ("street", "community", "grid", "building", "household")
    }
    stats["household_standard"] = {"min": low, "max": high}
    stats["households_within_standard"] = low <= households <= high if level == "grid" else None
    stats["area_km2"] = round(float(stats["area_km2"]), 6)
    return stats


def list_areas(
    session: Session,
    viewer: Viewer,
    *,
    level: str | None = None,
    bbox: BBox | None = None,
    within: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of current areas filtered by level, bbox, subtree and name/code; with the total."""
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", parameter="level")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", parameter="limit")
    if offset < 0:
        raise InvalidInput("offset must be 0 or more", parameter="offset")
    prefix = None
    if within is not None:
        check_area_code(within, "within")
        current_area(session, within, parameter="within")
        prefix = subtree_prefix(within)
    query = q.strip() if q else None
    if q is not None and not query:
        raise InvalidInput("q must not be blank", parameter="q")
    w, s, e, n = bbox if bbox else (None, None, None, None)
    row = (
        session.execute(
            text(read_sql("areas_list.sql")),
            {
                "level": level,
                "prefix": prefix,
                "pattern": f"%{escape_like(query)}%" if query else None,
                "code_prefix": f"{escape_like(query)}%" if query else None,
                "w": w,
                "s": s,
                "e": e,
                "n": n,
                "limit": limit,
                "offset": offset,
            },
        )
        .mappings()
        .one()
    )
    items = [
        {
            **{k: item[k] for k in ("code", "name", "level", "kind", "parent_code")},
            "bbox": [item["west"], item["south"], item["east"], item["north"]],
        }
        for item in row["items"]
    ]
    return {"total": int(row["total"]), "limit": limit, "offset": offset, "items": items}
