"""Export any layer to GeoPackage, Shapefile, GeoJSON, CSV or XLSX, scoped and masked by viewer.

Public layers (boundaries, buildings, party organisations, facilities) are read with the same
query functions as ``GET /api/v1/export/{layer}`` (:mod:`gis.queries.export`), so the CLI and
the API agree on columns. Personal layers are gridgov's own here:

- ``households`` — one row per resident in the 一标三实 layout that :mod:`gis.io.validate`
  reads back (household code, building code, address, unit, floor, room, name, ID number,
  phone, gender, birth year, relation) at the building's anchor point;
- ``incidents`` — cases with their reporter.

Both need a signed-in viewer whose role may read them, and only rows in the viewer's scope are
written. Names, ID numbers and phones follow the disclosure rule (``Viewer.unmasks``: a role that
needs them, the row in scope, a purpose given); masked rows are generalised like the API's
(gis.masking.Exposure: the building instead of the flat; for roles without the need no ID number,
phone, gender or birth year). Every personal export, masked or not, writes one audit row (rows,
purpose, area, the operator) in the export's transaction, and every file is created mode 0600.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.crs import WGS84, parse_crs
from gis.errors import Forbidden, InvalidInput
from gis.masking import (
    Exposure,
    exposure,
    show_demographic,
    show_flat,
    show_id_number,
    show_name,
    show_phone,
)
from gis.queries import export as public_export
from gis.queries.areas import subtree_pattern
from gis.queries.households import HOUSEHOLD_ROLES, effective_area
from gis.scope import Viewer

FORMATS = ("gpkg", "shp", "geojson", "csv", "xlsx")
PERSONAL_LAYERS = ("households", "incidents")
LAYERS = ("districts", *public_export.LAYERS, *PERSONAL_LAYERS)

_DISTRICTS_SQL = """
    SELECT a.code, a.name, a.level, a.kind, NULL::text AS parent, a.version,
           a.valid_from::text AS valid_from, a.geom
    FROM area a WHERE a.valid_to IS NULL AND a.level = 'district' AND a.code LIKE :prefix
    ORDER BY a.code
"""
_HOUSEHOLDS_SQL = """
    SELECT h.code AS hh_code, b.code AS bld_code, g.code AS grid_code, h.address,
           b.address AS bld_addr, h.unit, h.floor, h.room, r.name, r.id_number, r.phone,
           r.gender, r.birth_year, r.relation,
           b.anchor AS geom
    FROM area g
    JOIN building b ON b.grid_id = g.id AND b.valid_to IS NULL
    JOIN household h ON h.building_id = b.id
    JOIN resident r ON r.household_id = h.id
    WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code LIKE :prefix
    ORDER BY h.code, (r.relation = '户主') DESC, r.id
"""
_INCIDENTS_SQL = """
    SELECT i.code, i.kind, i.category, i.description AS "desc", i.source, i.status, i.address,
           i.reporter_name AS rep_name, i.reporter_phone AS rep_phone,
           i.reported_at::text AS reported, i.closed_at::text AS closed,
           g.code AS grid_code, coalesce(g.code, c.code, s.code, i.district_code) AS area_code,
           i.geom
    FROM incident i
    LEFT JOIN area g ON g.id = i.grid_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area s ON s.id = i.street_id
    WHERE coalesce(g.code, c.code, s.code, i.district_code) LIKE :prefix
    ORDER BY i.code
"""


@dataclass(frozen=True)
class Exported:
    path: Path
    rows: int
    masked: bool
    crs: str


def _personal(
    session: Session, viewer: Viewer, layer: str, within: str | None
) -> tuple[gpd.GeoDataFrame, bool]:
    if viewer.is_public or viewer.scope_code is None:
        raise Forbidden(
            f"{layer} hold personal data: export them as an account (--as USER) whose role "
            f"may read them ({', '.join(sorted(HOUSEHOLD_ROLES))})"
        )
    if viewer.role not in HOUSEHOLD_ROLES:
        raise Forbidden(f"the role {viewer.role} may not export {layer}")
    area = effective_area(viewer, within)
    if within is not None:
        subtree_pattern(session, within)  # the area must exist
    sql = _HOUSEHOLDS_SQL if layer == "households" else _INCIDENTS_SQL
    frame = gpd.read_postgis(
        text(sql), session.connection(), geom_col="geom", params={"prefix": area + "%"}, crs=WGS84
    )
    scope_column = "grid_code" if layer == "households" else "area_code"
    levels = pd.Series([exposure(viewer, code) for code in frame[scope_column]], index=frame.index)
    shows: dict[str, Callable[[Any, Exposure], Any]] = {
        "name": show_name,
        "rep_name": show_name,
        "id_number": show_id_number,
        "phone": show_phone,
        "rep_phone": show_phone,
        "gender": show_demographic,
        "birth_year": show_demographic,
        "unit": show_flat,
        "floor": show_flat,
        "room": show_flat,
    }
    for column, show in shows.items():
        if column in frame.columns:
            values = [
                show(v if isinstance(v, str) or pd.notna(v) else None, level)
                for v, level in zip(frame[column], levels, strict=True)
            ]
            # Whole numbers stay whole (nullable Int64) rather than becoming floats with NaN.
            dtype = "Int64" if pd.api.types.is_integer_dtype(frame[column]) else object
            frame[column] = pd.Series(values, index=frame.index, dtype=dtype)
    exact = levels == Exposure.EXACT
    if layer == "households":
        # Masked rows name the building, not the flat.
        frame["address"] = frame["address"].where(exact, frame["bld_addr"])
        frame = frame.drop(columns=["bld_addr"])
    unmasked = int(exact.sum())
    audit.disclose(
        session,
        viewer,
        f"export:{layer}:{area}",
        rows=len(frame),
        area_code=area,
        action=audit.EXPORT_UNMASKED if unmasked else audit.EXPORT_MASKED,
        detail={"unmasked": unmasked},  # gis.audit adds the viewer's operator
    )
    if layer == "incidents":
        frame = frame.drop(columns=["area_code"])
    return frame.rename_geometry("geometry"), unmasked < len(frame)


def read_for_export(
    session: Session,
    viewer: Viewer,
    layer: str,
    *,
    within: str | None = None,
    purpose: str | None = None,
) -> tuple[gpd.GeoDataFrame, bool]:
    """The layer as a WGS84 GeoDataFrame and whether any personal field is masked.

    ``purpose`` (or the viewer's own) lets the disclosure rule unmask; ``viewer.operator`` names
    who really ran the export (the operating-system user behind ``gridgov export --as``)."""
    if layer not in LAYERS:
        raise InvalidInput(f"layer must be one of {', '.join(LAYERS)}", parameter="layer")
    if layer in PERSONAL_LAYERS:
        if purpose is not None:
            viewer = viewer.with_purpose(purpose.strip() or None, viewer.client or "gridgov export")
        return _personal(session, viewer, layer, within)
    if layer == "districts":
        frame = gpd.read_postgis(
            text(_DISTRICTS_SQL),
            session.connection(),
            geom_col="geom",
            params={"prefix": subtree_pattern(session, within)},
            crs=WGS84,
        )
        return frame.rename_geometry("geometry"), False
    return public_export.read_layer(session, viewer, layer, within=within), False


def write_frame(
    frame: gpd.GeoDataFrame, path: Path, fmt: str, layer: str, crs: str, decimals: int
) -> list[Path]:
    """Write ``frame`` (already in ``crs``, rounded) to ``path`` in ``fmt``, mode 0600.

    The files (with a GCJ-02/BD-09 sidecar note, see :func:`gis.queries.export.write_file`)
    are written in a private (0700) directory beside ``path``, made 0600 and only then moved
    into place, so no moment exists at which another local user could read them.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", parameter="format")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".gridgov-export-", dir=path.parent))
    try:
        public_export.write_file(frame, staging / path.name, fmt, layer, crs, decimals)
        written = []
        for part in sorted(staging.iterdir()):
            if part.is_dir():
                continue
            part.chmod(0o600)
            os.replace(part, path.parent / part.name)
            written.append(path.parent / part.name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export_layer(
    session: Session,
    viewer: Viewer,
    layer: str,
    path: Path,
    *,
    fmt: str,
    within: str | None = None,
    crs: str | None = None,
    purpose: str | None = None,
    precision: float | None = None,
) -> Exported:
    """Read, reproject (``crs``: any EPSG code, GCJ02, BD09), round to ``precision`` metres
    (default 1 cm) and write one layer."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", parameter="format")
    target = parse_crs(crs) if crs else WGS84
    frame, masked = read_for_export(session, viewer, layer, within=within, purpose=purpose)
    frame, decimals = public_export.prepare_frame(frame, target, precision)
    write_frame(frame, path, fmt, layer, target, decimals)
    return Exported(path, len(frame), masked, target)


def default_filename(layer: str, fmt: str, within: str | None) -> str:
    """``gridgov_grids_620881001001.gpkg``; a shapefile is zipped."""
    extension = {"shp": "zip"}.get(fmt, fmt)
    return f"gridgov_{layer}" + (f"_{within}" if within else "") + f".{extension}"
