"""Exports that say their true CRS, coordinate precision, Excel's cell limit, and imports that
never crash: the broken-input corpus (issue 18, items 1, 2, 4 and 8).

Runs on the scratch io database (tests/gis/conftest.py); every test's writes are rolled back.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.crs import BD09, GCJ02, custom_crs_wkt, identify_crs
from gis.errors import InvalidInput
from gis.io import export, importer, readers
from gis.queries import export as public_export
from gis.scope import ANONYMOUS, Viewer
from tests.gis.test_io_import_export import COUNTED, counts

CUSTOM = {"gcj02": ("GCJ-02", GCJ02), "bd09": ("BD-09", BD09)}


def current_grids(session: Session) -> int:
    return session.execute(
        text("SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL")
    ).scalar_one()


# --- exports carry their true CRS ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson"])
@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_gcj02_and_bd09_files_name_their_crs_and_import_back_without_crs(
    io_session: Session, tmp_path: Path, crs: str, fmt: str
) -> None:
    label, canonical = CUSTOM[crs]
    path = tmp_path / export.default_filename("grids", fmt, None)
    export.export_layer(io_session, ANONYMOUS, "grids", path, fmt=fmt, crs=crs)
    source = f"/vsizip/{path}/grids.shp" if fmt == "shp" else str(path)
    declared = pyogrio.read_info(source)["crs"]
    # Not WGS84: a GIS that overlays it must not take it for EPSG:4326.
    assert declared != "EPSG:4326" and label.replace("-", "") in declared.replace("-", "")
    assert identify_crs(declared) == canonical
    # Debian's GDAL (ogrinfo) shows the name too.
    info = subprocess.run(
        ["ogrinfo", "-so", "-ro", source, "grids"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(rf'GEOG(CRS|CS)\["(GCS_)?{label}"', info), info[-800:]
    # The sidecar note travels with the file.
    if fmt == "shp":
        with zipfile.ZipFile(path) as archive:
            note = archive.read("grids.crs.txt").decode()
    else:
        note = (tmp_path / f"{path.name}.crs.txt").read_text(encoding="utf-8")
    assert note.startswith(f"Coordinate system: {label} ({canonical})")
    assert custom_crs_wkt(canonical) in note
    # Our import recognises its own export: no --crs, nothing changes.
    prepared = importer.prepare(io_session, "grids", path)
    assert prepared.report.ok, [i.message for i in prepared.report.errors][:3]
    assert prepared.report.source_crs == canonical
    importer.run(io_session, prepared, importer_operator())
    assert prepared.report.changes["area"] == {
        "inserted": 0,
        "updated": 0,
        "unchanged": current_grids(io_session),
    }


def importer_operator() -> Viewer:
    from tests.gis.test_io_import_export import OPERATOR

    return OPERATOR


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_gcj02_table_export_is_recognised_by_its_sidecar_note(
    io_session: Session, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"facilities.{fmt}"
    export.export_layer(io_session, ANONYMOUS, "service_facilities", path, fmt=fmt, crs="gcj02")
    assert (tmp_path / f"facilities.{fmt}.crs.txt").is_file()
    prepared = importer.prepare(io_session, "service_facilities", path)
    assert prepared.report.ok and prepared.report.source_crs == GCJ02
    importer.run(io_session, prepared, importer_operator())
    assert prepared.report.changes["service_facility"]["updated"] == 0
    # Without the note the same file is read as WGS84 and lands ~500 m off: updated rows.
    (tmp_path / f"facilities.{fmt}.crs.txt").unlink()
    assert importer.prepare(io_session, "service_facilities", path).report.source_crs != GCJ02


def test_api_export_in_gcj02_names_the_crs(io_session: Session, tmp_path: Path) -> None:
    exported = public_export.export_layer(io_session, ANONYMOUS, "grids", fmt="gpkg", crs="bd09")
    try:
        assert identify_crs(pyogrio.read_info(exported.path)["crs"]) == BD09
    finally:
        exported.cleanup()


# --- precision ------------------------------------------------------------------------------


def _decimals(values: list[float]) -> int:
    return max(len(repr(v).split(".")[1]) if "." in repr(v) else 0 for v in values)


def test_coordinates_are_written_to_about_a_centimetre_unless_asked(
    io_session: Session, tmp_path: Path
) -> None:
    default = tmp_path / "g.geojson"
    export.export_layer(io_session, ANONYMOUS, "grids", default, fmt="geojson")
    coords = shapely.get_coordinates(gpd.read_file(default).geometry.values).ravel().tolist()
    assert _decimals(coords) == 7  # 1e-7° ≈ 1.1 cm
    coarse = tmp_path / "c.geojson"
    export.export_layer(io_session, ANONYMOUS, "grids", coarse, fmt="geojson", precision=1.0)
    coords = shapely.get_coordinates(gpd.read_file(coarse).geometry.values).ravel().tolist()
    assert _decimals(coords) <= 5
    metres = tmp_path / "m.csv"
    export.export_layer(
        io_session, ANONYMOUS, "grids", metres, fmt="csv", crs="EPSG:3857", precision=0.01
    )
    wkt = " ".join(pd.read_csv(metres, dtype=str)["wkt"])
    numbers = re.findall(r"\d+\.\d+", wkt)
    assert numbers and max(len(n.split(".")[1]) for n in numbers) <= 2
    # not 17 significant digits any more
    assert not re.search(r"\d+\.\d{8,}", default.read_text())
    with pytest.raises(InvalidInput, match="metres"):
        export.export_layer(io_session, ANONYMOUS, "grids", default, fmt="geojson", precision=0)


# --- Excel's cell limit ---------------------------------------------------------------------


def test_xlsx_refuses_geometry_beyond_the_cell_limit(tmp_path: Path) -> None:
    angles = np.linspace(0, 2 * np.pi, 4895, endpoint=False)
    ring = np.column_stack([106.65 + 0.01 * np.cos(angles), 35.2 + 0.01 * np.sin(angles)])
    county = Polygon(ring)
    frame = gpd.GeoDataFrame(
        {"code": ["620881"], "name": ["华亭市"]}, geometry=[county], crs="EPSG:4326"
    )
    path = tmp_path / "big.xlsx"
    with pytest.raises(InvalidInput, match=r"620881.*32,767") as caught:
        export.write_frame(frame, path, "xlsx", "districts", "EPSG:4326", 7)
    assert "gpkg" in caught.value.detail
    assert not path.exists() and list(tmp_path.iterdir()) == []
    # The same geometry fits as CSV, whole.
    export.write_frame(frame, tmp_path / "big.csv", "csv", "districts", "EPSG:4326", 7)
    back = readers.read_source(tmp_path / "big.csv")
    assert back.geometry is not None
    assert shapely.get_num_coordinates(back.geometry[0]) == 4896


# --- the broken-input corpus: messages, never tracebacks, nothing written ---------------------


def _feature(code: str, ring: list[list[float]]) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": f"网格{code[-3:]}"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def _grid_corner(session: Session) -> tuple[str, float, float]:
    row = session.execute(
        text(
            "SELECT code, ST_X(ST_PointOnSurface(geom)) x, ST_Y(ST_PointOnSurface(geom)) y "
            "FROM area WHERE level = 'community' AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    return row.code, row.x, row.y


def test_unclosed_ring_is_a_row_message_not_a_traceback(
    io_session: Session, tmp_path: Path
) -> None:
    community, x, y = _grid_corner(io_session)
    d = 2e-4
    unclosed = [[x, y], [x + d, y], [x + d, y + d], [x, y + d]]
    path = tmp_path / "unclosed.geojson"
    path.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": [_feature(community + "201", unclosed)]}
        ),
        encoding="utf-8",
    )
    before = counts(io_session)
    report = importer.prepare(io_session, "grids", path).report
    assert not report.ok
    (issue,) = report.errors
    assert issue.row == 1 and issue.field == "geometry"
    assert "closed" in issue.message  # GEOS: "Points of LinearRing do not form a closed linestring"
    assert counts(io_session) == before


def test_lon_lat_forced_as_web_mercator_is_refused_in_the_dry_run(
    io_session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "grids.gpkg"
    export.export_layer(io_session, ANONYMOUS, "grids", path, fmt="gpkg")
    before = counts(io_session)
    with pytest.raises(InvalidInput, match="nowhere near China") as caught:
        importer.prepare(io_session, "grids", path, crs="3857")
    assert "--crs 4326" in caught.value.detail  # says what to do
    # Gauss-Krüger zone 36 metres read as zone 39: outside that CRS's area of use.
    zoned = tmp_path / "zone36.gpkg"
    export.export_layer(io_session, ANONYMOUS, "grids", zoned, fmt="gpkg", crs="EPSG:4524")
    with pytest.raises(InvalidInput, match="outside where EPSG:4527 is used"):
        importer.prepare(io_session, "grids", zoned, crs="4527")
    assert counts(io_session) == before


def test_a_file_outside_the_governed_districts_is_refused(
    io_session: Session, tmp_path: Path
) -> None:
    community, _, _ = _grid_corner(io_session)
    x, y, d = 116.4, 39.9, 2e-3  # Beijing: in China, but not this city's
    path = tmp_path / "elsewhere.geojson"
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": [_feature(community + "201", ring)]}),
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput, match="outside the districts this database governs"):
        importer.prepare(io_session, "grids", path)


def test_an_oversized_file_is_refused_with_the_limit(
    io_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "grids.geojson"
    export.export_layer(io_session, ANONYMOUS, "grids", path, fmt="geojson")
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", path.stat().st_size - 1)
    before = counts(io_session)
    with pytest.raises(InvalidInput, match=r"too large to import in one go.*split it"):
        importer.prepare(io_session, "grids", path)
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 10**9)
    monkeypatch.setattr(readers, "MAX_FEATURES", 3)
    with pytest.raises(InvalidInput, match="features"):
        importer.prepare(io_session, "grids", path)
    assert counts(io_session) == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("truncated.geojson", '{"type": "FeatureCollection", "features": [', "cannot be read"),
        ("binary.gpkg", "\x00\x01 not sqlite", "cannot be read"),
        ("notzip.zip", "PK but not a zip", "not a valid zip"),
        ("empty.csv", "", "empty"),
        ("bad.csv", "code,name,wkt\n620881001001201,a,POLYGON((1 2\n", None),
        ("letters.csv", "code,name,kind,经度,纬度\n620881001001201,a,x,东,北\n", None),
    ],
)
def test_broken_files_give_messages_and_write_nothing(
    io_session: Session, tmp_path: Path, name: str, content: str, message: str | None
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    before = counts(io_session)
    layer = "service_facilities" if name == "letters.csv" else "grids"
    if message is None:  # a row-level problem: reported on its row
        report = importer.prepare(io_session, layer, path).report
        assert not report.ok
        assert any(i.row == 1 and i.field == "geometry" for i in report.errors)
    else:
        with pytest.raises(InvalidInput, match=message):
            importer.prepare(io_session, layer, path)
    assert counts(io_session) == before
    assert COUNTED  # the tables compared


# --- DataV-style district files --------------------------------------------------------------


def test_datav_adcode_is_recognised_as_the_code(io_session: Session, tmp_path: Path) -> None:
    district = io_session.execute(
        text(
            "SELECT code, name, ST_AsGeoJSON(geom) g FROM area "
            "WHERE level = 'district' AND valid_to IS NULL LIMIT 1"
        )
    ).one()
    path = tmp_path / "datav.json"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "adcode": int(district.code),
                            "name": district.name,
                            "level": "district",
                            "parent": {"adcode": int(district.code[:4] + "00")},
                        },
                        "geometry": json.loads(district.g),
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    prepared = importer.prepare(io_session, "districts", path)
    assert prepared.report.ok, [i.message for i in prepared.report.errors]
    assert [r["code"] for r in prepared.records] == [district.code]
