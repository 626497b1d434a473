"""gis.crs: parsing, the GCJ-02/BD-09 transforms and their inverses, PROJ round trips."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from pyproj import Geod, Transformer

import gis.crs
from gis.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    parse_crs,
    to_wgs84,
    transform_arrays,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gis.errors import InvalidInput

GEOD = Geod(ellps="WGS84")


def china_grid() -> tuple[np.ndarray, np.ndarray]:
    """Every 0.5° over lon 73–135, lat 18–53 that lies inside the GCJ-02 region."""
    lons, lats = np.meshgrid(np.arange(73.0, 135.0001, 0.5), np.arange(18.0, 53.0001, 0.5))
    lons, lats = lons.ravel(), lats.ravel()
    inside = in_china(lons, lats)
    return lons[inside], lats[inside]


def metres(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    _, _, distance = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(distance)


def test_doctests() -> None:
    result = doctest.testmod(gis.crs, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("EPSG:4326", "EPSG:4326"),
        ("4326", "EPSG:4326"),
        (" epsg:4490 ", "EPSG:4490"),
        ("http://www.opengis.net/def/crs/EPSG/0/3857", "EPSG:3857"),
        ("urn:ogc:def:crs:EPSG::4326", "EPSG:4326"),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84"),
        ("CRS84", "OGC:CRS84"),
        ("gcj02", "GCJ02"),
        ("GCJ-02", "GCJ02"),
        ("bd09", "BD09"),
        ("BD-09", "BD09"),
        ("EPSG:4526", "EPSG:4526"),
        ("4554", "EPSG:4554"),
    ],
)
def test_parse_crs_normalises(value: str, expected: str) -> None:
    assert parse_crs(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "EPSG:999999", "EPSG:abc", "mars", "http://example.com/crs/4326", "EPSG:4978", "5773"],
)
def test_parse_crs_rejects_unknown_naming_the_forms(value: str) -> None:
    # 4978 is geocentric (3-D) and 5773 a vertical CRS: known to PROJ but not usable here.
    with pytest.raises(InvalidInput) as info:
        parse_crs(value)
    assert info.value.parameter == "crs"
    assert "EPSG:4326" in info.value.detail and "GCJ02" in info.value.detail


# Reference pairs (WGS84 lat, lon → GCJ-02 lat, lon) from eviltransform's test suite.
EVILTRANSFORM_CASES = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM_CASES)
def test_gcj02_forward_matches_published_values(
    wlat: float, wlon: float, glat: float, glon: float
) -> None:
    x, y = wgs84_to_gcj02(wlon, wlat)
    assert float(x) == pytest.approx(glon, abs=1e-9)
    assert float(y) == pytest.approx(glat, abs=1e-9)


def test_bd09_forward_matches_published_value() -> None:
    # wandergis/coordtransform README: gcj02tobd09(116.404, 39.915)
    x, y = gcj02_to_bd09(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.41036949371029, 39.92133699351022))


def test_gcj02_shift_is_hundreds_of_metres_in_china() -> None:
    lons, lats = china_grid()
    gx, gy = wgs84_to_gcj02(lons, lats)
    shift = metres(lons, lats, gx, gy)
    assert shift.min() > 1.0 and shift.max() < 1500.0
    assert np.median(shift) > 100.0


def test_gcj02_inverse_within_half_a_metre_everywhere_in_china() -> None:
    lons, lats = china_grid()
    assert lons.size > 5000
    gx, gy = wgs84_to_gcj02(lons, lats)
    back_x, back_y = gcj02_to_wgs84(gx, gy)
    error = metres(lons, lats, back_x, back_y)
    assert error.max() < 0.5
    # In fact the iteration converges far beyond the requirement.
    assert error.max() < 0.001


def test_bd09_inverse_within_half_a_metre_everywhere_in_china() -> None:
    lons, lats = china_grid()
    bx, by = wgs84_to_bd09(lons, lats)
    back_x, back_y = bd09_to_wgs84(bx, by)
    assert metres(lons, lats, back_x, back_y).max() < 0.001
    gx, gy = wgs84_to_gcj02(lons, lats)
    gback_x, gback_y = bd09_to_gcj02(*gcj02_to_bd09(gx, gy))
    assert metres(gx, gy, gback_x, gback_y).max() < 0.001


def test_outside_china_gcj02_is_wgs84_and_bd09_still_applies() -> None:
    paris = (2.3522, 48.8566)
    assert to_wgs84(*paris, "gcj02") == pytest.approx(paris, abs=0)
    assert from_wgs84(*paris, "gcj02") == pytest.approx(paris, abs=0)
    bd = from_wgs84(*paris, "bd09")
    assert bd != pytest.approx(paris, abs=1e-4)
    assert to_wgs84(*bd, "bd09") == pytest.approx(paris, abs=1e-9)


def test_mixed_arrays_apply_the_rule_per_point() -> None:
    lons = np.array([106.68, 2.35])
    lats = np.array([35.22, 48.85])
    gx, gy = wgs84_to_gcj02(lons, lats)
    assert gx[0] != lons[0] and gx[1] == lons[1] and gy[1] == lats[1]


@pytest.mark.parametrize("epsg", ["EPSG:3857", "EPSG:4490", "EPSG:4526", "EPSG:4545", "32648"])
def test_projected_round_trip_and_agrees_with_pyproj(epsg: str) -> None:
    lons = np.array([105.5, 106.68, 107.9, 114.0])
    lats = np.array([34.5, 35.22, 36.1, 30.5])
    xs, ys = transform_arrays(lons, lats, "EPSG:4326", epsg)
    code = parse_crs(epsg)
    ex, ey = Transformer.from_crs("EPSG:4326", code, always_xy=True).transform(lons, lats)
    np.testing.assert_allclose(xs, ex, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ys, ey, rtol=0, atol=1e-6)
    back_x, back_y = transform_arrays(xs, ys, epsg, "CRS84")
    assert metres(lons, lats, back_x, back_y).max() < 0.001


def test_gauss_kruger_zone_easting_carries_the_zone_number() -> None:
    # EPSG:4526 is CGCS2000 3-degree zone 38 (central meridian 114°E, false easting 38 500 000).
    x, y = from_wgs84(114.0, 30.5, "EPSG:4526")
    assert x == pytest.approx(38_500_000, abs=1.0)
    assert 3_300_000 < y < 3_400_000


def test_between_chinese_frames_and_projections() -> None:
    lon, lat = 106.68, 35.22
    mx, my = from_wgs84(lon, lat, "EPSG:3857")
    # GCJ-02 → Web Mercator goes through WGS84; compare against doing it by hand.
    gx, gy = from_wgs84(lon, lat, "gcj02")
    xs, ys = transform_arrays([gx], [gy], "gcj02", "EPSG:3857")
    assert (float(xs[0]), float(ys[0])) == pytest.approx((mx, my), abs=0.001)


def test_transform_arrays_rejects_bad_crs_and_shapes() -> None:
    with pytest.raises(InvalidInput):
        transform_arrays([1.0], [2.0], "EPSG:0", "EPSG:4326")
    with pytest.raises(ValueError, match="shape"):
        transform_arrays([1.0, 2.0], [2.0], "EPSG:4326", "EPSG:3857")
