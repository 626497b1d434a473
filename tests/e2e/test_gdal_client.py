"""GDAL's own OGC API – Features client (ogrinfo, ogr2ogr) against a live gridgov server."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pyogrio
import pytest

from tests.conftest import LiveServer, unavailable

pytestmark = pytest.mark.gdal


def _gdal(*args: str) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        unavailable(f"{args[0]} (Debian gdal-bin) is not installed")
    result = subprocess.run(
        [tool or args[0], *args[1:]], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ogrinfo_lists_the_collections(live_server: LiveServer) -> None:
    out = _gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live_server.url}/ogc")
    listed = re.findall(r"^\d+: (\w+)", out, re.MULTILINE)
    assert listed == [
        "streets",
        "communities",
        "grids",
        "buildings",
        "party_orgs",
        "service_facilities",
        "incidents",
    ]


def test_ogrinfo_feature_count_matches_sql(live_server: LiveServer, demo_database_url: str) -> None:
    out = _gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server.url}/ogc", "grids")
    count = int(re.search(r"Feature Count: (\d+)", out).group(1))  # type: ignore[union-attr]
    with psycopg.connect(demo_database_url) as conn:
        expected = conn.execute(
            "SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL"
        ).fetchone()
    assert expected is not None and count == expected[0] > 0


def test_ogr2ogr_copies_grids_to_geopackage(
    live_server: LiveServer, demo_database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "grids.gpkg"
    _gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live_server.url}/ogc", "grids")
    frame = pyogrio.read_dataframe(out, layer="grids")
    with psycopg.connect(demo_database_url) as conn:
        rows = conn.execute(
            "SELECT code, name, ST_Area(geom::geography) FROM area "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code"
        ).fetchall()
    got = sorted(zip(frame["code"], frame["name"], strict=True))
    assert got == [(code, name) for code, name, _ in rows]
    # geometry survived the trip (areas within 0.1 %, on the ellipsoid)
    areas = dict(zip(frame["code"], frame.to_crs(frame.estimate_utm_crs()).area, strict=True))
    for code, _, area in rows:
        assert areas[code] == pytest.approx(area, rel=1e-3)


def test_gdal_pushes_the_where_clause_to_the_server(
    live_server: LiveServer, demo_database_url: str
) -> None:
    """GDAL's OAPIF driver (Debian 3.6) reads each collection's queryables from the OpenAPI 3.0
    service-desc (/ogc/api) and sends ``-where code = ...`` to the server as the query parameter
    (Part 3 queryables-query-parameters) instead of downloading everything."""
    with psycopg.connect(demo_database_url) as conn:
        row = conn.execute(
            "SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL LIMIT 1"
        ).fetchone()
        assert row is not None
        community = row[0]
        count = conn.execute(
            "SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL AND code LIKE %s",
            (community + "%",),
        ).fetchone()
    tool = shutil.which("ogrinfo")
    if tool is None:
        unavailable("ogrinfo (Debian gdal-bin) is not installed")
    where = f"parent_code = '{community}'"
    source = f"OAPIF:{live_server.url}/ogc"
    result = subprocess.run(
        [tool or "ogrinfo", "--debug", "on", "-ro", "-al", "-so", source, "grids", "-where", where],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    fetched = [line for line in result.stderr.splitlines() if "/items" in line]
    assert any(f"parent_code={community}" in line for line in fetched), fetched[-5:]
    got = int(re.search(r"Feature Count: (\d+)", result.stdout).group(1))  # type: ignore[union-attr]
    assert count is not None and got == count[0] > 0
