"""Read a user's file into a table with WGS84 geometry.

Formats: GeoPackage, Shapefile (loose or zipped), GeoJSON (read by pyogrio/GDAL), CSV and XLSX
(read by pandas/openpyxl) whose geometry is a lon/lat column pair (经度/纬度, lon/lat, x/y) or a
WKT column. Every attribute is read as text so that codes and ID numbers keep their leading
zeros and are never turned into floats.

CRS rules (docs/data-io.md):

- ``crs`` given (any form :func:`gis.crs.parse_crs` accepts, including ``gcj02`` and ``bd09``):
  it wins over what the file declares — data digitised on AMap is often labelled WGS84 but is
  GCJ-02;
- otherwise the file's own CRS; a GIS file without one (a shapefile without ``.prj``) is
  refused, a CSV/XLSX is taken as EPSG:4326.

Text encoding of shapefiles: a ``.cpg`` file names it and GDAL honours it. Without ``.cpg``
GDAL assumes ISO-8859-1, which turns GBK or UTF-8 Chinese into mojibake; rather than guess we
refuse such a file (unless ``encoding`` is given) and name the encoding its bytes decode in.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from gis.crs import (
    BD09,
    GCJ02,
    WGS84,
    area_of_use,
    china_bounds,
    identify_crs,
    parse_crs,
    transform_arrays,
)
from gis.errors import InvalidInput
from gis.io.mapping import LAT_ALIASES, LON_ALIASES, WKT_ALIASES, find_column

MAX_FILE_BYTES = 200 * 1024 * 1024
"""Files above this are refused before reading: the dry run holds every row in memory (a
50 MB GeoJSON takes some 400 MB); split a larger file by area (``ogr2ogr -where``)."""
MAX_FEATURES = 500_000

VECTOR_SUFFIXES = {".gpkg", ".shp", ".zip", ".geojson", ".json"}
TABLE_SUFFIXES = {".csv", ".xlsx", ".xlsm"}
FORMATS = "GeoPackage (.gpkg), Shapefile (.shp or zipped .zip), GeoJSON, CSV, XLSX"


@dataclass
class SourceTable:
    """Attributes as text (NaN-free: missing is ``None``) and geometry in EPSG:4326."""

    frame: pd.DataFrame
    geometry: np.ndarray | None  # shapely geometries (or None per row), WGS84 lon/lat
    source_crs: str | None
    path: Path
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame)


def read_source(
    path: Path,
    *,
    crs: str | None = None,
    layer_name: str | None = None,
    encoding: str | None = None,
) -> SourceTable:
    """Read ``path`` (see the module docstring); geometry converted to WGS84.

    Raises
    ------
    gis.errors.InvalidInput
        With a message saying what to fix: unknown format, missing file, several layers and
        no ``layer_name``, unknown CRS, a shapefile without ``.prj`` or with an undeclared
        non-ASCII encoding, unreadable coordinates.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"no such file: {path}", parameter="file")
    user_crs = parse_crs(crs) if crs else None
    _check_size(path)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return _read_table(path, user_crs, layer_name, encoding)
    if suffix in VECTOR_SUFFIXES:
        return _read_vector(path, user_crs, layer_name, encoding)
    if suffix == ".xls":
        raise InvalidInput(
            f"{path.name}: the old .xls format is not read; save it as .xlsx", parameter="file"
        )
    raise InvalidInput(
        f"{path.name}: unknown format {suffix or '(no extension)'}; give one of: {FORMATS}",
        parameter="file",
    )


# --- GIS files ----------------------------------------------------------------------------


def _check_size(path: Path, features: int = 0) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES or features > MAX_FEATURES:
        raise InvalidInput(
            f"{path.name} is too large to import in one go ({size / 1024 / 1024:,.0f} MB, "
            f"{features:,} features; the limit is {MAX_FILE_BYTES // 1024 // 1024} MB and "
            f"{MAX_FEATURES:,} features): split it by area, e.g. "
            "ogr2ogr -where \"code LIKE '620881001%'\" part.gpkg big.gpkg",
            parameter="file",
        )


def _shapefile_parts(path: Path) -> tuple[str, set[str]]:
    """The GDAL path of a shapefile (loose or in a zip) and the suffixes of its siblings."""
    if path.suffix.lower() == ".shp":
        # Compared by name, not globbed: file names may hold glob characters ("网格[1].shp").
        siblings = {p.suffix.lower() for p in path.parent.iterdir() if p.stem == path.stem}
        return str(path), siblings
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile:
        raise InvalidInput(f"{path.name} is not a valid zip archive", parameter="file") from None
    shps = [n for n in names if n.lower().endswith(".shp")]
    if len(shps) != 1:
        others = [n for n in names if Path(n).suffix.lower() in {".gpkg", ".geojson", ".json"}]
        if len(shps) == 0 and len(others) == 1:
            return f"/vsizip/{path}/{others[0]}", set()
        raise InvalidInput(
            f"{path.name} must hold exactly one shapefile (.shp with .shx, .dbf, .prj); "
            f"it holds {len(shps)}: {', '.join(shps) or 'none'}",
            parameter="file",
        )
    stem = shps[0][: -len(".shp")]
    siblings = {Path(n).suffix.lower() for n in names if n[: -len(Path(n).suffix)] == stem}
    return f"/vsizip/{path}/{shps[0]}", siblings


def _read_vector(
    path: Path, user_crs: str | None, layer_name: str | None, encoding: str | None
) -> SourceTable:
    suffix = path.suffix.lower()
    source = str(path)
    siblings: set[str] | None = None
    if suffix in {".shp", ".zip"}:
        source, siblings = _shapefile_parts(path)
        if siblings and ".dbf" not in siblings:
            raise InvalidInput(f"{path.name}: the shapefile has no .dbf", parameter="file")
    try:
        layers = pyogrio.list_layers(source)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidInput(
            f"{path.name} cannot be read as {suffix[1:].upper()}: {_gdal_message(exc)}",
            parameter="file",
        ) from None
    names = [str(row[0]) for row in layers]
    if layer_name is None and len(names) > 1:
        raise InvalidInput(
            f"{path.name} holds several layers; choose one with --layer-name: {', '.join(names)}",
            parameter="layer_name",
        )
    if layer_name is not None and layer_name not in names:
        raise InvalidInput(
            f"{path.name} has no layer {layer_name!r}; its layers: {', '.join(names)}",
            parameter="layer_name",
        )
    kwargs: dict[str, Any] = {"layer": layer_name} if layer_name else {}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        info = pyogrio.read_info(source, **kwargs)
        _check_size(path, int(info.get("features") or 0))
        with warnings.catch_warnings():
            # GDAL warns about unclosed rings; each such row is reported by the dry run.
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, _fids, wkbs, field_data = pyogrio.raw.read(source, **kwargs)
    except (DataSourceError, DataLayerError, LookupError, ValueError, OSError) as exc:
        raise InvalidInput(
            f"{path.name} cannot be read: {_gdal_message(exc)}", parameter="file"
        ) from None
    frame = pd.DataFrame(
        {str(name): values for name, values in zip(meta["fields"], field_data, strict=True)}
    )
    geoms = _parse_wkb(wkbs) if wkbs is not None else None
    if siblings is not None and ".cpg" not in siblings and not encoding:
        _refuse_undeclared_encoding(path, frame)
    declared = info.get("crs")
    notes: list[str] = []
    if user_crs is not None:
        src = user_crs
        try:
            declared_name = identify_crs(declared) if declared else user_crs
        except InvalidInput:
            declared_name = declared[:60] if declared else user_crs
        if declared_name != user_crs:
            notes.append(f"the file declares {declared_name}; --crs {user_crs} overrides it")
    elif declared:
        src = identify_crs(declared)
    elif siblings is not None:
        raise InvalidInput(
            f"{path.name}: the shapefile has no .prj, so its coordinate system is unknown; give "
            "it with --crs (e.g. --crs 4490, --crs 4527 for a CGCS2000 Gauss-Krüger zone, "
            "--crs gcj02 for AMap data)",
            parameter="crs",
        )
    else:
        raise InvalidInput(
            f"{path.name} declares no coordinate system; give it with --crs", parameter="crs"
        )
    return SourceTable(
        _as_text(frame),
        _to_wgs84(geoms, src, path) if geoms is not None else None,
        src,
        path,
        notes,
    )


def _parse_wkb(wkbs: Any) -> np.ndarray:
    """GDAL's WKB as shapely geometries; what GEOS refuses (an unclosed ring, too few points)
    becomes an :class:`_Unreadable` with GEOS's reason, reported on its row by the dry run."""
    out = np.empty(len(wkbs), dtype=object)
    for i, wkb in enumerate(wkbs):
        if wkb is None:
            out[i] = None
            continue
        try:
            out[i] = shapely.from_wkb(wkb)
        except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
            reason = str(exc).split(":", 1)[-1].strip() or type(exc).__name__
            out[i] = _Unreadable(f"unreadable geometry: {reason[:200]}")
    return out


def _refuse_undeclared_encoding(path: Path, frame: pd.DataFrame) -> None:
    texts = [str(c) for c in frame.columns]
    for column in frame.columns:
        if column != getattr(frame, "_geometry_column_name", None):
            texts.extend(v for v in frame[column].dropna().head(200) if isinstance(v, str))
    suspicious = [t for t in texts if not t.isascii()]
    if not suspicious:
        return
    raw = "".join(suspicious).encode("latin-1", errors="replace")
    guess = "GBK"
    try:
        raw.decode("utf-8")
        guess = "UTF-8"
    except UnicodeDecodeError:
        pass
    raise InvalidInput(
        f"{path.name}: the shapefile has no .cpg naming its text encoding and its attribute "
        f"table holds non-ASCII text (read as Latin-1 it gives {suspicious[0][:20]!r}). "
        f"Its bytes look like {guess}: give --encoding {guess} (Chinese shapefiles from ArcGIS "
        "and older tools are usually GBK), or add a .cpg file",
        parameter="encoding",
    )


def _gdal_message(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


# --- spreadsheets -------------------------------------------------------------------------


def _read_table(
    path: Path, user_crs: str | None, sheet: str | None, encoding: str | None
) -> SourceTable:
    if path.suffix.lower() == ".csv":
        frame = _read_csv(path, encoding)
    else:
        try:
            sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise InvalidInput(
                f"{path.name} is not a readable XLSX workbook: {str(exc)[:200]}", parameter="file"
            ) from None
        if sheet is None:
            sheet = next(iter(sheets))
        if sheet not in sheets:
            raise InvalidInput(
                f"{path.name} has no sheet {sheet!r}; its sheets: {', '.join(sheets)}",
                parameter="layer_name",
            )
        frame = sheets[sheet]
    frame = _as_text(frame)
    columns = [str(c) for c in frame.columns]
    wkt_col = find_column(columns, WKT_ALIASES)
    lon_col = find_column(columns, LON_ALIASES)
    lat_col = find_column(columns, LAT_ALIASES)
    src = user_crs or _sidecar_crs(path) or WGS84
    geoms: np.ndarray | None = None
    if wkt_col is not None:
        geoms = _parse_wkt(frame[wkt_col].tolist(), path)
        frame = frame.drop(columns=[wkt_col])
    elif lon_col is not None and lat_col is not None:
        geoms = _parse_points(frame[lon_col].tolist(), frame[lat_col].tolist(), path)
        frame = frame.drop(columns=[lon_col, lat_col])
    notes = [] if geoms is None else [f"coordinates read as {src}"]
    return SourceTable(
        frame, _to_wgs84(geoms, src, path) if geoms is not None else None, src, path, notes
    )


SIDECAR_SUFFIX = ".crs.txt"


def _sidecar_crs(path: Path) -> str | None:
    """The CRS named by a gridgov export's sidecar note (``grids.csv.crs.txt``), if any.

    CSV and XLSX cannot hold a CRS; our GCJ-02/BD-09 exports leave this note beside them
    (:func:`gis.crs.crs_note`), whose first line names the CRS."""
    note = path.with_name(path.name + SIDECAR_SUFFIX)
    if not note.is_file():
        return None
    first = note.read_text(encoding="utf-8", errors="replace").partition("\n")[0]
    match = re.search(r"\(([^()]+)\)\s*$", first)
    if match is None:
        return None
    try:
        return parse_crs(match.group(1))
    except InvalidInput:
        return None


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    """A CSV as text cells; a row with more fields than the header is refused.

    pandas would silently turn surplus leading fields into an index (an unquoted WKT such as
    ``POLYGON((0 0,1 1,…))`` shifts every column of its row), so the rows are read with the
    :mod:`csv` module and their lengths checked first.
    """
    try:
        text = path.read_text(encoding=encoding or "utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path.name} is not {encoding or 'UTF-8'} text; give its encoding, e.g. "
            "--encoding GBK (what Excel writes for 'CSV' on Chinese Windows)",
            parameter="encoding",
        ) from None
    except LookupError:
        raise InvalidInput(f"unknown encoding {encoding!r}", parameter="encoding") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InvalidInput(f"{path.name} is not a readable CSV: {exc}", parameter="file") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InvalidInput(f"{path.name} is empty: no header row", parameter="file")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, 1):
        if len(row) > len(header):
            raise InvalidInput(
                f"{path.name}: data row {number} has {len(row)} fields but the header has "
                f"{len(header)} ({', '.join(header)}). Quote values that contain commas, "
                'e.g. a WKT column: "POLYGON((0 0, 1 0, 1 1, 0 0))"',
                parameter="file",
            )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise InvalidInput(
            f"{path.name}: the header repeats the column(s) {', '.join(duplicated)}",
            parameter="file",
        )
    padded = [row + [""] * (len(header) - len(row)) for row in body]
    return pd.DataFrame(padded, columns=header, dtype=object)


def _parse_wkt(values: list[Any], path: Path) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if value is None or str(value).strip() == "":
            out[i] = None
            continue
        try:
            out[i] = shapely.from_wkt(str(value))
        except shapely.errors.GEOSException:
            # Reported per row by the validator (the geometry is unreadable there).
            out[i] = _Unreadable(f"unreadable WKT: {str(value)[:60]!r}")
    return out


def _parse_points(lons: list[Any], lats: list[Any], path: Path) -> np.ndarray:
    out = np.empty(len(lons), dtype=object)
    for i, (x, y) in enumerate(zip(lons, lats, strict=True)):
        if (x is None or str(x).strip() == "") and (y is None or str(y).strip() == ""):
            out[i] = None
            continue
        try:
            out[i] = shapely.Point(float(str(x)), float(str(y)))
        except (TypeError, ValueError):
            out[i] = _Unreadable(f"lon/lat {x!r}, {y!r} are not numbers")
    return out


class _Unreadable:
    """A placeholder for a geometry that could not be parsed; carries the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unreadable: {self.reason}>"


def unreadable_reason(value: object) -> str | None:
    return value.reason if isinstance(value, _Unreadable) else None


def _check_place(path: Path, raw: np.ndarray, wgs84: np.ndarray, src: str) -> None:
    """Refuse a file whose coordinates cannot be in ``src``: outside the CRS's area of use, or
    nowhere near China (lon/lat read as metres lands in the Gulf of Guinea)."""
    finite = [g for g in wgs84 if isinstance(g, shapely.Geometry) and not shapely.is_empty(g)]
    if not finite:
        return
    west, south, east, north = (float(v) for v in shapely.total_bounds(finite))
    hint = ""
    if src not in (WGS84, GCJ02, BD09):
        raws = [g for g in raw if isinstance(g, shapely.Geometry) and not shapely.is_empty(g)]
        rw, rs, re_, rn = (float(v) for v in shapely.total_bounds(raws))
        if -180 <= rw <= re_ <= 180 and -90 <= rs <= rn <= 90:
            hint = (
                " The file's numbers look like longitude/latitude degrees: try --crs 4326 "
                "(or --crs gcj02 for AMap data, --crs bd09 for Baidu)."
            )
    where = f"lon {west:.5f}…{east:.5f}, lat {south:.5f}…{north:.5f}"
    if not all(np.isfinite([west, south, east, north])):
        raise InvalidInput(
            f"{path.name}: its coordinates cannot be converted from {src} (they fall outside "
            f"what that CRS can express); is {src} the right CRS?{hint}",
            parameter="crs",
        )
    uw, us, ue, un = area_of_use(src)
    margin = 1.0  # degrees: data just across a zone boundary is normal
    if west < uw - margin or east > ue + margin or south < us - margin or north > un + margin:
        raise InvalidInput(
            f"{path.name}: read as {src}, its features fall at {where}, outside where {src} is "
            f"used (lon {uw:g}…{ue:g}, lat {us:g}…{un:g}): the CRS is probably wrong.{hint}",
            parameter="crs",
        )
    cw, cs, ce, cn = china_bounds()
    if east < cw or west > ce or north < cs or south > cn:
        raise InvalidInput(
            f"{path.name}: read as {src}, its features fall at {where}, nowhere near China: "
            f"the CRS is probably wrong.{hint}",
            parameter="crs",
        )


def _to_wgs84(geoms: np.ndarray, src: str, path: Path | None = None) -> np.ndarray:
    """Convert shapely geometries from ``src`` to WGS84 (2-D), leaving None/unreadable as is;
    with ``path``, refuse coordinates that cannot be in ``src`` (:func:`_check_place`)."""
    out = np.empty(len(geoms), dtype=object)
    real = np.array([isinstance(g, shapely.Geometry) for g in geoms], dtype=bool)
    out[~real] = geoms[~real]
    if not real.any():
        return out
    flat = shapely.force_2d(np.asarray(list(geoms[real]), dtype=object))
    if src != WGS84:

        def convert(coords: np.ndarray) -> np.ndarray:
            xs, ys = transform_arrays(coords[:, 0], coords[:, 1], src, WGS84)
            return np.column_stack([xs, ys])

        with np.errstate(all="ignore"):
            flat = shapely.transform(flat, convert)
    out[real] = list(flat)
    if path is not None:
        _check_place(path, geoms, out, src)
    return out


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as stripped text or None (integers without '.0', dates as ISO)."""
    data = {column: [cell_text(v) for v in frame[column].tolist()] for column in frame.columns}
    return pd.DataFrame(data, columns=frame.columns, dtype=object)


def cell_text(value: Any) -> str | None:
    """A cell as text: ``None`` for empty/NaN, ``620881001001`` for 620881001001.0.

    >>> cell_text(620881001001.0), cell_text(" 张三 "), cell_text(float("nan")), cell_text("")
    ('620881001001', '张三', None, None)
    """
    if value is None:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value).strip()
    return text or None
