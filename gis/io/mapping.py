"""Which column of a user's file feeds which gridgov field.

Every importable layer has a list of :class:`Field` s with the headers people actually use in
Chinese spreadsheets and GIS attribute tables (名称, 编码, 地址, 姓名, 身份证号 …) and their
English/pinyin equivalents. A column is matched to a field when its header, compared without
case, spaces, underscores and hyphens, equals one of the field's aliases. Users override or add
matches with ``--map 列名=field`` or a small mapping file (YAML, JSON or TOML)::

    # mapping.yaml
    网格编号: code
    网格名: name

Explicit mappings win over the defaults; a column mapped to ``-`` is ignored.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from gis.errors import InvalidInput


@dataclass(frozen=True)
class Field:
    name: str
    aliases: tuple[str, ...]
    required: bool = False
    help: str = ""


def _f(name: str, *aliases: str, required: bool = False, help: str = "") -> Field:
    return Field(name, (name, *aliases), required, help)


_CODE = _f("code", "编码", "代码", "编号", "区划代码", "统计代码", "adcode")
_NAME = _f("name", "名称", "名字")
_ADDRESS = _f("address", "地址", "标准地址", "详细地址", "addr")
_PHONE = _f("phone", "联系电话", "电话", "手机", "手机号", "手机号码", "tel")
_AREA_FIELDS = (
    _f(
        "code",
        "编码",
        "代码",
        "编号",
        "区划代码",
        "统计代码",
        "adcode",  # DataV / AMap district boundaries
        "行政区划代码",
        "网格编码",
        "社区编码",
        "街道编码",
        required=True,
    ),
    _f("name", "名称", "名字", "网格名称", "社区名称", "街道名称", required=True),
    _f("kind", "类型", "类别", "网格类型"),
    _f("parent", "上级编码", "上级", "parent_code", "父级编码"),
)

LAYER_FIELDS: dict[str, tuple[Field, ...]] = {
    "districts": _AREA_FIELDS,
    "streets": _AREA_FIELDS,
    "communities": _AREA_FIELDS,
    "grids": _AREA_FIELDS,
    "buildings": (
        _f("code", "编码", "楼栋编码", "建筑编码", "编号", required=True),
        _f("name", "名称", "楼栋名称", "楼栋", "建筑名称", required=True),
        _ADDRESS,
        _f("use", "用途", "建筑用途", "房屋用途"),
        _f("floors", "层数", "楼层数", "地上层数", "floor_count"),
        _f("units", "单元数"),
        _f("grid_code", "网格编码", "所属网格", "grid"),
    ),
    "households": (
        _f("address", "标准地址", "地址", "详细地址", "住址", "addr", required=True),
        _f("building", "楼栋", "楼号", "楼栋名称", "building_name"),
        _f("building_code", "楼栋编码", "bld_code"),
        _f("unit", "单元", "单元号"),
        _f("floor", "楼层", "层"),
        _f("room", "房号", "房间号", "室", "门牌号", required=True),
        _f("household_code", "户编码", "户编号", "户号", "hh_code"),
        _f("name", "姓名", "名字", required=True),
        _f("id_number", "身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证", "id_no"),
        _PHONE,
        _f("gender", "性别", "sex"),
        _f("birth_year", "出生年份", "出生年", "出生日期", "birth", "birthday", "birth_date"),
        _f("relation", "与户主关系", "关系", "户主关系", required=True),
    ),
    "party_orgs": (
        _f("code", "编码", "组织编码", "党组织编码", "编号", required=True),
        _f("name", "名称", "组织名称", "党组织名称", required=True),
        _f("level", "层级", "级别"),
        _f("org_type", "组织类型", "类型", "type"),
        _f("parent", "上级组织", "上级编码", "上级党组织编码", "parent_code"),
        _f("area_code", "所在区域", "区域编码", "网格编码", "社区编码"),
        _f("bld_code", "楼栋编码", "building_code"),
        _f("household_code", "户编码", "hh_code"),
        _f("founded_on", "成立日期", "成立时间", "founded"),
    ),
    "service_facilities": (
        _f("code", "编码", "设施编码", "编号", required=True),
        _f("name", "名称", "设施名称", required=True),
        _f("kind", "类型", "设施类型", "类别", required=True),
        _f("area_code", "所属区域", "区域编码", "社区编码", "网格编码"),
        _ADDRESS,
        _f("opening_hours", "开放时间", "服务时间", "hours"),
        _PHONE,
    ),
    "incidents": (
        _f("code", "案卷编号", "编号", "编码", "案件编号", required=True),
        _f("kind", "案件类型", "大类"),
        _f("category", "类别", "案件类别", "小类", "事件类别", required=True),
        _f("description", "描述", "问题描述", "内容", "desc", required=True),
        _f("source", "来源", "案件来源"),
        _f("status", "状态", "案件状态"),
        _ADDRESS,
        _f("reporter_name", "上报人", "反映人", "reporter", "rep_name"),
        _f("reporter_phone", "上报人电话", "反映人电话", "联系电话", "rep_phone"),
        _f("reported_at", "上报时间", "发现时间", "reported"),
        _f("closed_at", "结案时间", "closed"),
    ),
}
# Geometry columns of sheets: lon/lat pairs or WKT.
LON_ALIASES = ("lon", "lng", "longitude", "x", "经度", "东经")
LAT_ALIASES = ("lat", "latitude", "y", "纬度", "北纬")
WKT_ALIASES = ("wkt", "geometry", "geom", "the_geom", "几何", "空间信息", "shape")
IGNORE = "-"


def layers() -> tuple[str, ...]:
    return tuple(LAYER_FIELDS)


def normalise_header(header: object) -> str:
    """Compare headers without case, spaces, underscores, hyphens and full-width brackets.

    >>> [normalise_header(h) for h in (" 身份证号 ", "Building_Code", "经度(°)")]
    ['身份证号', 'buildingcode', '经度']
    """
    text = str(header).strip().lower()
    text = re.sub(r"[（(][^）)]*[）)]", "", text)
    return re.sub(r"[\s_\-]+", "", text)


def fields_of(layer: str) -> tuple[Field, ...]:
    if layer not in LAYER_FIELDS:
        raise InvalidInput(
            f"unknown layer {layer!r}; give one of: {', '.join(LAYER_FIELDS)}", parameter="layer"
        )
    return LAYER_FIELDS[layer]


def parse_map_options(options: Iterable[str]) -> dict[str, str]:
    """``["网格编号=code", "备注=-"]`` → ``{"网格编号": "code", "备注": "-"}``."""
    result: dict[str, str] = {}
    for option in options:
        column, sep, field = option.partition("=")
        if not sep or not column.strip() or not field.strip():
            raise InvalidInput(
                f"--map {option!r} must look like COLUMN=FIELD, e.g. 网格编号=code",
                parameter="map",
            )
        result[column.strip()] = field.strip()
    return result


def load_mapping_file(path: Path) -> dict[str, str]:
    """A mapping file: YAML (.yaml/.yml), JSON (.json) or TOML (.toml), column → field."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the mapping file {path}: {exc.strerror}", parameter="mapping"
        ) from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(raw)
        elif suffix == ".toml":
            data = tomllib.loads(raw)
        else:
            data = yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(
            f"the mapping file {path.name} is not valid {suffix[1:] or 'YAML'}: "
            f"{str(exc).splitlines()[0]}",
            parameter="mapping",
        ) from None
    if not isinstance(data, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InvalidInput(
            f"the mapping file {path.name} must map column names to field names "
            "(e.g. `网格编号: code`)",
            parameter="mapping",
        )
    return {str(k): str(v) for k, v in data.items()}


def resolve(
    layer: str, columns: Iterable[str], explicit: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map fields to the columns that feed them: ``{field: column}``.

    Raises
    ------
    gis.errors.InvalidInput
        When an explicit mapping names a missing column or an unknown field, or a required
        field has no column; the message lists the file's columns and the accepted headers.
    """
    fields = fields_of(layer)
    known = {f.name for f in fields}
    column_list = [str(c) for c in columns]
    result: dict[str, str] = {}
    ignored: set[str] = set()
    for column, field in (explicit or {}).items():
        if column not in column_list:
            raise InvalidInput(
                f"the mapping names the column {column!r}, which the file does not have; "
                f"its columns are: {', '.join(column_list)}",
                parameter="map",
            )
        if field == IGNORE:
            ignored.add(column)
            continue
        if field not in known:
            raise InvalidInput(
                f"the mapping sends {column!r} to the unknown field {field!r}; fields of "
                f"{layer}: {', '.join(sorted(known))}",
                parameter="map",
            )
        result[field] = column
    used = set(result.values()) | ignored
    by_header = {normalise_header(c): c for c in column_list if c not in used}
    for spec in fields:
        if spec.name in result:
            continue
        for alias in spec.aliases:
            match = by_header.get(normalise_header(alias))
            if match is not None and match not in result.values():
                result[spec.name] = match
                break
    missing = [f for f in fields if f.required and f.name not in result]
    if missing:
        described = "; ".join(f"{f.name} (headers: {', '.join(f.aliases)})" for f in missing)
        raise InvalidInput(
            f"no column for the required field(s) {described}. The file's columns are: "
            f"{', '.join(column_list)}. Rename them or map them with --map COLUMN=FIELD",
            parameter="map",
        )
    return result


def find_column(columns: Iterable[str], aliases: Iterable[str]) -> str | None:
    wanted = {normalise_header(a) for a in aliases}
    for column in columns:
        if normalise_header(column) in wanted:
            return str(column)
    return None
