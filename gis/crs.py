"""Coordinate reference systems: parsing user input and converting coordinates.

gridgov stores everything in EPSG:4326 (lon/lat). Users and their files speak other frames:

- WGS84 as ``EPSG:4326`` or ``OGC:CRS84`` (the same datum; *all functions here use lon/lat
  order for both*, i.e. ``always_xy`` — an OGC API that must honour the EPSG:4326 lat/lon axis
  order swaps at its own edge);
- CGCS2000 ``EPSG:4490``, China's official frame, within centimetres of WGS84;
- projected systems through PROJ: Web Mercator ``EPSG:3857``, the CGCS2000 Gauss-Krüger zones
  ``EPSG:4491``–``4554`` (e.g. 3-degree zone 38 is ``EPSG:4526``), UTM, …;
- ``GCJ02``: the "Mars" frame of AMap/Gaode, Tencent and WeChat location — WGS84 with a
  deliberate non-linear shift of some 300–500 m;
- ``BD09``: Baidu's frame, a further rotation/offset of GCJ-02.

GCJ-02 and BD-09 are not in PROJ. We implement the published forward transforms (the
widely-circulated ``eviltransform`` formulas) and invert them by fixed-point iteration; the
inverse is exact to better than a millimetre inside China (tests/gis/test_crs.py measures it on
a 0.5° grid with :class:`pyproj.Geod`).

**The out-of-China rule.** The GCJ-02 shift applies only inside the rectangle
lon 73.66–135.05, lat 3.86–53.55 (:func:`in_china`, the rule every published implementation
uses). Outside it GCJ-02 coordinates *are* WGS84 coordinates, and BD-09 is then applied directly
to WGS84. The rectangle is a crude outline of China; points in neighbouring countries inside it
are shifted too — which is also what AMap does, so it is the right rule for converting its data.
For the inverse the rule is applied to the *given* (shifted) point; within a few hundred metres
of the rectangle's edge a point could in principle be classified differently before and after
the shift, which concerns only the sea and remote borders, never a Chinese city.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gis.errors import InvalidInput

WGS84 = "EPSG:4326"
CRS84 = "OGC:CRS84"
CGCS2000 = "EPSG:4490"
WEB_MERCATOR = "EPSG:3857"
GCJ02 = "GCJ02"
BD09 = "BD09"

SUPPORTED: tuple[str, ...] = (
    WGS84,  # WGS84 lon/lat (axis order lon, lat in every function here)
    CRS84,  # WGS84 lon/lat, OGC's name; identical coordinates
    CGCS2000,  # China Geodetic Coordinate System 2000
    WEB_MERCATOR,  # Web Mercator metres (Tianditu _w layers, slippy maps)
    GCJ02,  # AMap/Gaode, Tencent, WeChat
    BD09,  # Baidu
    "EPSG:<n>",  # any other 2-D geographic or projected EPSG code known to PROJ (e.g. 4526–4554)
)
"""The canonical names :func:`parse_crs` returns; ``EPSG:<n>`` stands for any known code."""

ACCEPTED_FORMS = (
    "EPSG:4326, 4326, http://www.opengis.net/def/crs/EPSG/0/4326, urn:ogc:def:crs:EPSG::4326, "
    "CRS84 or http://www.opengis.net/def/crs/OGC/1.3/CRS84, GCJ02 (GCJ-02, AMap/WeChat), "
    "BD09 (BD-09, Baidu), or any other EPSG code such as EPSG:4490, EPSG:3857, EPSG:4526"
)

_EPSG_PATTERNS = (
    re.compile(r"^(?:epsg:)?(\d{4,6})$", re.IGNORECASE),
    re.compile(r"^https?://www\.opengis\.net/def/crs/epsg/0/(\d{4,6})$", re.IGNORECASE),
    re.compile(r"^urn:ogc:def:crs:epsg:[\d.]*:(\d{4,6})$", re.IGNORECASE),
)
_ALIASES = {
    "crs84": CRS84,
    "ogc:crs84": CRS84,
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "https://www.opengis.net/def/crs/ogc/1.3/crs84": CRS84,
    "urn:ogc:def:crs:ogc:1.3:crs84": CRS84,
    "wgs84": WGS84,
    "wgs 84": WGS84,
    "cgcs2000": CGCS2000,
    "gcj02": GCJ02,
    "gcj-02": GCJ02,
    "gcj_02": GCJ02,
    "bd09": BD09,
    "bd-09": BD09,
    "bd_09": BD09,
    "bd09ll": BD09,
}
# Frames whose coordinates are WGS84 lon/lat unchanged (CGCS2000 differs by centimetres but we
# still go through PROJ for it, so that its own transformation choice applies).
_LONLAT_WGS84 = frozenset({WGS84, CRS84})


def parse_crs(value: str) -> str:
    """Normalise a CRS given by a user to its canonical name.

    Parameters
    ----------
    value
        An EPSG code in any usual spelling, an OGC URI or URN, ``CRS84``, ``gcj02``/``GCJ-02``
        or ``bd09``/``BD-09``.

    Returns
    -------
    str
        One of ``EPSG:4326``, ``OGC:CRS84``, ``GCJ02``, ``BD09`` or ``EPSG:<n>``.

    Raises
    ------
    gis.errors.InvalidInput
        With ``parameter="crs"``, naming the accepted forms, when the value is not understood,
        the EPSG code is unknown to PROJ, or the CRS is not a 2-D geographic/projected one.

    Examples
    --------
    >>> parse_crs("4326"), parse_crs("epsg:4490"), parse_crs("GCJ-02"), parse_crs("bd09")
    ('EPSG:4326', 'EPSG:4490', 'GCJ02', 'BD09')
    >>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/3857")
    'EPSG:3857'
    >>> parse_crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    'OGC:CRS84'
    >>> parse_crs("EPSG:999999")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis.errors.InvalidInput: unknown EPSG code 999999 ...
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"crs is empty; give one of: {ACCEPTED_FORMS}", parameter="crs")
    cleaned = value.strip()
    alias = _ALIASES.get(cleaned.lower())
    if alias is not None:
        return alias
    for pattern in _EPSG_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            return _checked_epsg(int(match.group(1)))
    raise InvalidInput(
        f"crs {cleaned[:80]!r} is not understood; give one of: {ACCEPTED_FORMS}", parameter="crs"
    )


@lru_cache(maxsize=256)
def _checked_epsg(code: int) -> str:
    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        raise InvalidInput(
            f"unknown EPSG code {code} (PROJ does not know it); give one of: {ACCEPTED_FORMS}",
            parameter="crs",
        ) from None
    if not (crs.is_geographic or crs.is_projected) or len(crs.axis_info) != 2:
        raise InvalidInput(
            f"EPSG:{code} ({crs.name}) is not a 2-D geographic or projected CRS; "
            f"give one of: {ACCEPTED_FORMS}",
            parameter="crs",
        )
    return f"EPSG:{code}"


# --- GCJ-02 and BD-09 -----------------------------------------------------------------------

_KRASOVSKY_A = 6378245.0  # semi-major axis used by the GCJ-02 formulas
_KRASOVSKY_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_X_PI = math.pi * 3000.0 / 180.0
_CHINA_WEST, _CHINA_EAST, _CHINA_SOUTH, _CHINA_NORTH = 73.66, 135.05, 3.86, 53.55
_INVERSE_TOLERANCE_DEG = 1e-11  # about a micrometre
_INVERSE_MAX_ITERATIONS = 30

FloatArray = NDArray[np.float64]


def gcj02_parameters() -> dict[str, object]:
    """The constants of the GCJ-02 transform, for the browser's copy (``gcj02.js``).

    The map pages hand these to their script, so the China rectangle and the ellipsoid exist
    only here; the browser test runs the JavaScript on the same points as :func:`wgs84_to_gcj02`
    and compares within 1e-9°.

    >>> gcj02_parameters()["china"]
    [73.66, 3.86, 135.05, 53.55]
    """
    return {
        "a": _KRASOVSKY_A,
        "ee": _KRASOVSKY_EE,
        # west, south, east, north; the shift applies strictly inside (see in_china)
        "china": [_CHINA_WEST, _CHINA_SOUTH, _CHINA_EAST, _CHINA_NORTH],
    }


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether the GCJ-02 shift applies at a point (the published bounding-box rule).

    >>> bool(in_china(106.68, 35.22)), bool(in_china(2.35, 48.85))
    (True, False)
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    return (x > _CHINA_WEST) & (x < _CHINA_EAST) & (y > _CHINA_SOUTH) & (y < _CHINA_NORTH)


def _shift_lat(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _shift_lon(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """The published forward GCJ-02 transform (identity outside :func:`in_china`).

    >>> x, y = wgs84_to_gcj02(116.404, 39.915)  # wandergis/coordtransform's example
    >>> round(float(x), 9), round(float(y), 9)
    (116.410244499, 39.916404282)
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    dlat = _shift_lat(x - 105.0, y - 35.0)
    dlon = _shift_lon(x - 105.0, y - 35.0)
    radlat = y / 180.0 * np.pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(x, y)
    return np.where(inside, x + dlon, x), np.where(inside, y + dlat, y)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (sub-millimetre in China).

    >>> x, y = gcj02_to_wgs84(*wgs84_to_gcj02(106.68, 35.22))
    >>> round(float(x), 9), round(float(y), 9)
    (106.68, 35.22)
    """
    gx = np.asarray(lon, dtype=float)
    gy = np.asarray(lat, dtype=float)
    return _invert(wgs84_to_gcj02, gx, gy, in_china(gx, gy))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """The published forward BD-09 transform from GCJ-02 (applied everywhere).

    >>> x, y = gcj02_to_bd09(116.404, 39.915)  # wandergis/coordtransform's example
    >>> round(float(x), 9), round(float(y), 9)
    (116.410369494, 39.921336994)
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Invert :func:`gcj02_to_bd09` by iteration (the closed-form inverse is off by metres)."""
    bx = np.asarray(lon, dtype=float)
    by = np.asarray(lat, dtype=float)
    return _invert(gcj02_to_bd09, bx, by, np.ones(bx.shape, dtype=bool))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 → GCJ-02 → BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 → GCJ-02 → WGS84, both steps inverted iteratively."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    tx: FloatArray,
    ty: FloatArray,
    applies: NDArray[np.bool_],
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(p) = t`` for p, starting at p = t and correcting by the residual.

    The shifts vary slowly (their derivative is far below 1), so the iteration contracts; it
    converges to ~1e-11° in four or five steps.
    """
    x = tx.copy()
    y = ty.copy()
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        dx = fx - tx
        dy = fy - ty
        x = x - dx
        y = y - dy
        finite = np.isfinite(dx) & np.isfinite(dy)
        if (
            not finite.any()
            or max(
                float(np.max(np.abs(dx[finite]), initial=0.0)),
                float(np.max(np.abs(dy[finite]), initial=0.0)),
            )
            < _INVERSE_TOLERANCE_DEG
        ):
            break
    return np.where(applies, x, tx), np.where(applies, y, ty)


# --- PROJ -----------------------------------------------------------------------------------


@lru_cache(maxsize=128)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _proj_name(crs: str) -> str:
    return WGS84 if crs == CRS84 else crs


def _to_wgs84_arrays(x: FloatArray, y: FloatArray, src: str) -> tuple[FloatArray, FloatArray]:
    if src in _LONLAT_WGS84:
        return x, y
    if src == GCJ02:
        return gcj02_to_wgs84(x, y)
    if src == BD09:
        return bd09_to_wgs84(x, y)
    lon, lat = _transformer(src, WGS84).transform(x, y)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _from_wgs84_arrays(lon: FloatArray, lat: FloatArray, dst: str) -> tuple[FloatArray, FloatArray]:
    if dst in _LONLAT_WGS84:
        return lon, lat
    if dst == GCJ02:
        return wgs84_to_gcj02(lon, lat)
    if dst == BD09:
        return wgs84_to_bd09(lon, lat)
    x, y = _transformer(WGS84, dst).transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def transform_arrays(
    xs: ArrayLike, ys: ArrayLike, src: str, dst: str
) -> tuple[FloatArray, FloatArray]:
    """Convert coordinate arrays from ``src`` to ``dst`` (vectorised; x = lon/easting).

    Parameters
    ----------
    xs, ys
        Coordinates in ``src``; longitudes/eastings first whatever the CRS's axis order.
    src, dst
        CRS names in any form :func:`parse_crs` accepts.

    Examples
    --------
    >>> xs, ys = transform_arrays([106.68], [35.22], "EPSG:4326", "EPSG:3857")
    >>> round(float(xs[0]), 1), round(float(ys[0]), 1)
    (11875563.3, 4193818.6)
    >>> xs, ys = transform_arrays(xs, ys, "3857", "CRS84")
    >>> round(float(xs[0]), 9), round(float(ys[0]), 9)
    (106.68, 35.22)
    """
    src_name = parse_crs(src)
    dst_name = parse_crs(dst)
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"xs and ys differ in shape: {x.shape} vs {y.shape}")
    if _proj_name(src_name) == _proj_name(dst_name):
        return x.copy(), y.copy()
    if src_name not in (GCJ02, BD09) and dst_name not in (GCJ02, BD09):
        # Both known to PROJ: one direct transformation, no detour through WGS84.
        out_x, out_y = _transformer(_proj_name(src_name), _proj_name(dst_name)).transform(x, y)
        return np.asarray(out_x, dtype=float), np.asarray(out_y, dtype=float)
    lon, lat = _to_wgs84_arrays(x, y, _proj_name(src_name))
    return _from_wgs84_arrays(lon, lat, _proj_name(dst_name))


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Convert one point from ``crs`` to WGS84 lon/lat.

    >>> x, y = to_wgs84(*from_wgs84(106.68, 35.22, "gcj02"), "GCJ-02")
    >>> round(x, 9), round(y, 9)
    (106.68, 35.22)
    """
    xs, ys = transform_arrays(np.array([lon]), np.array([lat]), crs, WGS84)
    return float(xs[0]), float(ys[0])


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Convert one WGS84 lon/lat point to ``crs``.

    >>> x, y = from_wgs84(106.68, 35.22, "bd09")
    >>> round(x, 6), round(y, 6)
    (106.690641, 35.225602)
    """
    xs, ys = transform_arrays(np.array([lon]), np.array([lat]), WGS84, crs)
    return float(xs[0]), float(ys[0])


# --- CRS definitions in files ---------------------------------------------------------------

# GCJ-02 and BD-09 have no EPSG code and PROJ cannot convert them; a file in either must still
# say so, or every GIS reads it as WGS84 and overlays it some 500 m off. The definitions below
# are geographic CRSs with a datum of their own name (so no GIS takes them for WGS84 and PROJ
# offers no silent conversion) on the WGS 84 ellipsoid (the frame they shift). The name is what
# GIS software shows and what :func:`identify_crs` recognises when the file comes back.
_CUSTOM_NAMES = {GCJ02: "GCJ-02", BD09: "BD-09"}
_CUSTOM_DATUMS = {
    GCJ02: "GCJ-02 (WGS 84 shifted by the GCJ-02 obfuscation; AMap, Tencent, WeChat)",
    BD09: "BD-09 (GCJ-02 shifted again by Baidu)",
}
_DEGREE = 'ANGLEUNIT["degree",0.0174532925199433]'


def custom_crs_wkt(crs: str) -> str:
    """The WKT2 definition gridgov writes into files in GCJ-02 or BD-09.

    >>> CRS.from_wkt(custom_crs_wkt("gcj02")).name
    'GCJ-02'
    >>> CRS.from_wkt(custom_crs_wkt("bd09")).to_epsg() is None
    True
    """
    name = parse_crs(crs)
    if name not in _CUSTOM_NAMES:
        raise ValueError(f"{name} has an EPSG definition; only GCJ02 and BD09 need a custom one")
    return (
        f'GEOGCRS["{_CUSTOM_NAMES[name]}",'
        f'DATUM["{_CUSTOM_DATUMS[name]}",'
        'ELLIPSOID["WGS 84",6378137,298.257223563,LENGTHUNIT["metre",1]]],'
        f'PRIMEM["Greenwich",0,{_DEGREE}],'
        "CS[ellipsoidal,2],"
        f'AXIS["longitude",east,ORDER[1],{_DEGREE}],'
        f'AXIS["latitude",north,ORDER[2],{_DEGREE}],'
        f'REMARK["No EPSG code and not convertible by PROJ; convert with gridgov '
        f'(gis.crs) or another {_CUSTOM_NAMES[name]} implementation"]]'
    )


def file_crs(crs: str) -> CRS:
    """The :class:`pyproj.CRS` to label a file with (EPSG, or the custom GCJ-02/BD-09 one).

    >>> file_crs("gcj02").name, file_crs("EPSG:4490").to_epsg()
    ('GCJ-02', 4490)
    """
    name = parse_crs(crs)
    if name in _CUSTOM_NAMES:
        return CRS.from_wkt(custom_crs_wkt(name))
    return CRS.from_user_input(_proj_name(name))


def _squeezed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def identify_crs(declared: str) -> str:
    """The canonical name of a CRS a file declares (an EPSG string, WKT, or our custom names).

    Recognises gridgov's own GCJ-02/BD-09 definitions also after a shapefile's ESRI rewrite
    (``GCS_GCJ-02``), and WKT without an EPSG code that PROJ identifies with one.

    >>> identify_crs(custom_crs_wkt("bd09")), identify_crs("EPSG:4490")
    ('BD09', 'EPSG:4490')
    >>> identify_crs(CRS.from_epsg(4527).to_wkt())
    'EPSG:4527'
    """
    try:
        return parse_crs(declared)
    except InvalidInput:
        pass
    try:
        crs = CRS.from_user_input(declared)
    except CRSError:
        raise InvalidInput(
            f"the file's coordinate system is not understood ({declared[:80]!r}); "
            "give it with --crs",
            parameter="crs",
        ) from None
    # The CRS's own name first (BD-09's datum mentions GCJ-02), then its datum's.
    for names in (_squeezed(crs.name), _squeezed(crs.datum.name if crs.datum else "")):
        for canonical, label in _CUSTOM_NAMES.items():
            if _squeezed(label) in names:
                return canonical
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        raise InvalidInput(
            f"the file's coordinate system {crs.name!r} has no EPSG code PROJ can identify; "
            "give its EPSG code with --crs",
            parameter="crs",
        )
    return _checked_epsg(code)


def crs_note(crs: str) -> str:
    """The sidecar note that travels with a file in GCJ-02 or BD-09 (a README for people)."""
    name = parse_crs(crs)
    label = _CUSTOM_NAMES[name]
    return (
        f"Coordinate system: {label} ({name})\n\n"
        f"The coordinates in this file are longitude/latitude in {label}, the frame of "
        + ("AMap/Gaode, Tencent and WeChat maps" if name == GCJ02 else "Baidu maps")
        + ". It has no EPSG code: WGS 84 (EPSG:4326) coordinates shifted by some 300-500 m "
        "by a published non-linear formula. Overlaid on WGS 84 or CGCS2000 data it appears "
        "shifted; convert it before measuring or overlaying.\n"
        f"The file declares a custom CRS named {label!r}; gridgov import recognises it, or give "
        f"--crs {name.lower()}.\n\nWKT2:\n{custom_crs_wkt(name)}\n"
    )


METRES_PER_DEGREE = 111_320.0  # at the equator; one decimal place more is never less precise
MIN_PRECISION_M = 1e-6  # a micrometre: below it doubles in degrees carry nothing more
MAX_PRECISION_M = 1000.0


def decimals_for(crs: str, precision_m: float) -> int:
    """Decimal places that keep coordinates in ``crs`` to ``precision_m`` metres.

    >>> decimals_for("EPSG:4326", 0.01), decimals_for("gcj02", 0.01), decimals_for("3857", 0.01)
    (7, 7, 2)
    >>> decimals_for("EPSG:4527", 1.0), decimals_for("EPSG:4326", 0.001)
    (0, 8)
    """
    if not MIN_PRECISION_M <= precision_m <= MAX_PRECISION_M:
        raise InvalidInput(
            "precision is the coordinate resolution in metres, from "
            f"{MIN_PRECISION_M:g} to {MAX_PRECISION_M:g}, e.g. 0.01 (1 cm)",
            parameter="precision",
        )
    name = parse_crs(crs)
    geographic = name in _CUSTOM_NAMES or CRS.from_user_input(_proj_name(name)).is_geographic
    unit = precision_m / METRES_PER_DEGREE if geographic else precision_m
    return max(0, round(-math.log10(unit)))


def area_of_use(crs: str) -> tuple[float, float, float, float]:
    """Where ``crs`` may be used, as WGS84 (west, south, east, north); GCJ-02/BD-09: China.

    >>> area_of_use("gcj02")
    (73.66, 3.86, 135.05, 53.55)
    >>> [round(v) for v in area_of_use("EPSG:4527")]  # CGCS2000 3-degree GK zone 39
    [116, 23, 118, 50]
    """
    name = parse_crs(crs)
    if name in _CUSTOM_NAMES:
        return (_CHINA_WEST, _CHINA_SOUTH, _CHINA_EAST, _CHINA_NORTH)
    area = CRS.from_user_input(_proj_name(name)).area_of_use
    if area is None:
        return (-180.0, -90.0, 180.0, 90.0)
    return (area.west, area.south, area.east, area.north)


def china_bounds() -> tuple[float, float, float, float]:
    """The rectangle around China (west, south, east, north) of :func:`in_china`."""
    return (_CHINA_WEST, _CHINA_SOUTH, _CHINA_EAST, _CHINA_NORTH)
