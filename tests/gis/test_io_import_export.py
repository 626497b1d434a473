"""Import → export → import round trips in every format, bad files, households, masking.

Runs on a scratch database with a small demo city (``io_session`` in
tests/gis/conftest.py); every test's writes are rolled back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import accounts
from gis.boundaries import drafts
from gis.boundaries import operations as ops
from gis.crs import transform_arrays
from gis.errors import Forbidden, InvalidInput
from gis.io import export, importer
from gis.io.validate import Prepared
from gis.scope import ANONYMOUS, Viewer

OPERATOR = Viewer("cli:test", "cli", None)
ADMIN = Viewer("io-admin", "admin", "620881")
COUNTED = ("area", "building", "household", "resident", "party_org", "service_facility", "incident")


def counts(session: Session) -> dict[str, int]:
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}


def roundtrip(session: Session, layer: str, path: Path, **kw: object) -> Prepared:
    prepared = importer.prepare(session, layer, path, **kw)  # type: ignore[arg-type]
    assert prepared.report.ok, [i.message for i in prepared.report.errors][:5]
    importer.run(session, prepared, OPERATOR)
    return prepared


@pytest.mark.parametrize("fmt", export.FORMATS)
@pytest.mark.parametrize("layer", ["grids", "buildings", "service_facilities", "party_orgs"])
def test_export_then_import_changes_nothing(
    io_session: Session, tmp_path: Path, fmt: str, layer: str
) -> None:
    path = tmp_path / export.default_filename(layer, fmt, None)
    written = export.export_layer(io_session, ANONYMOUS, layer, path, fmt=fmt)
    before = counts(io_session)
    prepared = roundtrip(io_session, layer, path)
    table = next(iter(prepared.report.changes))
    expected = io_session.execute(
        text(
            {
                "grids": "SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL",
                "buildings": "SELECT count(*) FROM building WHERE valid_to IS NULL",
                "service_facilities": "SELECT count(*) FROM service_facility",
                "party_orgs": "SELECT count(*) FROM party_org WHERE level <> 'household'",
            }[layer]
        )
    ).scalar_one()
    assert written.rows == expected
    assert prepared.report.changes[table] == {"inserted": 0, "updated": 0, "unchanged": expected}
    assert counts(io_session) == before


# 4524: the CGCS2000 3-degree Gauss-Krüger zone (36, 106.5–109.5°E) of the demo city.
@pytest.mark.parametrize("crs", ["EPSG:4524", "EPSG:3857", "EPSG:4490", "gcj02", "bd09"])
def test_reprojected_export_imports_back_within_a_millimetre(
    io_session: Session, tmp_path: Path, crs: str
) -> None:
    path = tmp_path / "grids.gpkg"
    export.export_layer(io_session, ANONYMOUS, "grids", path, fmt="gpkg", crs=crs)
    prepared = roundtrip(io_session, "grids", path, crs=crs)
    grids = io_session.execute(
        text("SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL")
    ).scalar_one()
    assert prepared.report.changes["area"] == {"inserted": 0, "updated": 0, "unchanged": grids}


@pytest.mark.parametrize("layer", ["districts", "streets", "communities"])
def test_upper_area_levels_round_trip(io_session: Session, tmp_path: Path, layer: str) -> None:
    path = tmp_path / f"{layer}.geojson"
    written = export.export_layer(io_session, ANONYMOUS, layer, path, fmt="geojson")
    level = {"districts": "district", "streets": "street", "communities": "community"}[layer]
    expected = io_session.execute(
        text("SELECT count(*) FROM area WHERE level = :l AND valid_to IS NULL"), {"l": level}
    ).scalar_one()
    prepared = roundtrip(io_session, layer, path)
    assert written.rows == expected > 0
    assert prepared.report.changes["area"] == {"inserted": 0, "updated": 0, "unchanged": expected}


@pytest.mark.parametrize("fmt", ["csv", "gpkg"])
def test_incidents_round_trip_and_masked_files_are_refused(
    io_session: Session, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"incidents.{fmt}"
    written = export.export_layer(io_session, ADMIN, "incidents", path, fmt=fmt, purpose="test")
    expected = io_session.execute(text("SELECT count(*) FROM incident")).scalar_one()
    assert not written.masked and written.rows == expected > 0
    prepared = roundtrip(io_session, "incidents", path)
    assert prepared.report.changes["incident"] == {
        "inserted": 0,
        "updated": 0,
        "unchanged": expected,
    }
    # Re-importing a masked export would overwrite reporters with 张*明: refused per row.
    reporters = io_session.execute(
        text("SELECT count(*) FROM incident WHERE reporter_name IS NOT NULL")
    ).scalar_one()
    masked = export.export_layer(io_session, ADMIN, "incidents", path, fmt=fmt)
    assert masked.masked and reporters > 0
    before = counts(io_session)
    report = importer.prepare(io_session, "incidents", path).report
    assert {i.field for i in report.errors} == {"reporter_name", "reporter_phone"}
    assert len([i for i in report.errors if i.field == "reporter_name"]) == reporters
    assert counts(io_session) == before


def test_changed_grid_gets_a_new_version_and_keeps_its_buildings(
    io_session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "grids.geojson"
    export.export_layer(io_session, ANONYMOUS, "grids", path, fmt="geojson")
    frame = gpd.read_file(path)
    code = frame.loc[0, "code"]
    old = io_session.execute(
        text(
            "SELECT id, (SELECT count(*) FROM building b WHERE "
            "b.grid_id = a.id) AS n FROM area a WHERE code = :c AND "
            "valid_to IS NULL"
        ),
        {"c": code},
    ).one()
    frame.loc[0, "name"] = "改名网格"
    frame.to_file(path, driver="GeoJSON")
    prepared = roundtrip(io_session, "grids", path)
    assert prepared.report.changes["area"] == {"inserted": 0, "updated": 1, "unchanged": 10}
    rows = io_session.execute(
        text(
            "SELECT id, name, version, valid_to IS NULL AS current, "
            "(SELECT count(*) FROM building b WHERE b.grid_id = a.id) "
            "AS n FROM area a WHERE code = :c ORDER BY version"
        ),
        {"c": code},
    ).all()
    assert [(r.version, r.current) for r in rows] == [(1, False), (2, True)]
    assert rows[1].name == "改名网格" and rows[0].id == old.id
    assert (rows[0].n, rows[1].n) == (0, old.n)


def test_new_grid_from_wkt_csv_in_gcj02_is_inserted_exactly(
    io_session: Session, tmp_path: Path
) -> None:
    # A new grid must keep the community a partition (the editor's rule): it is carved out of
    # an existing grid, which the same file reshapes around it.
    grid = io_session.execute(
        text(
            "SELECT code, name, ST_AsText(geom) AS g, ST_AsText(c.center) AS p, c.radius "
            "FROM area, ST_MaximumInscribedCircle(geom) AS c WHERE level = 'grid' "
            "AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    centre, half = shapely.from_wkt(grid.p), grid.radius / 3
    square = Polygon.from_bounds(centre.x - half, centre.y - half, centre.x + half, centre.y + half)
    rest = shapely.from_wkt(grid.g).difference(square)

    def in_gcj02(geom: shapely.Geometry) -> str:
        return str(
            shapely.transform(
                geom,
                lambda c: np.column_stack(transform_arrays(c[:, 0], c[:, 1], "EPSG:4326", "gcj02")),
            ).wkt
        )

    new_code = grid.code[:12] + "099"
    path = tmp_path / "new.csv"
    pd.DataFrame(
        {
            "网格编码": [new_code, grid.code],
            "名称": ["新网格", grid.name],
            "wkt": [in_gcj02(square), in_gcj02(rest)],
        }
    ).to_csv(path, index=False)
    prepared = roundtrip(io_session, "grids", path, crs="gcj02")
    assert prepared.report.changes["area"] == {"inserted": 1, "updated": 1, "unchanged": 0}
    distance = io_session.execute(
        text(
            "SELECT ST_HausdorffDistance(geom::geography::geometry, ST_GeomFromText(:w, 4326)) "
            "FROM area WHERE code = :c AND valid_to IS NULL"
        ),
        {"w": square.wkt, "c": new_code},
    ).scalar_one()
    assert distance < 1e-8  # ~1 mm


def _adjacent_grids_and_building(session: Session) -> Any:
    """Two neighbouring grids of one community and the building of the first nearest the second."""
    return session.execute(
        text(
            """
            SELECT a.code AS source, b.code AS target, bl.code AS building, bl.id AS building_id,
                   ST_AsGeoJSON(bl.geom) AS footprint, ST_AsText(bl.anchor) AS anchor
            FROM area a JOIN area b ON b.parent_id = a.parent_id AND b.id <> a.id
                 AND b.valid_to IS NULL AND b.level = 'grid'
                 AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 0
            JOIN building bl ON bl.grid_id = a.id AND bl.valid_to IS NULL
            WHERE a.level = 'grid' AND a.valid_to IS NULL
            ORDER BY ST_Distance(bl.geom, b.geom), a.code, b.code LIMIT 1
            """
        )
    ).one()


def _moved_boundary(session: Session, pick: Any) -> dict[str, shapely.Geometry]:
    """The two grids with the building moved across, shaped by the editor's own operation."""
    draft = drafts.unsaved_draft(session, pick.source[:12])
    base = drafts.base_state(session, draft)
    footprint = shapely.geometry.shape(json.loads(pick.footprint))
    after, _ = ops.transfer(base, pick.target, [(pick.building, footprint, pick.source)])
    assert drafts.validate_state(session, draft, after).ok
    return {code: after.grids[code].geom for code in (pick.source, pick.target)}


def _write_grids(path: Path, grids: dict[str, tuple[str, shapely.Geometry]]) -> None:
    """GeoJSON with full precision (code, name, outline per grid)."""
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name},
            "geometry": shapely.geometry.mapping(geom),
        }
        for code, (name, geom) in grids.items()
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )


def test_reimport_that_moves_a_boundary_records_lineage_and_repoints(
    io_session: Session, tmp_path: Path
) -> None:
    pick = _adjacent_grids_and_building(io_session)
    old_ids = dict(
        io_session.execute(
            text("SELECT code, id FROM area WHERE code = ANY(:c) AND valid_to IS NULL"),
            {"c": [pick.source, pick.target]},
        ).all()
    )
    incident = io_session.execute(
        text(
            "INSERT INTO incident (code, kind, category, description, source, geom, "
            "district_code, grid_id, status) VALUES ('IMPORT-T1', 'component', '公用设施', 'd', "
            "'public', ST_GeomFromText(:p, 4326), left(:g, 6), :gid, 'reported') RETURNING id"
        ),
        {"p": pick.anchor, "g": pick.source, "gid": old_ids[pick.source]},
    ).scalar_one()
    shapes = _moved_boundary(io_session, pick)
    path = tmp_path / "moved.geojson"
    names = dict(
        io_session.execute(
            text("SELECT code, name FROM area WHERE code = ANY(:c) AND valid_to IS NULL"),
            {"c": list(shapes)},
        ).all()
    )
    _write_grids(path, {code: (names[code], geom) for code, geom in shapes.items()})
    prepared = roundtrip(io_session, "grids", path)
    assert prepared.report.changes["area"] == {"inserted": 0, "updated": 2, "unchanged": 0}

    changeset = io_session.execute(
        text(
            "SELECT id, scope_code, status, reason FROM changeset WHERE status = 'committed' "
            "ORDER BY id DESC LIMIT 1"
        )
    ).one()
    assert changeset.scope_code == pick.source[:12]
    assert changeset.reason == "gridgov import grids moved.geojson"
    new_ids = dict(
        io_session.execute(
            text("SELECT code, id FROM area WHERE code = ANY(:c) AND valid_to IS NULL"),
            {"c": list(shapes)},
        ).all()
    )
    roles = io_session.execute(
        text(
            "SELECT role, array_agg(area_id ORDER BY area_id) FROM changeset_area "
            "WHERE changeset_id = :i GROUP BY role"
        ),
        {"i": changeset.id},
    ).all()
    assert dict(roles) == {
        "retired": sorted(old_ids.values()),
        "created": sorted(new_ids.values()),
    }
    lineage = io_session.execute(
        text(
            "SELECT predecessor_id, successor_id, kind, buildings_moved FROM area_lineage "
            "WHERE changeset_id = :i"
        ),
        {"i": changeset.id},
    ).all()
    across = [
        row
        for row in lineage
        if (row.predecessor_id, row.successor_id) == (old_ids[pick.source], new_ids[pick.target])
    ]
    assert len(across) == 1 and across[0].buildings_moved >= 1
    building_grid = io_session.execute(
        text("SELECT grid_id FROM building WHERE id = :i"), {"i": pick.building_id}
    ).scalar_one()
    assert building_grid == new_ids[pick.target]
    incident_grid = io_session.execute(
        text("SELECT grid_id FROM incident WHERE id = :i"), {"i": incident}
    ).scalar_one()
    assert incident_grid == new_ids[pick.target]


def test_reimport_refuses_what_the_editor_refuses(io_session: Session, tmp_path: Path) -> None:
    # Growing one grid over its neighbour without shrinking the neighbour: an overlap.
    pick = _adjacent_grids_and_building(io_session)
    shapes = _moved_boundary(io_session, pick)
    path = tmp_path / "overlap.geojson"
    _write_grids(path, {pick.target: ("扩大", shapes[pick.target])})
    before = counts(io_session)
    report = importer.prepare(io_session, "grids", path).report
    assert not report.ok
    assert any(
        i.row == 1 and i.field == "geometry" and "overlap" in i.message for i in report.errors
    ), [i.message for i in report.errors]
    assert counts(io_session) == before


def test_a_community_outline_its_grids_no_longer_cover_is_a_warning(
    io_session: Session, tmp_path: Path
) -> None:
    community = io_session.execute(
        text(
            "SELECT code, name, ST_AsText(geom) AS g FROM area WHERE level = 'community' "
            "AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    shrunk = shapely.from_wkt(community.g).buffer(-0.0005)  # ~50 m in from every edge
    path = tmp_path / "communities.geojson"
    _write_grids(path, {community.code: (community.name, shrunk)})
    report = importer.prepare(io_session, "communities", path).report
    assert report.ok  # the grids are imported next, against the new outline
    warnings = [i for i in report.warnings if i.row == 1 and i.field == "geometry"]
    assert warnings and all(f"import the grids of {community.code}" in i.message for i in warnings)
    assert any("leaves community" in i.message for i in warnings)


def test_households_round_trip_and_update_by_code(io_session: Session, tmp_path: Path) -> None:
    # One grid's households: XLSX is slow to write and read (openpyxl), a grid is enough.
    grid = io_session.execute(
        text("SELECT min(code) FROM area WHERE level = 'grid' AND valid_to IS NULL")
    ).scalar_one()
    path = tmp_path / "hh.xlsx"
    written = export.export_layer(
        io_session, ADMIN, "households", path, fmt="xlsx", within=grid, purpose="test"
    )
    assert not written.masked
    sheet = pd.read_excel(path, dtype=str)
    n_households = io_session.execute(
        text(
            "SELECT count(*) FROM household h JOIN building b ON b.id = h.building_id JOIN area g "
            "ON g.id = b.grid_id WHERE g.code = :g"
        ),
        {"g": grid},
    ).scalar_one()
    assert sheet["hh_code"].nunique() == n_households == len(sheet.groupby("hh_code"))
    first = sheet.loc[0]
    sheet.loc[0, "phone"] = "13900000001"
    sheet.to_excel(path, index=False)
    prepared = roundtrip(io_session, "households", path)
    changes = prepared.report.changes
    assert changes["resident"] == {"inserted": 0, "updated": 1, "unchanged": len(sheet) - 1}
    assert changes["household"]["updated"] == 1
    assert changes["household"]["unchanged"] == n_households - 1
    phone = io_session.execute(
        text("SELECT phone FROM resident WHERE id_number = :i"), {"i": first["id_number"]}
    ).scalar_one()
    assert phone == "13900000001"
    # The same sheet exported masked (no --purpose) must not overwrite anyone.
    csv = tmp_path / "hh.csv"
    assert export.export_layer(io_session, ADMIN, "households", csv, fmt="csv", within=grid).masked
    before = counts(io_session)
    report = importer.prepare(io_session, "households", csv).report
    masked_names = {i.row for i in report.errors if i.field == "name" and "masked" in i.message}
    assert masked_names == set(range(1, len(sheet) + 1)) and report.records == 0
    assert counts(io_session) == before


def test_yibiao_sanshi_sheet_matches_addresses_and_reports_the_rest(
    io_session: Session, tmp_path: Path
) -> None:
    building = io_session.execute(
        text("SELECT id, code, address FROM building ORDER BY code LIMIT 1")
    ).one()
    path = tmp_path / "一标三实.xlsx"
    pd.DataFrame(
        {
            "标准地址": [
                building.address + "9单元901室",
                building.address + "9单元901室",
                "华亭市不存在路999号 1号楼1单元101室",
            ],
            "房号": ["901", "901", "101"],
            "姓名": ["王小明", "李红", "赵六"],
            "身份证号": ["11010519491231002X", "110105194912310021", None],
            "联系电话": ["138 0000 0000", "12345", "13800000002"],
            "性别": [None, "女", "男"],
            "出生年份": [None, "1950", "1960"],
            "与户主关系": ["本人", "妻子", "户主"],
        }
    ).to_excel(path, index=False)
    before = counts(io_session)
    prepared = importer.prepare(io_session, "households", path)
    errors = {(i.row, i.field): i for i in prepared.report.errors}
    assert set(errors) == {(2, "id_number"), (2, "phone"), (3, "address")}
    assert errors[(3, "address")].candidates  # closest buildings by trigram similarity
    assert counts(io_session) == before
    fixed = pd.read_excel(path, dtype=str).iloc[:1]
    fixed.to_excel(path, index=False)
    ok = roundtrip(io_session, "households", path)
    assert ok.report.changes["household"]["inserted"] == 1
    row = io_session.execute(
        text(
            "SELECT h.unit, h.floor, h.room, h.building_id, r.gender, r.birth_year, r.relation, "
            "r.phone FROM household h JOIN resident r ON r.household_id = h.id "
            "WHERE r.id_number = '11010519491231002X'"
        )
    ).one()
    assert tuple(row) == (9, 9, "901", building.id, "女", 1949, "户主", "13800000000")


def test_an_address_that_fits_two_buildings_asks_for_the_building_code(
    io_session: Session, tmp_path: Path
) -> None:
    building = io_session.execute(
        text("SELECT code, address FROM building ORDER BY code LIMIT 1")
    ).one()
    twin = io_session.execute(
        text(
            "INSERT INTO building (code, name, address, use, floors, units, grid_id, "
            "district_code, geom) SELECT left(code, 7) || '9999999', name || '副', address, use, "
            "floors, units, grid_id, district_code, geom FROM building WHERE code = :c "
            "RETURNING code"
        ),
        {"c": building.code},
    ).scalar_one()
    path = tmp_path / "hh.csv"
    pd.DataFrame(
        {
            "标准地址": [building.address + "1单元101室"] * 2,
            "楼栋编码": [None, twin],
            "房号": ["101", "102"],
            "姓名": ["王小明", "李红"],
            "身份证号": ["11010519491231002X", None],
            "性别": [None, "女"],
            "出生年份": [None, "1950"],
            "与户主关系": ["户主", "户主"],
        }
    ).to_csv(path, index=False)
    report = importer.prepare(io_session, "households", path).report
    errors = [(i.row, i.field) for i in report.errors]
    assert errors == [(1, "address")]
    assert sorted(c.split()[0] for c in report.errors[0].candidates) == sorted(
        [building.code, twin]
    )
    assert report.records == 1  # row 2 names its building by code


def test_broken_geometry_and_outside_parent_are_reported_per_row(
    io_session: Session, tmp_path: Path
) -> None:
    community = io_session.execute(
        text(
            "SELECT code, ST_X(ST_PointOnSurface(geom)) x, ST_Y(ST_PointOnSurface(geom)) y FROM "
            "area WHERE level = 'community' AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    x, y = community.x, community.y
    bowtie = Polygon([(x, y), (x + 1e-3, y + 1e-3), (x + 1e-3, y), (x, y + 1e-3), (x, y)])
    far = Polygon.from_bounds(x + 1, y + 1, x + 1.01, y + 1.01)
    frame = gpd.GeoDataFrame(
        {
            "code": [community.code + "201", community.code + "202", "123", community.code + "201"],
            "name": ["a", "b", "c", "d"],
        },
        geometry=[bowtie, far, far, Point(x, y)],
        crs=4326,
    )
    path = tmp_path / "bad.gpkg"
    frame.to_file(path, driver="GPKG")
    before = counts(io_session)
    report = importer.prepare(io_session, "grids", path).report
    by_row = {i.row: i.message for i in report.errors}
    assert "Self-intersection" in by_row[1]
    assert "outside its parent" in by_row[2]
    assert "15 digits" in by_row[3]
    assert "polygon is needed" in by_row[4]
    assert counts(io_session) == before


def test_shapefile_without_prj_and_gbk_dbf(io_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "grids.shp"
    export.export_layer(io_session, ANONYMOUS, "grids", path, fmt="shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(InvalidInput, match=r"no \.prj"):
        importer.prepare(io_session, "grids", path)
    assert importer.prepare(io_session, "grids", path, crs="4326").report.ok
    gbk = tmp_path / "gbk" / "grids.shp"
    gbk.parent.mkdir()
    frame = gpd.read_file(path.with_suffix(".shp"), engine="pyogrio").set_crs(4326)
    pyogrio.write_dataframe(frame, gbk, encoding="GBK")
    gbk.with_suffix(".cpg").unlink()  # as written by many older Chinese tools
    with pytest.raises(InvalidInput, match="--encoding GBK"):
        importer.prepare(io_session, "grids", gbk)
    prepared = importer.prepare(io_session, "grids", gbk, encoding="GBK")
    assert prepared.report.ok
    names = io_session.execute(
        text("SELECT code, name FROM area WHERE level = 'grid' AND valid_to IS NULL")
    ).all()
    assert {r["code"]: r["name"] for r in prepared.records} == dict(names)


def test_zipped_shapefile_and_wrong_columns(io_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "grids.zip"
    export.export_layer(io_session, ANONYMOUS, "grids", path, fmt="shp")
    assert importer.prepare(io_session, "grids", path).report.ok
    with pytest.raises(InvalidInput, match=r"required field\(s\) code"):
        importer.prepare(io_session, "grids", path, explicit={"code": "-"})


def test_database_refusal_rolls_back_everything(io_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "f.gpkg"
    export.export_layer(io_session, ANONYMOUS, "service_facilities", path, fmt="gpkg")
    prepared = importer.prepare(io_session, "service_facilities", path)
    prepared.records[-1]["kind"] = "不存在的类型"  # slips past the dry run
    prepared.records[0]["name"] = "改名"
    before = io_session.execute(
        text("SELECT name FROM service_facility WHERE code = :c"),
        {"c": prepared.records[0]["code"]},
    ).scalar_one()
    with pytest.raises(importer.load.LoadRefused, match="violates check constraint"):
        importer.run(io_session, prepared, OPERATOR)
    after = io_session.execute(
        text("SELECT name FROM service_facility WHERE code = :c"),
        {"c": prepared.records[0]["code"]},
    ).scalar_one()
    assert after == before


def test_export_scopes_and_masks_by_account(io_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "hh.csv"
    with pytest.raises(Forbidden, match="--as USER"):
        export.export_layer(io_session, ANONYMOUS, "households", path, fmt="csv")
    grid = "620881001001001"
    accounts.create_user(io_session, "io_worker", "worker-orchid-lantern-7", "grid_worker", grid)
    worker = Viewer("io_worker", "grid_worker", grid)
    masked = export.export_layer(io_session, worker, "households", path, fmt="csv")
    frame = pd.read_csv(path, dtype=str)
    expected = io_session.execute(
        text(
            "SELECT count(*) FROM resident r JOIN household h ON h.id = r.household_id JOIN "
            "building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id "
            "WHERE g.code = :g"
        ),
        {"g": grid},
    ).scalar_one()
    assert masked.masked and len(frame) == expected
    assert set(frame["grid_code"]) == {grid}
    assert frame["id_number"].str.contains(r"\*{8}").all()
    audits = io_session.execute(
        text("SELECT count(*) FROM audit_log WHERE username = 'io_worker'")
    ).scalar_one()
    export.export_layer(io_session, worker, "households", path, fmt="csv", purpose="走访")
    frame = pd.read_csv(path, dtype=str)
    assert not frame["id_number"].str.contains(r"\*").any()
    assert (
        io_session.execute(
            text("SELECT count(*) FROM audit_log WHERE username = 'io_worker'")
        ).scalar_one()
        == audits + 1
    )
    with pytest.raises(Forbidden, match="outside your scope"):
        export.export_layer(
            io_session, worker, "households", path, fmt="csv", within="620881001001002"
        )


@pytest.mark.parametrize("fmt", ["csv", "gpkg"])
def test_personal_exports_are_generalised_audited_and_private(
    io_session: Session, tmp_path: Path, fmt: str
) -> None:
    """A planner's export (masked) names buildings, not flats; carries no ID number, phone,
    gender or birth year; writes one audit row with rows, area and operator; the file is 0600."""
    grid = "620881001001001"
    accounts.create_user(io_session, "io_planner", "kestrel-ridge-lantern-42", "planner", "620881")
    planner = Viewer("io_planner", "planner", "620881", operator="cli:alice")
    path = tmp_path / f"hh.{fmt}"
    result = export.export_layer(io_session, planner, "households", path, fmt=fmt, within=grid)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no staging left behind
    frame = pd.read_csv(path, dtype=str) if fmt == "csv" else gpd.read_file(path)
    buildings = dict(
        io_session.execute(
            text(
                "SELECT b.code, b.address FROM building b JOIN area g ON g.id = b.grid_id"
                " WHERE g.code = :g"
            ),
            {"g": grid},
        ).all()
    )
    assert result.masked and len(frame) == result.rows > 0
    assert (frame["address"] == frame["bld_code"].map(buildings)).all()
    for column in ("id_number", "phone", "gender", "birth_year", "unit", "floor", "room"):
        assert frame[column].isna().all(), column
    assert frame["name"].str.fullmatch(r".\*+").all()
    row = io_session.execute(
        text(
            "SELECT action, target, area_code, detail FROM audit_log WHERE username = 'io_planner'"
        )
    ).one()
    assert (row.action, row.target, row.area_code) == (
        "export.masked",
        f"export:households:{grid}",
        grid,
    )
    assert row.detail == {"rows": result.rows, "unmasked": 0, "operator": "cli:alice"}
