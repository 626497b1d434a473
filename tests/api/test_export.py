"""GET /api/v1/export/{layer}: files read back with GeoPandas and compared with the database."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.crs import transform_arrays


def grid_rows(db_session: Session, community: str) -> pd.DataFrame:
    return pd.read_sql(
        text(
            "SELECT a.code, a.name, p.code AS parent, ST_AsText(a.geom) AS wkt FROM area a "
            "JOIN area p ON p.id = a.parent_id WHERE a.level = 'grid' AND a.valid_to IS NULL "
            "AND a.code LIKE :p ORDER BY a.code"
        ),
        db_session.connection(),
        params={"p": community + "%"},
    )


@pytest.fixture
def community(db_session: Session) -> str:
    return str(
        db_session.execute(
            text("SELECT code FROM area WHERE level = 'community' ORDER BY code LIMIT 1")
        ).scalar_one()
    )


def read_back(content: bytes, fmt: str, tmp_path: Path) -> gpd.GeoDataFrame:
    if fmt == "shp":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            assert {Path(n).suffix for n in names} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
            archive.extractall(tmp_path)
        return gpd.read_file(next(tmp_path.glob("*.shp")), engine="pyogrio")
    path = tmp_path / f"layer.{fmt}"
    path.write_bytes(content)
    return gpd.read_file(path, engine="pyogrio")


@pytest.mark.parametrize(
    ("fmt", "media_type", "extension"),
    [
        ("geojson", "application/geo+json", "geojson"),
        ("gpkg", "application/geopackage+sqlite3", "gpkg"),
        ("shp", "application/zip", "zip"),
    ],
)
def test_grids_round_trip(
    client: TestClient,
    db_session: Session,
    tmp_path: Path,
    community: str,
    fmt: str,
    media_type: str,
    extension: str,
):
    response = client.get("/api/v1/export/grids", params={"format": fmt, "within": community})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    assert (
        f'filename="gridgov_grids_{community}.{extension}"'
        in response.headers["content-disposition"]
    )
    frame = read_back(response.content, fmt, tmp_path).sort_values("code")
    expected = grid_rows(db_session, community)
    assert list(frame["code"]) == list(expected["code"])
    assert list(frame["name"]) == list(expected["name"])
    assert list(frame["parent"]) == list(expected["parent"])
    assert frame.crs is not None and frame.crs.to_epsg() == 4326
    for geom, wkt in zip(frame.geometry, expected["wkt"], strict=True):
        # A Shapefile reads single-part polygons back as Polygon: compare shapes, not types.
        assert shapely.hausdorff_distance(geom, shapely.from_wkt(wkt)) < 1e-7


def test_buildings_csv_with_wkt(client: TestClient, db_session: Session, community: str):
    response = client.get("/api/v1/export/buildings", params={"format": "csv", "within": community})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig", dtype=str)
    expected = pd.read_sql(
        text(
            "SELECT b.code, b.name, b.address, "
            "(SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households "
            "FROM building b JOIN area g ON g.id = b.grid_id "
            "WHERE b.valid_to IS NULL AND g.code LIKE :p ORDER BY b.code"
        ),
        db_session.connection(),
        params={"p": community + "%"},
    )
    assert list(table["code"]) == list(expected["code"])
    assert list(table["address"]) == list(expected["address"])
    assert list(table["households"].astype(int)) == list(expected["households"])
    assert shapely.from_wkt(table["wkt"].iloc[0]).geom_type == "MultiPolygon"


@pytest.mark.parametrize("crs", ["EPSG:4526", "GCJ02"])
def test_export_in_another_crs(client: TestClient, tmp_path: Path, crs: str):
    response = client.get(
        "/api/v1/export/service_facilities", params={"format": "gpkg", "crs": crs}
    )
    assert response.status_code == 200
    frame = read_back(response.content, "gpkg", tmp_path).sort_values("code")
    wgs = client.get("/api/v1/export/service_facilities", params={"format": "geojson"})
    plain = read_back(wgs.content, "geojson", tmp_path).sort_values("code")
    xs, ys = transform_arrays(plain.geometry.x.values, plain.geometry.y.values, "EPSG:4326", crs)
    # Both files are written to about 1 cm (the default precision): 2 decimals of metres,
    # 7 of degrees.
    tolerance = 0.03 if crs.startswith("EPSG") else 3e-7
    assert frame.geometry.x.values == pytest.approx(xs, abs=tolerance)
    assert frame.geometry.y.values == pytest.approx(ys, abs=tolerance)
    if crs.startswith("EPSG"):
        assert frame.crs.to_epsg() == 4526
    else:  # GCJ-02 has no EPSG code, and the file says GCJ-02, not WGS 84
        assert frame.crs.name == "GCJ-02" and frame.crs.to_epsg() is None


def test_party_orgs_exclude_household_level_and_secretaries(
    client: TestClient, db_session: Session, tmp_path: Path
):
    response = client.get("/api/v1/export/party_orgs", params={"format": "geojson"})
    frame = read_back(response.content, "geojson", tmp_path)
    expected = db_session.execute(
        text("SELECT count(*) FROM party_org WHERE level <> 'household'")
    ).scalar_one()
    assert len(frame) == expected
    assert "household" not in set(frame["level"])
    assert not any("secret" in column for column in frame.columns)


@pytest.mark.parametrize(
    ("url", "params", "status", "parameter"),
    [
        ("/api/v1/export/grids", {"format": "kml"}, 400, "format"),
        ("/api/v1/export/grids", {"crs": "EPSG:999999"}, 400, "crs"),
        ("/api/v1/export/grids", {"within": "620881999999"}, 404, "within"),
        ("/api/v1/export/grids", {"within": "12"}, 400, "within"),
    ],
)
def test_export_errors(client: TestClient, url: str, params: dict, status: int, parameter: str):
    response = client.get(url, params=params)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["parameter"] == parameter


def test_unknown_layer_and_personal_layers_are_not_exported(client: TestClient):
    for layer in ("households", "residents", "nothing"):
        response = client.get(f"/api/v1/export/{layer}")
        assert response.status_code == 422
        assert "layer" in response.json()["detail"]
