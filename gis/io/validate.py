"""The dry run: turn a read file into records for one layer and report every problem per row.

Checks run in two passes. Row checks need no database: required values, code formats, enums,
duplicate codes in the file, geometry type and validity (:func:`shapely.is_valid_reason`), ID
numbers (:func:`gis.identity.is_valid_id_number`) and mobile numbers. Database checks run set-wise
in SQL (arrays bound as parameters, spatial predicates on GiST indexes): parents exist, features
lie inside their parent, buildings fall in a grid, household addresses match a building
(otherwise the closest candidates by pg_trgm similarity are listed), ID numbers that already
belong to another household.

The report mirrors what the database's constraints would refuse, so a load after a clean dry run
does not fail on a constraint; if it still does (a concurrent writer), :mod:`gis.io.load` rolls
everything back and reports the database's message.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from gis.boundaries import imports
from gis.boundaries.validation import ERROR
from gis.errors import InvalidInput
from gis.identity import id_gender, is_valid_id_number, is_valid_mobile
from gis.incidents.intake import (
    JURISDICTION_TOLERANCE_M,
    jurisdiction_test,
    outside_jurisdiction,
)
from gis.incidents.vocabulary import (
    CATEGORIES,
    CLOSED_STATUSES,
    KIND_OF_CATEGORY,
    KINDS,
    SOURCES,
    STATUSES,
)
from gis.io.readers import SourceTable, unreadable_reason
from gis.party import vocabulary as party_vocabulary

AREA_LEVEL = {
    "districts": "district",
    "streets": "street",
    "communities": "community",
    "grids": "grid",
}
AREA_CODE_RE = {
    "district": re.compile(r"^[0-9]{6}$"),
    "street": re.compile(r"^[0-9]{9}000$"),
    "community": re.compile(r"^[0-9]{9}(?!000)[0-9]{3}$"),
    "grid": re.compile(r"^[0-9]{15}$"),
}
AREA_CODE_HELP = {
    "district": "6 digits (GB/T 2260), e.g. 620881",
    "street": "12 digits ending in 000, e.g. 620881001000",
    "community": "12 digits not ending in 000, e.g. 620881001001",
    "grid": "15 digits: the community's 12 and a 3-digit number, e.g. 620881001001001",
}
AREA_KINDS = {
    "district": ("区", "县", "县级市", "市"),
    "street": ("街道", "镇", "乡"),
    "community": ("社区", "村"),
    "grid": ("综合网格", "专属网格"),
}
PARENT_LEVEL = {"street": "district", "community": "street", "grid": "community"}
BUILDING_CODE_RE = re.compile(r"^[0-9]{6}B[0-9]{7}$")
HOUSEHOLD_CODE_RE = re.compile(r"^[0-9]{6}H[0-9]{9}$")
BUILDING_USES = ("住宅", "商业", "办公", "公共服务", "工业", "混合")
RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他")
RELATION_SYNONYMS = {
    "本人": "户主",
    "户主本人": "户主",
    "妻": "配偶",
    "妻子": "配偶",
    "丈夫": "配偶",
    "夫": "配偶",
    "子": "子女",
    "女": "子女",
    "儿子": "子女",
    "女儿": "子女",
    "长子": "子女",
    "长女": "子女",
    "次子": "子女",
    "次女": "子女",
    "父亲": "父母",
    "母亲": "父母",
    "父": "父母",
    "母": "父母",
    "孙子": "孙子女",
    "孙女": "孙子女",
    "外孙": "孙子女",
    "外孙女": "孙子女",
    "兄": "兄弟姐妹",
    "弟": "兄弟姐妹",
    "姐": "兄弟姐妹",
    "妹": "兄弟姐妹",
    "哥哥": "兄弟姐妹",
    "弟弟": "兄弟姐妹",
    "姐姐": "兄弟姐妹",
    "妹妹": "兄弟姐妹",
}
FACILITY_KINDS = (
    "党群服务中心",
    "新时代文明实践站",
    "便民服务站",
    "党员活动室",
    "卫生服务站",
    "日间照料中心",
)
# The party chain's levels and types are gis.party.vocabulary's; a 党员中心户 is a member
# household's role (the member register), not an organisation a file can load.
PARTY_LEVELS = party_vocabulary.ORG_LEVELS
PARTY_TYPES = party_vocabulary.TYPES_BY_LEVEL
# A child area may stick out of its parent by digitising noise, not by more.
OUTSIDE_PARENT_TOLERANCE = 0.01
CANDIDATES = 3
# gis.masking replaces hidden characters with this; no real name, ID or phone holds it.
MASK = "*"


@dataclass
class Issue:
    row: int  # the record's row in the file, 1 = first data row
    field: str | None
    message: str
    severity: str = "error"
    candidates: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Report:
    layer: str
    file: str
    rows_read: int = 0
    records: int = 0
    source_crs: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    issues: list[Issue] = dataclasses.field(default_factory=list)
    changes: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    applied: bool = False

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, row: int, fld: str | None, message: str, **kw: Any) -> None:
        self.issues.append(Issue(row, fld, message, "error", **kw))

    def warn(self, row: int, fld: str | None, message: str) -> None:
        self.issues.append(Issue(row, fld, message, "warning"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "file": self.file,
            "rows_read": self.rows_read,
            "records": self.records,
            "source_crs": self.source_crs,
            "notes": self.notes,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "applied": self.applied,
            "changes": self.changes,
            "issues": [i.__dict__ for i in sorted(self.issues, key=lambda i: i.row)],
        }


@dataclass
class Prepared:
    """Records ready for :mod:`gis.io.load` (only meaningful when the report is ok)."""

    layer: str
    records: list[dict[str, Any]]
    report: Report


# --- helpers ------------------------------------------------------------------------------


def _value(row: dict[str, Any], mapping: dict[str, str], name: str) -> str | None:
    column = mapping.get(name)
    if column is None:
        return None
    value = row.get(column)
    return None if value is None else str(value).strip() or None


def _rows(table: SourceTable) -> list[dict[str, Any]]:
    return list(table.frame.to_dict("records"))


def _geometry(table: SourceTable, index: int) -> Any:
    return None if table.geometry is None else table.geometry[index]


def _check_geometry(report: Report, row: int, geom: Any, kind: str) -> Any:
    """A valid geometry of ``kind`` ('polygon' → MultiPolygon, 'point'), or None (reported)."""
    reason = unreadable_reason(geom)
    if reason is not None:
        report.error(row, "geometry", reason)
        return None
    if geom is None or geom.is_empty:
        report.error(row, "geometry", "the geometry is missing or empty")
        return None
    if not np.all(np.isfinite(shapely.get_coordinates(geom))):
        report.error(
            row,
            "geometry",
            "coordinates fall outside the area of use of the CRS "
            "(check --crs and that x is the longitude/easting)",
        )
        return None
    lon, lat = geom.centroid.x, geom.centroid.y
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        report.error(
            row,
            "geometry",
            f"converted coordinates ({lon:.4f}, {lat:.4f}) are not "
            "longitude/latitude; the CRS is probably wrong (give --crs)",
        )
        return None
    if kind == "point":
        if not isinstance(geom, Point):
            if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
                return geom.geoms[0]
            report.error(row, "geometry", f"a point is needed, got a {geom.geom_type}")
            return None
        return geom
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon):
        report.error(row, "geometry", f"a polygon is needed, got a {geom.geom_type}")
        return None
    if not shapely.is_valid(geom):
        report.error(
            row,
            "geometry",
            f"invalid polygon: {shapely.is_valid_reason(geom)} "
            "(fix it in QGIS with Vector > Geometry Tools > Fix Geometries)",
        )
        return None
    return geom


def _duplicates(report: Report, codes: list[tuple[int, str | None]], what: str = "code") -> None:
    seen: dict[str, int] = {}
    for row, code in codes:
        if code is None:
            continue
        if code in seen:
            report.error(row, what, f"duplicate {what} {code} (also in row {seen[code]})")
        else:
            seen[code] = row


def _int(
    report: Report,
    row: int,
    name: str,
    value: str | None,
    low: int,
    high: int,
    default: int | None = None,
) -> int | None:
    if value is None:
        return default
    try:
        number = int(float(value))
    except ValueError:
        report.error(row, name, f"{name} must be a whole number, not {value!r}")
        return None
    if not low <= number <= high:
        report.error(row, name, f"{name} must be between {low} and {high}, not {number}")
        return None
    return number


def _wkb(geom: Any) -> str:
    return str(shapely.to_wkb(geom, hex=True))


def _parent_filter(
    report: Report, row: int, parent: str | None, code: str | None, what: str
) -> None:
    if parent and code and not code.startswith(parent.removesuffix("000")):
        report.error(row, what, f"{code} is outside --parent {parent}")


def _is_masked(report: Report, row: int, fld: str, value: str | None) -> bool:
    """Refuse a masked value (张*明, 138****5678): importing it would overwrite the real one."""
    if value is None or MASK not in value:
        return False
    report.error(
        row,
        fld,
        f"{fld} {value!r} is masked: this file was exported without unmasking (--purpose); "
        "export it again unmasked, or drop the column with --map COLUMN=-",
    )
    return True


def normalise_phone(value: str | None) -> str | None:
    """``+86 138-1234-5678`` → ``13812345678``.

    >>> normalise_phone("+86 138-1234-5678"), normalise_phone(None)
    ('13812345678', None)
    """
    if value is None:
        return None
    digits = re.sub(r"[\s\-()]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits or None


# --- areas --------------------------------------------------------------------------------


def prepare_areas(
    session: Session,
    layer: str,
    table: SourceTable,
    mapping: dict[str, str],
    report: Report,
    parent: str | None,
) -> list[dict[str, Any]]:
    level = AREA_LEVEL[layer]
    records: list[dict[str, Any]] = []
    for i, row in enumerate(_rows(table)):
        n = i + 1
        code = _value(row, mapping, "code")
        name = _value(row, mapping, "name")
        kind = _value(row, mapping, "kind") or AREA_KINDS[level][0]
        given_parent = _value(row, mapping, "parent")
        ok = True
        if code is None or not AREA_CODE_RE[level].match(code):
            report.error(n, "code", f"a {level} code is {AREA_CODE_HELP[level]}; got {code!r}")
            ok = False
        if name is None or len(name) > 100:
            report.error(n, "name", "the name is missing or longer than 100 characters")
            ok = False
        if kind not in AREA_KINDS[level]:
            report.error(
                n,
                "kind",
                f"kind of a {level} must be one of {', '.join(AREA_KINDS[level])}; got {kind!r}",
            )
            ok = False
        parent_code = _derived_parent(level, code) if ok else None
        if given_parent and parent_code and given_parent != parent_code:
            report.error(
                n,
                "parent",
                f"the code {code} extends {parent_code}, but the row names "
                f"the parent {given_parent}: a child's code must extend its parent's",
            )
            ok = False
        _parent_filter(report, n, parent, code, "code")
        geom = _check_geometry(report, n, _geometry(table, i), "polygon")
        if ok and geom is not None:
            records.append(
                {
                    "row": n,
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "parent": parent_code,
                    "wkb": _wkb(geom),
                }
            )
    _duplicates(report, [(r["row"], r["code"]) for r in records])
    if level != "district" and records:
        _check_area_parents(session, level, records, report)
    if level == "grid" and records and report.ok:
        _check_as_editor(session, records, report)
    if level == "community" and records and report.ok:
        row_of = {r["code"]: r["row"] for r in records}
        for code, finding in imports.check_community_outlines(session, records):
            report.warn(row_of[code], "geometry", finding.message)
    return records


def _check_as_editor(session: Session, records: list[dict[str, Any]], report: Report) -> None:
    """The boundary editor's validation of each community's grids after the import."""
    row_of = {r["code"]: r["row"] for r in records}
    for finding in imports.check(session, records):
        row = next((row_of[c] for c in finding.grids if c in row_of), 0)
        if finding.severity == ERROR:
            report.error(row, "geometry", finding.message)
        else:
            report.warn(row, "geometry", finding.message)


def _derived_parent(level: str, code: str | None) -> str | None:
    if code is None or level == "district":
        return None
    if level == "street":
        return code[:6]
    if level == "community":
        return code[:9] + "000"
    return code[:12]


def _check_area_parents(
    session: Session, level: str, records: list[dict[str, Any]], report: Report
) -> None:
    rows = session.execute(
        text(
            """
            SELECT r.ord, p.code IS NOT NULL AS parent_exists,
                   CASE WHEN p.id IS NULL THEN NULL ELSE
                     ST_Area(ST_Difference(g.geom, p.geom)) / nullif(ST_Area(g.geom), 0) END
                     AS outside
            FROM unnest(CAST(:parents AS text[]), CAST(:wkbs AS text[]))
                 WITH ORDINALITY AS r(parent, wkb, ord)
            CROSS JOIN LATERAL (SELECT ST_GeomFromWKB(decode(r.wkb, 'hex'), 4326) AS geom) g
            LEFT JOIN area p ON p.code = r.parent AND p.level = :parent_level
                             AND p.valid_to IS NULL
            ORDER BY r.ord
            """
        ),
        {
            "parents": [r["parent"] for r in records],
            "wkbs": [r["wkb"] for r in records],
            "parent_level": PARENT_LEVEL[level],
        },
    ).all()
    for rec, row in zip(records, rows, strict=True):
        if not row.parent_exists:
            report.error(
                rec["row"],
                "parent",
                f"the parent {PARENT_LEVEL[level]} "
                f"{rec['parent']} of {rec['code']} does not exist; import "
                f"{PARENT_LEVEL[level]}s first",
            )
        elif row.outside is not None and row.outside > OUTSIDE_PARENT_TOLERANCE:
            report.error(
                rec["row"],
                "geometry",
                f"{row.outside:.0%} of {rec['code']} lies outside its parent {rec['parent']}",
            )


# --- buildings ----------------------------------------------------------------------------


def prepare_buildings(
    session: Session,
    table: SourceTable,
    mapping: dict[str, str],
    report: Report,
    parent: str | None,
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for i, row in enumerate(_rows(table)):
        n = i + 1
        code = _value(row, mapping, "code")
        name = _value(row, mapping, "name")
        ok = True
        if code is None or not BUILDING_CODE_RE.match(code):
            report.error(
                n,
                "code",
                "a building code is the 6-digit district code, 'B' and 7 "
                f"digits, e.g. 620881B0000001; got {code!r}",
            )
            ok = False
        if name is None:
            report.error(n, "name", "the name is missing")
            ok = False
        use = _value(row, mapping, "use") or "住宅"
        if use not in BUILDING_USES:
            report.error(n, "use", f"use must be one of {', '.join(BUILDING_USES)}; got {use!r}")
            ok = False
        floors_raw = _value(row, mapping, "floors")
        if floors_raw is None:
            report.warn(n, "floors", "floors missing: 1 assumed")
        floors = _int(report, n, "floors", floors_raw, 1, 200, 1)
        units = _int(report, n, "units", _value(row, mapping, "units"), 1, 50, 1)
        address = _value(row, mapping, "address") or name
        geom = _check_geometry(report, n, _geometry(table, i), "polygon")
        if ok and geom is not None and floors is not None and units is not None:
            records.append(
                {
                    "row": n,
                    "code": code,
                    "name": name,
                    "address": address,
                    "use": use,
                    "floors": floors,
                    "units": units,
                    "grid_code": _value(row, mapping, "grid_code"),
                    "wkb": _wkb(geom),
                }
            )
    _duplicates(report, [(r["row"], r["code"]) for r in records])
    if not records:
        return records
    rows = session.execute(
        text(
            """
            SELECT r.ord, g.code AS grid_code
            FROM unnest(CAST(:wkbs AS text[])) WITH ORDINALITY AS r(wkb, ord)
            -- grid_at: the point → grid rule of intake, locate and re-pointing (migration 0013).
            LEFT JOIN LATERAL grid_at(
                ST_PointOnSurface(ST_GeomFromWKB(decode(r.wkb, 'hex'), 4326))) g ON true
            ORDER BY r.ord
            """
        ),
        {"wkbs": [r["wkb"] for r in records]},
    ).all()
    for rec, placed in zip(records, rows, strict=True):
        if placed.grid_code is None:
            report.error(
                rec["row"],
                "geometry",
                f"building {rec['code']} lies in no current "
                "grid (import grids first, or check --crs)",
            )
            continue
        if rec["grid_code"] and rec["grid_code"] != placed.grid_code:
            report.error(
                rec["row"],
                "grid_code",
                f"building {rec['code']} lies in grid "
                f"{placed.grid_code}, not in its stated grid {rec['grid_code']}",
            )
        if rec["code"][:6] != placed.grid_code[:6]:
            report.error(
                rec["row"],
                "code",
                f"the code {rec['code']} does not start with the "
                f"district code {placed.grid_code[:6]} of its grid",
            )
        _parent_filter(report, rec["row"], parent, placed.grid_code, "geometry")
        rec["grid_code"] = placed.grid_code
    return records


# --- households (一标三实) ------------------------------------------------------------------

_UNIT_RE = re.compile(r"(\d+)\s*单元")
_TAIL_RE = re.compile(r"\s*(\d+\s*单元)?\s*[\dA-Za-z\-]+\s*室?\s*$")


def _building_key(address: str | None, building: str | None) -> str:
    """The part of a standard address that names the building, spaces removed.

    >>> _building_key("华亭市东华街道东大街社区 新华路1号 1号楼1单元101室", None)
    '华亭市东华街道东大街社区新华路1号1号楼'
    >>> _building_key("新华路1号", "1号楼")
    '新华路1号1号楼'
    """
    addr = address or ""
    if building and building not in addr:
        addr = addr + building
    else:
        # Drop the unit and room: "…1号楼1单元101室" → "…1号楼".
        cut = re.sub(r"\d+\s*单元.*$", "", addr)
        if cut == addr:
            cut = (
                _TAIL_RE.sub("", addr)
                if re.search(r"(楼|栋|幢|座)\s*[\dA-Za-z\-]+\s*室?$", addr)
                else addr
            )
        addr = cut
    return re.sub(r"\s+", "", addr)


def _birth_year(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.match(r"^\s*(\d{4})", value)
    return int(match.group(1)) if match else None


def prepare_households(
    session: Session,
    table: SourceTable,
    mapping: dict[str, str],
    report: Report,
    parent: str | None,
) -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = []
    this_year = datetime.now().year
    for i, row in enumerate(_rows(table)):
        n = i + 1
        get = partial(_value, row, mapping)
        name = get("name")
        address = get("address")
        room = get("room")
        ok = True
        if name is None or len(name) > 50:
            report.error(n, "name", "the name is missing or longer than 50 characters")
            ok = False
        masked = {f for f in ("name", "id_number", "phone") if _is_masked(report, n, f, get(f))}
        ok &= not masked
        if address is None and get("building_code") is None:
            report.error(n, "address", "the address (or a building code) is missing")
            ok = False
        if room is None:
            report.error(n, "room", "the room number is missing")
            ok = False
        id_number = get("id_number")
        if id_number is not None and "id_number" not in masked:
            id_number = id_number.upper()
            if not is_valid_id_number(id_number):
                report.error(
                    n,
                    "id_number",
                    f"the ID number {id_number} is not a valid 18-digit "
                    "resident ID (format, birth date or check digit)",
                )
                ok = False
        phone = normalise_phone(get("phone"))
        if phone is not None and "phone" not in masked and not is_valid_mobile(phone):
            report.error(n, "phone", f"the phone {phone} is not an 11-digit mobile number")
            ok = False
        relation_raw = get("relation") or ""
        relation = RELATION_SYNONYMS.get(relation_raw, relation_raw)
        if relation not in RELATIONS:
            report.error(
                n,
                "relation",
                f"relation must be one of {', '.join(RELATIONS)}; got {relation_raw!r}",
            )
            ok = False
        gender = get("gender")
        gender = {"M": "男", "F": "女", "男性": "男", "女性": "女"}.get(
            (gender or "").upper(), gender
        )
        valid_id = id_number is not None and is_valid_id_number(id_number)
        if gender is None and valid_id:
            gender = id_gender(id_number)  # type: ignore[arg-type]
        if gender not in ("男", "女"):
            report.error(n, "gender", "gender must be 男 or 女 (or give a valid ID number)")
            ok = False
        birth_year = _birth_year(get("birth_year"))
        if birth_year is None and valid_id:
            birth_year = int(id_number[6:10])  # type: ignore[index]
        if birth_year is None or not 1880 <= birth_year <= this_year:
            report.error(
                n,
                "birth_year",
                "the birth year is missing or impossible (give a birth year or a valid ID number)",
            )
            ok = False
        unit_raw = get("unit")
        if unit_raw is None and address:
            m = _UNIT_RE.search(address)
            unit_raw = m.group(1) if m else None
        unit_digits = re.sub(r"\D", "", unit_raw) if unit_raw else ""
        unit = _int(report, n, "unit", unit_digits or None, 1, 50, 1)
        room_clean = re.sub(r"室$", "", room or "")
        floor_raw = get("floor")
        if floor_raw is None and room_clean.isdigit() and len(room_clean) >= 3:
            floor_raw = room_clean[:-2]
        floor = _int(
            report, n, "floor", re.sub(r"[层楼F]", "", floor_raw) if floor_raw else None, -5, 200, 1
        )
        hh_code = get("household_code")
        if hh_code is not None and not HOUSEHOLD_CODE_RE.match(hh_code):
            report.error(
                n,
                "household_code",
                f"a household code is the district code, 'H' and 9 digits; got {hh_code!r}",
            )
            ok = False
        if ok and unit is not None and floor is not None:
            people.append(
                {
                    "row": n,
                    "name": name,
                    "id_number": id_number,
                    "phone": phone,
                    "relation": relation,
                    "gender": gender,
                    "birth_year": birth_year,
                    "unit": unit,
                    "floor": floor,
                    "room": room_clean,
                    "household_code": hh_code,
                    "address": address,
                    "building_code": get("building_code"),
                    "key": _building_key(address, get("building")),
                }
            )
    _duplicates(report, [(p["row"], p["id_number"]) for p in people], "id_number")
    if not people:
        return []
    _match_buildings(session, people, report, parent)
    matched = [p for p in people if p.get("building_id")]
    households: dict[tuple[int, int, str], dict[str, Any]] = {}
    for p in matched:
        key = (p["building_id"], p["unit"], p["room"])
        hh = households.setdefault(
            key,
            {
                "row": p["row"],
                "building_id": p["building_id"],
                "unit": p["unit"],
                "floor": p["floor"],
                "room": p["room"],
                "code": p["household_code"],
                "address": p["address"] or f"{p['building_address']}{p['unit']}单元{p['room']}室",
                "district_code": p["district_code"],
                "residents": [],
            },
        )
        if p["household_code"] and hh["code"] and p["household_code"] != hh["code"]:
            report.error(
                p["row"],
                "household_code",
                f"two household codes ({hh['code']}, {p['household_code']}) for the same room",
            )
        hh["residents"].append(p)
    for hh in households.values():
        heads = sum(r["relation"] == "户主" for r in hh["residents"])
        if heads != 1:
            report.warn(
                hh["row"],
                "relation",
                f"household at {hh['address']} has {heads} heads (户主); one is expected",
            )
    _check_id_owners(session, list(households.values()), report)
    _duplicates(report, [(h["row"], h["code"]) for h in households.values()], "household_code")
    report.records = len(households)
    return list(households.values())


def _match_buildings(
    session: Session, people: list[dict[str, Any]], report: Report, parent: str | None
) -> None:
    keys = sorted({p["key"] for p in people if not p["building_code"]})
    codes = sorted({p["building_code"] for p in people if p["building_code"]})
    found: dict[str, Row[Any]] = {}
    ambiguous: dict[str, list[Row[Any]]] = defaultdict(list)
    if keys:
        # Two equality joins (hash-joinable) rather than one OR, which would compare every
        # key with every building.
        for row in session.execute(
            text(
                """
                WITH k AS (SELECT unnest(CAST(:keys AS text[])) AS key),
                matched AS (
                    SELECT k.key, b.id FROM k JOIN building b
                      ON b.valid_to IS NULL AND replace(b.address, ' ', '') = k.key
                    UNION
                    SELECT k.key, b.id FROM k JOIN building b
                      ON b.valid_to IS NULL AND b.name = k.key)
                SELECT m.key, b.id, b.code, b.address, b.district_code, g.code AS grid_code,
                       count(*) OVER (PARTITION BY m.key) AS n
                FROM matched m JOIN building b ON b.id = m.id JOIN area g ON g.id = b.grid_id
                ORDER BY m.key, b.code
                """
            ),
            {"keys": keys},
        ):
            if row.n == 1:
                found["k:" + row.key] = row
            else:
                ambiguous[row.key].append(row)
    if codes:
        for row in session.execute(
            text(
                "SELECT b.code AS key, b.id, b.code, b.address, b.district_code, "
                "g.code AS grid_code FROM building b JOIN area g ON g.id = b.grid_id "
                "WHERE b.valid_to IS NULL AND b.code = ANY(CAST(:codes AS text[]))"
            ),
            {"codes": codes},
        ):
            found["c:" + row.key] = row
    unmatched: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in people:
        if not p["building_code"] and p["key"] in ambiguous:
            same = ambiguous[p["key"]]
            report.error(
                p["row"],
                "address",
                f"the address {p['key']!r} fits {len(same)} buildings; give the building code "
                "(楼栋编码 column) to say which",
                candidates=[f"{b.code} {b.address}" for b in same[:CANDIDATES]],
            )
            continue
        lookup = ("c:" + p["building_code"]) if p["building_code"] else ("k:" + p["key"])
        b = found.get(lookup)
        if b is None:
            unmatched[p["building_code"] or p["key"]].append(p)
            continue
        if parent and not b.grid_code.startswith(parent.removesuffix("000")):
            report.error(p["row"], "address", f"building {b.code} is outside --parent {parent}")
            continue
        p.update(building_id=b.id, building_address=b.address, district_code=b.district_code)
    if not unmatched:
        return
    keys_left = list(unmatched)
    candidates: dict[str, list[str]] = defaultdict(list)
    # The default threshold (0.3) hides useful candidates for long Chinese addresses that differ
    # in the road name; `%` still uses the trigram index at the lower threshold.
    session.execute(text("SET LOCAL pg_trgm.similarity_threshold = 0.1"))
    for row in session.execute(
        text(
            """
            SELECT k.key, c.code, c.address, c.sim
            FROM unnest(CAST(:keys AS text[])) AS k(key)
            CROSS JOIN LATERAL (
                SELECT b.code, b.address,
                       similarity(b.name || ' ' || b.address, k.key) AS sim
                FROM building b
                WHERE b.valid_to IS NULL AND (b.name || ' ' || b.address) % k.key
                ORDER BY sim DESC, b.code LIMIT :n) c
            ORDER BY k.key, c.sim DESC
            """
        ),
        {"keys": keys_left, "n": CANDIDATES},
    ):
        candidates[row.key].append(f"{row.code} {row.address} ({row.sim:.2f})")
    for key, rows in unmatched.items():
        for p in rows:
            what = "building code" if p["building_code"] else "address"
            report.error(
                p["row"],
                "address",
                f"no building matches the {what} {key!r}"
                + (
                    "; closest candidates below"
                    if candidates.get(key)
                    else "; no similar building either"
                ),
                candidates=candidates.get(key, []),
            )


def _check_id_owners(session: Session, households: list[dict[str, Any]], report: Report) -> None:
    pairs = [
        (r["id_number"], hh["building_id"], hh["unit"], hh["room"], r["row"])
        for hh in households
        for r in hh["residents"]
        if r["id_number"]
    ]
    if not pairs:
        return
    rows = session.execute(
        text(
            """
            SELECT i.ord, h.code
            FROM unnest(CAST(:ids AS text[]), CAST(:bids AS bigint[]), CAST(:units AS int[]),
                        CAST(:rooms AS text[])) WITH ORDINALITY AS i(idn, bid, unit, room, ord)
            JOIN resident r ON r.id_number = i.idn
            JOIN household h ON h.id = r.household_id
            WHERE (h.building_id, h.unit, h.room) <> (i.bid, i.unit, i.room)
            """
        ),
        {
            "ids": [p[0] for p in pairs],
            "bids": [p[1] for p in pairs],
            "units": [p[2] for p in pairs],
            "rooms": [p[3] for p in pairs],
        },
    ).all()
    for row in rows:
        idn, _, _, _, n = pairs[row.ord - 1]
        report.error(
            n,
            "id_number",
            f"the ID number {idn[:6]}…{idn[-4:]} already belongs to a "
            f"resident of household {row.code}; move the person there first",
        )


# --- points: party organisations, facilities, incidents ------------------------------------


def prepare_party_orgs(
    session: Session,
    table: SourceTable,
    mapping: dict[str, str],
    report: Report,
    parent: str | None,
) -> list[dict[str, Any]]:
    # Without a level column the type says it, except 党委 (a community's or a town's):
    # taken as a community's unless the row names a street-level area.
    default_level = {
        party_vocabulary.STREET_COMMITTEE: "street",
        party_vocabulary.GENERAL_BRANCH: "community",
        party_vocabulary.GROUP_TYPE: "building",
    }
    records: list[dict[str, Any]] = []
    for i, row in enumerate(_rows(table)):
        n = i + 1
        get = partial(_value, row, mapping)
        code, name, org_type = get("code"), get("name"), get("org_type")
        area_code, bld_code = get("area_code"), get("bld_code")
        level = (
            get("level")
            or default_level.get(org_type or "")
            or next(
                (lvl for lvl, rx in AREA_CODE_RE.items() if area_code and rx.match(area_code)),
                "community",
            )
        )
        ok = True
        if code is None or name is None:
            report.error(n, "code", "the code or the name is missing")
            ok = False
        if org_type == party_vocabulary.CENTRAL_HOUSEHOLD:
            report.error(
                n,
                "org_type",
                "a 党员中心户 is a member household's role, not an organisation: name it in the "
                "party-member register (/party/members), not in this layer",
            )
            ok = False
        elif level not in PARTY_LEVELS:
            report.error(n, "level", f"level must be one of {', '.join(PARTY_LEVELS)}")
            ok = False
        elif org_type not in PARTY_TYPES[level]:
            report.error(
                n,
                "org_type",
                f"a {level} organisation is a {' or '.join(PARTY_TYPES[level])}; got {org_type!r}",
            )
            ok = False
        target = bld_code if level == "building" else area_code
        if ok and target is None:
            report.error(
                n,
                "area_code",
                f"a {level} organisation needs the code of the "
                f"{'area' if level in ('street', 'community', 'grid') else level} it "
                "serves",
            )
            ok = False
        if ok and level != "street" and get("parent") is None:
            report.error(n, "parent", "the parent organisation's code is missing")
            ok = False
        raw = _geometry(table, i)
        geom = _check_geometry(report, n, raw, "point") if raw is not None else None
        if ok and (raw is None or geom is not None):
            records.append(
                {
                    "row": n,
                    "code": code,
                    "name": name,
                    "level": level,
                    "org_type": org_type,
                    "parent": get("parent"),
                    "target": target,
                    "founded_on": (get("founded_on") or "")[:10] or None,
                    "wkb": _wkb(geom) if geom is not None else None,
                }
            )
    _duplicates(report, [(r["row"], r["code"]) for r in records])
    if not records:
        return records
    in_file = {r["code"]: PARTY_LEVELS.index(r["level"]) for r in records}
    rows = session.execute(
        text(
            """
            SELECT r.ord,
                   (SELECT code FROM party_org WHERE code = r.parent) AS parent_found,
                   CASE r.level
                     WHEN 'building' THEN (SELECT g.code FROM building b JOIN area g
                                           ON g.id = b.grid_id
                                           WHERE b.code = r.target AND b.valid_to IS NULL)
                     ELSE (SELECT code FROM area WHERE code = r.target AND valid_to IS NULL
                           AND level = r.level) END AS area_found
            FROM unnest(CAST(:parents AS text[]), CAST(:targets AS text[]),
                        CAST(:levels AS text[])) WITH ORDINALITY AS r(parent, target, level, ord)
            ORDER BY r.ord
            """
        ),
        {
            "parents": [r["parent"] for r in records],
            "targets": [r["target"] for r in records],
            "levels": [r["level"] for r in records],
        },
    ).all()
    for rec, found in zip(records, rows, strict=True):
        depth = PARTY_LEVELS.index(rec["level"])
        if (
            rec["parent"]
            and found.parent_found is None
            and not (rec["parent"] in in_file and in_file[rec["parent"]] < depth)
        ):
            report.error(
                rec["row"],
                "parent",
                f"the parent organisation {rec['parent']} exists "
                "neither in the database nor higher up in this file",
            )
        if found.area_found is None:
            report.error(
                rec["row"],
                "area_code",
                f"the {rec['level']} {rec['target']} that {rec['code']} serves does not exist",
            )
        else:
            _parent_filter(report, rec["row"], parent, found.area_found, "area_code")
    records.sort(key=lambda r: PARTY_LEVELS.index(r["level"]))
    return records


def prepare_facilities(
    session: Session,
    table: SourceTable,
    mapping: dict[str, str],
    report: Report,
    parent: str | None,
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for i, row in enumerate(_rows(table)):
        n = i + 1
        get = partial(_value, row, mapping)
        code, name, kind = get("code"), get("name"), get("kind")
        ok = True
        if code is None or name is None:
            report.error(n, "code", "the code or the name is missing")
            ok = False
        if kind not in FACILITY_KINDS:
            report.error(
                n, "kind", f"kind must be one of {', '.join(FACILITY_KINDS)}; got {kind!r}"
            )
            ok = False
        geom = _check_geometry(report, n, _geometry(table, i), "point")
        if ok and geom is not None:
            records.append(
                {
                    "row": n,
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "area_code": get("area_code"),
                    "address": get("address") or "",
                    "opening_hours": get("opening_hours") or "",
                    "phone": get("phone"),
                    "wkb": _wkb(geom),
                }
            )
    _duplicates(report, [(r["row"], r["code"]) for r in records])
    if records:
        _place_points(session, records, report, parent, need="community")
    return records


def prepare_incidents(
    session: Session,
    table: SourceTable,
    mapping: dict[str, str],
    report: Report,
    parent: str | None,
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for i, row in enumerate(_rows(table)):
        n = i + 1
        get = partial(_value, row, mapping)
        code, category, description = get("code"), get("category"), get("description")
        kind = get("kind") or KIND_OF_CATEGORY.get(category or "", "event")
        source = get("source") or "import"
        status = get("status") or "reported"
        ok = True
        if code is None or description is None or len(description) > 4000:
            report.error(
                n,
                "code",
                "the code or the description is missing (or the "
                "description is longer than 4000 characters)",
            )
            ok = False
        if kind not in KINDS or category not in CATEGORIES[kind]:
            report.error(
                n,
                "category",
                f"category must be one of {', '.join(KIND_OF_CATEGORY)}; got {category!r}",
            )
            ok = False
        if source not in SOURCES:
            report.error(n, "source", f"source must be one of {', '.join(SOURCES)}")
            ok = False
        if status not in STATUSES:
            report.error(n, "status", f"status must be one of {', '.join(STATUSES)}")
            ok = False
        closed_at = get("closed_at")
        if status in CLOSED_STATUSES and closed_at is None:
            report.error(n, "closed_at", f"a {status} case needs its closing time (closed_at)")
            ok = False
        if status not in CLOSED_STATUSES:
            closed_at = None
        for fld in ("reporter_name", "reporter_phone"):
            ok &= not _is_masked(report, n, fld, get(fld))
        reported_at = get("reported_at")
        for fld, value in (("reported_at", reported_at), ("closed_at", closed_at)):
            if value is not None:
                try:
                    datetime.fromisoformat(value)
                except ValueError:
                    report.error(
                        n, fld, f"{fld} must be a date-time like 2024-05-01 08:30, not {value!r}"
                    )
                    ok = False
        geom = _check_geometry(report, n, _geometry(table, i), "point")
        if ok and geom is not None:
            records.append(
                {
                    "row": n,
                    "code": code,
                    "kind": kind,
                    "category": category,
                    "description": description,
                    "source": source,
                    "status": status,
                    "address": get("address"),
                    "reporter_name": get("reporter_name"),
                    "reporter_phone": normalise_phone(get("reporter_phone")),
                    "reported_at": reported_at,
                    "closed_at": closed_at,
                    "wkb": _wkb(geom),
                }
            )
    _duplicates(report, [(r["row"], r["code"]) for r in records])
    if records:
        _place_points(session, records, report, parent, need="district")
    return records


def _place_points(
    session: Session, records: list[dict[str, Any]], report: Report, parent: str | None, need: str
) -> None:
    """The current street/community/grid/district containing each point."""
    within = jurisdiction_test("ST_GeomFromWKB(decode(r.wkb, 'hex'), 4326)")
    rows = session.execute(
        text(
            f"""
            SELECT r.ord, {within} AS in_jurisdiction,
                   ST_X(ST_GeomFromWKB(decode(r.wkb, 'hex'))) AS lon,
                   ST_Y(ST_GeomFromWKB(decode(r.wkb, 'hex'))) AS lat,
                   (SELECT g.code FROM grid_at(ST_GeomFromWKB(decode(r.wkb, 'hex'), 4326)) g)
                       AS grid,
                   max(a.code) FILTER (WHERE a.level = 'community') AS community,
                   max(a.code) FILTER (WHERE a.level = 'street') AS street,
                   max(a.code) FILTER (WHERE a.level = 'district') AS district,
                   (SELECT d.code FROM area d WHERE d.level = 'district' AND d.valid_to IS NULL
                    ORDER BY d.geom <-> ST_GeomFromWKB(decode(r.wkb, 'hex'), 4326)
                    LIMIT 1) AS nearest_district
            FROM unnest(CAST(:wkbs AS text[])) WITH ORDINALITY AS r(wkb, ord)
            LEFT JOIN area a ON a.valid_to IS NULL AND a.level <> 'grid'
                 AND ST_Intersects(a.geom, ST_GeomFromWKB(decode(r.wkb, 'hex'), 4326))
            GROUP BY r.ord, r.wkb ORDER BY r.ord
            """
        ),
        {"wkbs": [r["wkb"] for r in records], "tolerance": JURISDICTION_TOLERANCE_M},
    ).all()
    for rec, row in zip(records, rows, strict=True):
        rec.update(grid=row.grid, community=row.community, street=row.street, district=row.district)
        if need == "community":
            stated = rec.get("area_code")
            if stated:
                if stated not in (row.grid, row.community, row.street):
                    report.error(
                        rec["row"],
                        "area_code",
                        f"the point lies outside its stated "
                        f"area {stated} (it is in {row.grid or row.community or 'none'})",
                    )
            elif row.community is None:
                report.error(
                    rec["row"],
                    "geometry",
                    "the point lies in no current community; give area_code or check --crs",
                )
            rec["area_code"] = stated or row.community
        elif row.district is None and row.nearest_district is not None and row.in_jurisdiction:
            # Cases outside every grid exist (the command centre's unassigned queue).
            report.warn(
                rec["row"],
                "geometry",
                "the point lies outside every area; it goes to "
                f"the nearest district {row.nearest_district}, unassigned to a grid",
            )
            rec["district"] = row.nearest_district
        elif row.district is None and row.nearest_district is not None:
            report.error(rec["row"], "geometry", outside_jurisdiction(row.lon, row.lat).detail)
        elif row.district is None:
            report.error(
                rec["row"],
                "geometry",
                "the point lies outside every area of the "
                "city and there is no district yet (import districts first)",
            )
        where = rec.get("area_code") or row.grid or row.community or row.district
        _parent_filter(report, rec["row"], parent, where, "geometry")


PREPARERS = {
    "buildings": prepare_buildings,
    "households": prepare_households,
    "party_orgs": prepare_party_orgs,
    "service_facilities": prepare_facilities,
    "incidents": prepare_incidents,
}


# A vertex within this distance of the stored feature's vertex *is* that vertex: exports round to
# about 1 cm (gis.queries.export.DEFAULT_PRECISION_M: at most ~0.7 cm per vertex), and a file
# that went through another CRS, QGIS or our own export must not turn every feature into a new
# version or leave hairline gaps against the features the file does not carry.
STORED_VERTEX_TOLERANCE_DEG = 1.5e-7  # about 1.7 cm
_STORED_GEOMETRY_SQL = {
    "area": "SELECT code, ST_AsBinary(geom) AS wkb FROM area "
    "WHERE code = ANY(:codes) AND valid_to IS NULL",
    "building": "SELECT code, ST_AsBinary(geom) AS wkb FROM building "
    "WHERE code = ANY(:codes) AND valid_to IS NULL",
    "service_facility": "SELECT code, ST_AsBinary(geom) AS wkb FROM service_facility "
    "WHERE code = ANY(:codes)",
    "party_org": "SELECT code, ST_AsBinary(geom) AS wkb FROM party_org "
    "WHERE code = ANY(:codes) AND geom IS NOT NULL",
    "incident": "SELECT code, ST_AsBinary(geom) AS wkb FROM incident WHERE code = ANY(:codes)",
}
_STORED_TABLE = {
    **dict.fromkeys(AREA_LEVEL, "area"),
    "buildings": "building",
    "service_facilities": "service_facility",
    "party_orgs": "party_org",
    "incidents": "incident",
}


def snap_to_stored(
    session: Session, layer: str, table: SourceTable, mapping: dict[str, str]
) -> int:
    """Move the file's vertices onto the stored feature's (same code) within ~1.7 cm.

    A feature whose every vertex lands on the stored one becomes the stored geometry exactly
    (unchanged); a feature that really moved keeps its moves, and its untouched vertices land
    on the stored ones (shared edges stay shared). Returns how many features were snapped."""
    stored_table = _STORED_TABLE.get(layer)
    code_column = mapping.get("code")
    if stored_table is None or code_column is None or table.geometry is None:
        return 0
    codes = [str(c).strip() if c is not None else None for c in table.frame[code_column]]
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return 0
    stored = {
        row.code: shapely.from_wkb(bytes(row.wkb))
        for row in session.execute(text(_STORED_GEOMETRY_SQL[stored_table]), {"codes": wanted})
    }
    snapped = 0
    for index, code in enumerate(codes):
        geom = table.geometry[index]
        before = stored.get(code) if code else None
        if before is None or not isinstance(geom, shapely.Geometry) or shapely.is_empty(geom):
            continue
        if shapely.hausdorff_distance(geom, before) > 1.0:  # degrees: not the same feature
            continue
        moved = shapely.snap(geom, before, STORED_VERTEX_TOLERANCE_DEG)
        if shapely.equals_exact(shapely.normalize(moved), shapely.normalize(before), 0.0) or (
            shapely.hausdorff_distance(moved, before) == 0.0
        ):
            moved = before
        if moved is not geom:
            table.geometry[index] = moved
            snapped += 1
    return snapped


_JURISDICTION_MARGIN_DEG = 0.05  # about 5 km: a feature may reach a little past the districts


def check_jurisdiction(session: Session, table: SourceTable) -> None:
    """Refuse a file none of whose features comes near the districts this database governs.

    Per-row containment is checked against each feature's parent; this catches the file whose
    CRS was wrong as a whole (every row outside), with one message instead of thousands."""
    if table.geometry is None:
        return
    real = [
        g for g in table.geometry if isinstance(g, shapely.Geometry) and not shapely.is_empty(g)
    ]
    if not real:
        return
    west, south, east, north = (float(v) for v in shapely.total_bounds(real))
    extent = session.execute(
        text(
            "SELECT ST_XMin(e) w, ST_YMin(e) s, ST_XMax(e) e, ST_YMax(e) n FROM (SELECT "
            "ST_Extent(geom) e FROM area WHERE level = 'district' AND valid_to IS NULL) x"
        )
    ).one()
    if extent.w is None:
        return  # nothing governed yet: the first import brings the districts
    m = _JURISDICTION_MARGIN_DEG
    if east < extent.w - m or west > extent.e + m or north < extent.s - m or south > extent.n + m:
        raise InvalidInput(
            f"{table.path.name}: read as {table.source_crs}, its features fall at lon "
            f"{west:.5f}…{east:.5f}, lat {south:.5f}…{north:.5f}, outside the districts this "
            f"database governs (lon {extent.w:.3f}…{extent.e:.3f}, lat {extent.s:.3f}…"
            f"{extent.n:.3f}): check --crs (GCJ-02 and BD-09 data from AMap/Baidu needs "
            "--crs gcj02 / --crs bd09) or the file",
            parameter="crs",
        )


def prepare(
    session: Session,
    layer: str,
    table: SourceTable,
    mapping: dict[str, str],
    *,
    parent: str | None = None,
) -> Prepared:
    """Validate ``table`` as ``layer``; the report lists every problem (nothing is written)."""
    report = Report(
        layer=layer,
        file=table.path.name,
        rows_read=len(table),
        source_crs=table.source_crs,
        notes=list(table.notes),
    )
    check_jurisdiction(session, table)
    snap_to_stored(session, layer, table, mapping)
    if layer in AREA_LEVEL:
        records = prepare_areas(session, layer, table, mapping, report, parent)
    else:
        records = PREPARERS[layer](session, table, mapping, report, parent)
    if layer != "households":
        report.records = len(records)
    counts = Counter(i.field for i in report.errors)
    if counts:
        report.notes.append(
            "errors by field: " + ", ".join(f"{k} {v}" for k, v in counts.most_common())
        )
    return Prepared(layer, records, report)
