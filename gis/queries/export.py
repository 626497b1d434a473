"""Export public layers as GeoJSON, GeoPackage, zipped Shapefile or CSV (GeoPandas/pyogrio).

Only public layers are exported here: boundaries, buildings, party organisations (without
secretaries, and without the household-level 党员中心户 whose names point at a home) and service
facilities. Files are written to a temporary directory that the caller deletes after sending.
Column names are at most 10 characters so that the Shapefile keeps them unchanged.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.crs import (
    BD09,
    CRS84,
    GCJ02,
    WGS84,
    crs_note,
    custom_crs_wkt,
    decimals_for,
    file_crs,
    parse_crs,
    transform_arrays,
)
from gis.errors import InvalidInput
from gis.queries.areas import subtree_pattern
from gis.scope import Viewer

_AREA_SQL = """
    SELECT a.code, a.name, a.level, a.kind, p.code AS parent, a.version,
           a.valid_from::text AS valid_from, a.geom
    FROM area a LEFT JOIN area p ON p.id = a.parent_id
    WHERE a.valid_to IS NULL AND a.level = '{level}' AND a.code LIKE :prefix
    ORDER BY a.code
"""
LAYER_SQL: dict[str, str] = {
    "streets": _AREA_SQL.format(level="street"),
    "communities": _AREA_SQL.format(level="community"),
    "grids": _AREA_SQL.format(level="grid"),
    "buildings": """
        SELECT b.code, b.name, b.address, b.use, b.floors, b.units, g.code AS grid_code,
               (SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households,
               b.geom
        FROM building b JOIN area g ON g.id = b.grid_id
        WHERE b.valid_to IS NULL AND g.code LIKE :prefix
        ORDER BY b.code
    """,
    "party_orgs": """
        SELECT po.code, po.name, po.level, po.org_type, pp.code AS parent,
               coalesce(a.code, g.code) AS area_code, b.code AS bld_code,
               po.founded_on::text AS founded_on, po.geom
        FROM party_org po
        LEFT JOIN party_org pp ON pp.id = po.parent_id
        LEFT JOIN area a ON a.id = po.area_id
        LEFT JOIN building b ON b.id = po.building_id
        LEFT JOIN area g ON g.id = b.grid_id
        WHERE po.level <> 'household' AND coalesce(a.code, g.code) LIKE :prefix
        ORDER BY po.code
    """,
    "service_facilities": """
        SELECT f.code, f.name, f.kind, a.code AS area_code, f.address,
               f.opening_hours AS hours, f.phone, f.geom
        FROM service_facility f JOIN area a ON a.id = f.area_id
        WHERE a.code LIKE :prefix
        ORDER BY f.code
    """,
}
LAYERS = tuple(LAYER_SQL)


@dataclass(frozen=True)
class ExportFormat:
    driver: str | None  # None: CSV written by pandas
    extension: str
    media_type: str


FORMATS: dict[str, ExportFormat] = {
    "geojson": ExportFormat("GeoJSON", "geojson", "application/geo+json"),
    "gpkg": ExportFormat("GPKG", "gpkg", "application/geopackage+sqlite3"),
    "shp": ExportFormat("ESRI Shapefile", "zip", "application/zip"),
    "csv": ExportFormat(None, "csv", "text/csv; charset=utf-8"),
}


@dataclass(frozen=True)
class ExportFile:
    path: Path
    filename: str
    media_type: str
    directory: Path
    rows: int = 0

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def read_layer(
    session: Session, viewer: Viewer, layer: str, *, within: str | None = None
) -> gpd.GeoDataFrame:
    """A public layer (optionally one subtree) as a GeoDataFrame in EPSG:4326."""
    if layer not in LAYER_SQL:
        raise InvalidInput(f"layer must be one of {', '.join(LAYERS)}", parameter="layer")
    prefix = subtree_pattern(session, within)
    frame = gpd.read_postgis(
        text(LAYER_SQL[layer]),
        session.connection(),
        geom_col="geom",
        params={"prefix": prefix},
        crs=WGS84,
    )
    return frame.rename_geometry("geometry")


DEFAULT_PRECISION_M = 0.01
"""Coordinates are written to about 1 cm unless asked otherwise (``precision``, metres)."""
XLSX_CELL_LIMIT = 32_767
"""Excel's limit on the characters in one cell; longer WKT would be cut off silently."""


def reproject(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Convert a WGS84 frame to ``crs``, labelled with its true CRS (:func:`gis.crs.file_crs`).

    GCJ-02/BD-09 are converted by :mod:`gis.crs` (PROJ cannot) and labelled with gridgov's
    custom definition of them, never with WGS84."""
    if crs in (WGS84, CRS84):
        return frame
    if crs not in (GCJ02, BD09):
        return frame.to_crs(crs)

    def convert(coords: np.ndarray) -> np.ndarray:
        xs, ys = transform_arrays(coords[:, 0], coords[:, 1], WGS84, crs)
        return np.column_stack([xs, ys])

    moved = pd.DataFrame(frame.drop(columns="geometry"))
    return gpd.GeoDataFrame(
        moved,
        geometry=shapely.transform(frame.geometry.values, convert),
        crs=file_crs(crs),
    )


def round_coordinates(frame: gpd.GeoDataFrame, decimals: int) -> gpd.GeoDataFrame:
    """The frame with every coordinate rounded to ``decimals`` places (CRS kept)."""
    rounded = frame.copy()
    rounded["geometry"] = gpd.GeoSeries(
        shapely.transform(frame.geometry.values, lambda c: np.round(c, decimals)),
        index=frame.index,
        crs=frame.crs,
    )
    return rounded


def prepare_frame(
    frame: gpd.GeoDataFrame, crs: str, precision: float | None = None
) -> tuple[gpd.GeoDataFrame, int]:
    """Reproject a WGS84 frame to ``crs`` and round it to ``precision`` metres (default 1 cm).

    Returns the frame and the decimal places used."""
    decimals = decimals_for(crs, DEFAULT_PRECISION_M if precision is None else precision)
    return round_coordinates(reproject(frame, crs), decimals), decimals


def _table(frame: gpd.GeoDataFrame, decimals: int, fmt: str, layer: str) -> pd.DataFrame:
    table = pd.DataFrame(frame.drop(columns="geometry"))
    geoms = frame.geometry.values
    if len(frame) and all(g is not None and g.geom_type == "Point" for g in geoms):
        table["lon"] = np.round(shapely.get_x(geoms), decimals)
        table["lat"] = np.round(shapely.get_y(geoms), decimals)
        return table
    wkt = shapely.to_wkt(geoms, rounding_precision=decimals, trim=True)
    if fmt == "xlsx":
        lengths = np.array([len(w) if w is not None else 0 for w in wkt])
        over = np.flatnonzero(lengths > XLSX_CELL_LIMIT)
        if len(over):
            first = int(over[0])
            code = table["code"].iloc[first] if "code" in table.columns else f"row {first + 2}"
            raise InvalidInput(
                f"{len(over)} {layer} geometr{'y is' if len(over) == 1 else 'ies are'} too long "
                f"for an Excel cell (the first, {code}, is {int(lengths[first]):,} characters "
                f"of WKT; Excel holds at most {XLSX_CELL_LIMIT:,} and would cut it off): "
                "export as gpkg, geojson, shp or csv instead, or coarsen --precision",
                parameter="format",
            )
    table["wkt"] = wkt
    return table


def write_file(
    frame: gpd.GeoDataFrame, path: Path, fmt: str, layer: str, crs: str, decimals: int
) -> list[Path]:
    """Write ``frame`` (from :func:`prepare_frame`) to ``path``; the files written.

    GIS formats carry the CRS: GeoPackage and Shapefile by GDAL, GeoJSON in its ``crs``
    member (RFC 7946 files are CRS84; GDAL reads a WKT named there). CSV/XLSX cannot; a file
    in GCJ-02/BD-09 gets a sidecar note ``<file>.crs.txt`` (inside the zip for a shapefile),
    which our import reads back."""
    custom = crs in (GCJ02, BD09)
    note_name = f"{path.name}.crs.txt"
    written = [path]
    if fmt in ("csv", "xlsx"):
        table = _table(frame, decimals, fmt, layer)
        if fmt == "csv":
            # A BOM so that Excel opens the Chinese text as UTF-8.
            table.to_csv(path, index=False, encoding="utf-8-sig")
        else:
            table.to_excel(path, index=False, sheet_name=layer[:31], engine="openpyxl")
    elif fmt == "shp":
        parts = Path(tempfile.mkdtemp(prefix="gridgov-shp-", dir=path.parent))
        try:
            stem = layer if path.suffix.lower() == ".zip" else path.stem
            frame.to_file(
                parts / f"{stem}.shp", driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8"
            )
            if custom:
                (parts / f"{stem}.crs.txt").write_text(crs_note(crs), encoding="utf-8")
            if path.suffix.lower() == ".zip":
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                    for part in sorted(parts.iterdir()):
                        archive.write(part, part.name)
                return written
            written = []
            for part in sorted(parts.iterdir()):
                part.replace(path.parent / part.name)
                written.append(path.parent / part.name)
            return written
        finally:
            shutil.rmtree(parts, ignore_errors=True)
    else:
        if path.exists():
            path.unlink()
        driver = "GPKG" if fmt == "gpkg" else "GeoJSON"
        options = {"COORDINATE_PRECISION": decimals} if fmt == "geojson" else {}
        frame.to_file(path, driver=driver, engine="pyogrio", layer=layer, **options)
        if fmt == "geojson" and custom:
            document = json.loads(path.read_text(encoding="utf-8"))
            document = {
                "type": document.pop("type"),
                "name": document.pop("name", layer),
                "crs": {"type": "name", "properties": {"name": custom_crs_wkt(crs)}},
                **document,
            }
            path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    if custom:
        note = path.parent / note_name
        note.write_text(crs_note(crs), encoding="utf-8")
        written.append(note)
    return written


def export_layer(
    session: Session,
    viewer: Viewer,
    layer: str,
    *,
    fmt: str = "geojson",
    within: str | None = None,
    crs: str | None = None,
    precision: float | None = None,
) -> ExportFile:
    """Write a layer to a temporary file; the caller sends it and then calls ``cleanup()``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", parameter="format")
    target_crs = parse_crs(crs) if crs else WGS84
    frame, decimals = prepare_frame(
        read_layer(session, viewer, layer, within=within), target_crs, precision
    )
    spec = FORMATS[fmt]
    stem = f"gridgov_{layer}" + (f"_{within}" if within else "")
    directory = Path(tempfile.mkdtemp(prefix="gridgov-export-"))
    try:
        path = directory / f"{stem}.{spec.extension}"
        write_file(frame, path, fmt, layer, target_crs, decimals)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return ExportFile(path, path.name, spec.media_type, directory, len(frame))
