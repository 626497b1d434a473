"""Parsing planner geometry at the edge, and metric measures of lon/lat shapes.

Every function here is pure (no database). Planner input arrives as GeoJSON; it is checked
structurally *before* shapely sees it, because shapely silently closes rings, drops NaN
checks and accepts latitudes of 200 — each of those must be rejected with a message that tells
the planner what to fix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gis.errors import InvalidInput


def _check_position(position: Any, where: str) -> tuple[float, float]:
    if not isinstance(position, Sequence) or isinstance(position, str) or len(position) < 2:
        raise InvalidInput(f"{where}: a position must be [longitude, latitude]")
    try:
        lon, lat = float(position[0]), float(position[1])
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}: coordinates must be numbers") from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput(f"{where}: coordinates must be finite numbers (found NaN or infinity)")
    if not -90.0 <= lat <= 90.0:
        raise InvalidInput(f"{where}: latitude {lat} is out of range [-90, 90] (lon/lat order?)")
    if not -180.0 <= lon <= 180.0:
        raise InvalidInput(f"{where}: longitude {lon} is out of range [-180, 180]")
    return lon, lat


def _check_ring(ring: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(ring, Sequence) or isinstance(ring, str):
        raise InvalidInput(f"{where}: a ring must be an array of positions")
    points = [_check_position(p, f"{where}, position {i}") for i, p in enumerate(ring)]
    if len(set(points)) < 3:
        if points and len(set(points)) == 1:
            raise InvalidInput(f"{where}: the ring repeats one point only; draw at least 3 corners")
        raise InvalidInput(
            f"{where}: too few points ({len(points)}); a ring needs at least 4 positions "
            "(3 distinct corners and the first repeated at the end)"
        )
    if len(points) < 4:
        raise InvalidInput(
            f"{where}: too few points ({len(points)}); a ring needs at least 4 positions "
            "(3 distinct corners and the first repeated at the end)"
        )
    if points[0] != points[-1]:
        raise InvalidInput(
            f"{where}: the ring is not closed; its last position must repeat the first "
            f"{list(points[0])}"
        )
    return points


def parse_polygonal(
    geojson: Any, what: str = "geometry", *, require_valid: bool = True
) -> BaseGeometry:
    """A Polygon or MultiPolygon from GeoJSON, checked position by position, then for validity.

    Raises :class:`InvalidInput` naming the first problem: not closed, too few points, NaN,
    latitude out of range, or the OGC validity reason (self-intersection, hole outside shell…)
    with where it happens.
    """
    if not isinstance(geojson, dict) or "type" not in geojson:
        raise InvalidInput(f"{what} must be a GeoJSON geometry object", parameter=what)
    kind = geojson.get("type")
    coords = geojson.get("coordinates")
    polygons: list[Any] | None
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = list(coords) if isinstance(coords, list | tuple) else None
    else:
        raise InvalidInput(f"{what} must be a Polygon or MultiPolygon, not {kind}", parameter=what)
    if not polygons or not all(isinstance(p, list | tuple) and p for p in polygons):
        raise InvalidInput(f"{what} has no rings", parameter=what)
    shapes = []
    for pi, rings in enumerate(polygons):
        checked = [
            _check_ring(ring, f"{what}, polygon {pi}, ring {ri}") for ri, ring in enumerate(rings)
        ]
        shapes.append(shapely.Polygon(checked[0], checked[1:]))
    geom: BaseGeometry = shapes[0] if len(shapes) == 1 else shapely.MultiPolygon(shapes)
    if require_valid and not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        raise InvalidInput(
            f"{what} is not a valid polygon: {describe_invalidity(reason)} ({reason}); "
            "preview a repair with POST /api/v1/plan/repair-preview",
            parameter=what,
        )
    return geom


def describe_invalidity(reason: str) -> str:
    """A planner's wording for a GEOS validity reason."""
    lowered = reason.lower()
    if lowered.startswith("ring self-intersection"):
        return "a ring touches itself at a point (self-touching ring)"
    if lowered.startswith("self-intersection"):
        return "edges cross each other (a bow-tie or figure of eight)"
    if lowered.startswith("hole lies outside shell"):
        return "a hole lies outside its outer ring"
    if lowered.startswith("nested holes"):
        return "a hole lies inside another hole"
    if lowered.startswith("interior is disconnected"):
        return "holes cut the polygon into pieces"
    if lowered.startswith("too few points"):
        return "a ring has too few points"
    return "the geometry is invalid"


def parse_line(geojson: Any, what: str = "line") -> shapely.LineString:
    """A LineString from GeoJSON with every position checked."""
    if not isinstance(geojson, dict) or geojson.get("type") != "LineString":
        raise InvalidInput(f"{what} must be a GeoJSON LineString", parameter=what)
    coords = geojson.get("coordinates")
    if not isinstance(coords, list | tuple):
        raise InvalidInput(f"{what} must have coordinates", parameter=what)
    points = [_check_position(p, f"{what}, position {i}") for i, p in enumerate(coords)]
    if len(set(points)) < 2:
        raise InvalidInput(f"{what} needs at least two distinct points", parameter=what)
    return shapely.LineString(points)


def parse_position(value: Any, what: str) -> tuple[float, float]:
    return _check_position(value, what)


@lru_cache(maxsize=64)
def _to_metric(zone: int, north: bool) -> pyproj.Transformer:
    epsg = (32600 if north else 32700) + zone
    return pyproj.Transformer.from_crs(4326, epsg, always_xy=True)


def to_metres(geom: BaseGeometry, reference: BaseGeometry | None = None) -> BaseGeometry:
    """``geom`` in the UTM zone of ``reference`` (or its own centre), in metres.

    One zone for a whole community keeps neighbouring grids comparable; UTM distortion inside a
    city (< 0.1 %) is far below any tolerance used here.
    """
    ref = reference if reference is not None else geom
    centre = ref.centroid if not ref.is_empty else shapely.Point(0, 0)
    zone = min(60, max(1, int((centre.x + 180) // 6) + 1))
    transformer = _to_metric(zone, centre.y >= 0)
    return shapely.transform(geom, lambda xy: _stack(transformer.transform(xy[:, 0], xy[:, 1])))


def _stack(xy: tuple[Any, Any]) -> Any:
    import numpy as np

    return np.column_stack(xy)


def area_m2(geom: BaseGeometry, reference: BaseGeometry | None = None) -> float:
    return float(to_metres(geom, reference).area)


def degrees_for_metres(metres: float, latitude: float) -> float:
    """An angle in degrees that is at least ``metres`` long in both axes at ``latitude``."""
    per_degree = 111_320.0 * max(math.cos(math.radians(latitude)), 0.01)
    return metres / per_degree


def polsby_popper(geom: BaseGeometry, reference: BaseGeometry | None = None) -> float:
    """Compactness 4πA/P² (1 for a circle, near 0 for a thin strip)."""
    metric = to_metres(geom, reference)
    if metric.length == 0:
        return 0.0
    return float(4 * math.pi * metric.area / metric.length**2)


def as_multipolygon(geom: BaseGeometry) -> shapely.MultiPolygon:
    """Only the polygonal parts of ``geom``, as a MultiPolygon (PostGIS column type)."""
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    parts = [
        g
        for g in getattr(geom, "geoms", [])
        if isinstance(g, shapely.Polygon | shapely.MultiPolygon)
    ]
    polygons: list[shapely.Polygon] = []
    for part in parts:
        polygons.extend(part.geoms if isinstance(part, shapely.MultiPolygon) else [part])
    return shapely.MultiPolygon(polygons)


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Drop points and lines that overlay operations may leave behind; keep polygons."""
    multi = as_multipolygon(geom)
    if len(multi.geoms) == 1:
        return multi.geoms[0]
    return multi


def point_geojson(point: BaseGeometry) -> dict[str, Any]:
    x, y = shapely.get_coordinates(point)[0]
    return {"type": "Point", "coordinates": [round(float(x), 7), round(float(y), 7)]}


def location_of(geom: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON point inside (or on) ``geom`` to show a finding on the map."""
    if geom.is_empty:
        return {"type": "Point", "coordinates": [0.0, 0.0]}
    return point_geojson(shapely.point_on_surface(geom))
