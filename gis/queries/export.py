"""Export public layers as GeoJSON, GeoPackage, zipped Shapefile or CSV (GeoPandas/pyogrio).

Only public layers are exported here: boundaries, buildings, party organisations (without
secretaries, and without the household-level 党员中心户 whose names point at a home) and service
facilities. Files are written to a temporary directory that the caller deletes after sending.
Column names are at most 10 characters so that the Shapefile keeps them unchanged.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.crs import BD09, CRS84, GCJ02, WGS84, parse_crs, transform_arrays
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


def reproject(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Convert a WGS84 frame to ``crs``; GCJ-02/BD-09 results carry no CRS (none exists)."""
    if crs in (WGS84, CRS84):
        return frame
    if crs not in (GCJ02, BD09):
        return frame.to_crs(crs)

    def convert(coords: np.ndarray) -> np.ndarray:
        xs, ys = transform_arrays(coords[:, 0], coords[:, 1], WGS84, crs)
        return np.column_stack([xs, ys])

    moved = frame.copy()
    moved["geometry"] = gpd.GeoSeries(
        shapely.transform(frame.geometry.values, convert), index=frame.index
    )
    return gpd.GeoDataFrame(moved, geometry="geometry", crs=None)


def export_layer(
    session: Session,
    viewer: Viewer,
    layer: str,
    *,
    fmt: str = "geojson",
    within: str | None = None,
    crs: str | None = None,
) -> ExportFile:
    """Write a layer to a temporary file; the caller sends it and then calls ``cleanup()``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", parameter="format")
    target_crs = parse_crs(crs) if crs else WGS84
    frame = reproject(read_layer(session, viewer, layer, within=within), target_crs)
    spec = FORMATS[fmt]
    stem = f"gridgov_{layer}" + (f"_{within}" if within else "")
    directory = Path(tempfile.mkdtemp(prefix="gridgov-export-"))
    try:
        path = directory / f"{stem}.{spec.extension}"
        if fmt == "csv":
            table = frame.drop(columns="geometry")
            table["wkt"] = shapely.to_wkt(frame.geometry.values, rounding_precision=-1)
            # A BOM so that Excel opens the Chinese text as UTF-8.
            table.to_csv(path, index=False, encoding="utf-8-sig")
        elif fmt == "shp":
            parts = directory / "shp"
            parts.mkdir()
            frame.to_file(
                parts / f"{stem}.shp", driver=spec.driver, engine="pyogrio", encoding="UTF-8"
            )
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for part in sorted(parts.iterdir()):
                    archive.write(part, part.name)
        else:
            frame.to_file(path, driver=spec.driver, engine="pyogrio", layer=layer)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return ExportFile(path, path.name, spec.media_type, directory, len(frame))
