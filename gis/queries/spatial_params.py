"""Validation of the spatial query parameters shared by the /api/v1 endpoints (no database).

Every function raises :class:`gis.errors.InvalidInput` naming the parameter and saying what to
fix, so bad input becomes a 400 problem and never reaches SQL.
"""

from __future__ import annotations

import math
import re

from gis.crs import WGS84, parse_crs, to_wgs84
from gis.errors import InvalidInput
from gis.scope import subtree_code_prefix

BBox = tuple[float, float, float, float]
AREA_CODE = re.compile(r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$")


def parse_bbox(value: str, parameter: str = "bbox") -> BBox:
    """Parse ``west,south,east,north`` in WGS84 degrees.

    >>> parse_bbox("106.6,35.2,106.7,35.3")
    (106.6, 35.2, 106.7, 35.3)
    >>> parse_bbox("106.7,35.2,106.6,35.3")
    Traceback (most recent call last):
    ...
    gis.errors.InvalidInput: bbox: west (106.7) must be less than east (106.6); ...
    """
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 4:
        raise InvalidInput(
            f"{parameter} must be 4 comma-separated numbers west,south,east,north "
            f"(e.g. 106.62,35.21,106.68,35.23); got {len(parts)} value(s)",
            parameter=parameter,
        )
    numbers = []
    for name, part in zip(("west", "south", "east", "north"), parts, strict=True):
        try:
            number = float(part)
        except ValueError:
            raise InvalidInput(
                f"{parameter}: {name} {part[:30]!r} is not a number", parameter=parameter
            ) from None
        if not math.isfinite(number):
            raise InvalidInput(f"{parameter}: {name} must be a finite number", parameter=parameter)
        numbers.append(number)
    west, south, east, north = numbers
    for name, number, limit in (
        ("west", west, 180),
        ("east", east, 180),
        ("south", south, 90),
        ("north", north, 90),
    ):
        if not -limit <= number <= limit:
            raise InvalidInput(
                f"{parameter}: {name} ({number}) must be between -{limit} and {limit} "
                "(WGS84 degrees, lon before lat)",
                parameter=parameter,
            )
    if west >= east:
        raise InvalidInput(
            f"{parameter}: west ({west}) must be less than east ({east}); "
            "the order is west,south,east,north",
            parameter=parameter,
        )
    if south >= north:
        raise InvalidInput(
            f"{parameter}: south ({south}) must be less than north ({north}); "
            "the order is west,south,east,north",
            parameter=parameter,
        )
    return west, south, east, north


def check_area_code(code: str, parameter: str) -> str:
    """An area code must be 6, 12 or 15 digits.

    >>> check_area_code("620881001001", "within")
    '620881001001'
    """
    if not AREA_CODE.match(code):
        raise InvalidInput(
            f"{parameter} must be an area code of 6 (district), 12 (street or community) or "
            f"15 (grid) digits, e.g. 620881001001; got {code[:40]!r}",
            parameter=parameter,
        )
    return code


def point_to_wgs84(lon: float, lat: float, crs: str | None) -> tuple[float, float]:
    """Validate a point given in ``crs`` (default WGS84) and return it as WGS84 lon/lat.

    >>> point_to_wgs84(106.66, 35.22, None)
    (106.66, 35.22)
    >>> point_to_wgs84(200, 35, None)
    Traceback (most recent call last):
    ...
    gis.errors.InvalidInput: lon (200.0) must be between -180 and 180 ...
    """
    for name, number in (("lon", lon), ("lat", lat)):
        if not math.isfinite(number):
            raise InvalidInput(f"{name} must be a finite number, not {number}", parameter=name)
    name = parse_crs(crs) if crs else WGS84
    if name in (WGS84, "OGC:CRS84"):
        wlon, wlat = float(lon), float(lat)
    else:
        wlon, wlat = to_wgs84(lon, lat, name)
        if not (math.isfinite(wlon) and math.isfinite(wlat)):
            raise InvalidInput(
                f"({lon}, {lat}) is outside the area of use of {name}; check the crs and the "
                "axis order (x/easting as lon, y/northing as lat)",
                parameter="lon",
            )
    if not -180 <= wlon <= 180:
        raise InvalidInput(
            f"lon ({wlon}) must be between -180 and 180 (WGS84 degrees; did you swap lon and lat?)",
            parameter="lon",
        )
    if not -90 <= wlat <= 90:
        raise InvalidInput(
            f"lat ({wlat}) must be between -90 and 90 (WGS84 degrees; did you swap lon and lat?)",
            parameter="lat",
        )
    return wlon, wlat


def subtree_prefix(code: str) -> str:
    """The code prefix shared by an area and everything under it (a LIKE pattern to bind).

    Street codes end in ``000`` and their communities replace those digits, so a street's
    subtree is its first nine digits.

    >>> subtree_prefix("620881"), subtree_prefix("620881001000"), subtree_prefix("620881001001")
    ('620881%', '620881001%', '620881001001%')
    """
    return subtree_code_prefix(code) + "%"
