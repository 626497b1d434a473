"""The catalogue of feature collections gridgov publishes through OGC API – Features and tiles.

Each collection is one SQL source, ``gis/sql/features_<id>.sql``: a plain ``SELECT`` (no
aggregate, no ``LIMIT`` at its top level, so PostgreSQL flattens it into the outer query and the
bbox predicate reaches the GiST index) producing these columns:

- ``fid`` (text): the feature id, unique among the rows selected at one instant;
- ``geom``: the geometry in EPSG:4326;
- ``scope_code``: the area code the row belongs to (for scoping and masking);
- ``t_start`` / ``t_end``: the temporal columns (``t_end`` only for validity intervals);
- one column per :class:`Property`, named as the property.

The catalogue is code, not configuration: the SQL sources are trusted text, and user input only
ever reaches them as bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PropertyType = Literal["string", "integer", "number", "boolean", "date", "date-time"]
Personal = Literal["name", "phone"]
Temporal = Literal["instant", "interval"]


@dataclass(frozen=True)
class Property:
    """One attribute of a feature.

    ``personal`` marks personal data (masked unless the viewer may unmask the row, and left out
    entirely for viewers who may never unmask); ``tile`` whether it goes into vector tiles;
    ``queryable`` whether ``?<name>=<value>`` filters on it by equality.
    """

    name: str
    type: PropertyType
    title: str
    personal: Personal | None = None
    tile: bool = True
    queryable: bool = False
    items: bool = True
    """False for counts that need deep joins per row: those go into (cached) tiles only."""


@dataclass(frozen=True)
class Collection:
    """A published collection: its SQL source and what it exposes."""

    id: str
    title: str
    description: str
    geometry_type: Literal["MultiPolygon", "Point"]
    properties: tuple[Property, ...]
    temporal: Temporal | None = None
    personal: bool = False
    """Personal records: only viewers who may unmask see them, and only in their scope."""
    tiles: bool = True
    min_zoom: int = 8
    max_zoom: int = 22
    item_type: str = "feature"
    keywords: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sql_name(self) -> str:
        return f"features_{self.id}.sql"

    @property
    def queryables(self) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.queryable)

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)


def _area_properties(
    extra: tuple[Property, ...], people_in_items: bool = True
) -> tuple[Property, ...]:
    """Properties every area level has. Residents and party members are in items too
    (``people_in_items``): every level reads them precomputed from ``area_stats``."""
    return (
        Property("code", "string", "Statistical code 统计代码", queryable=True),
        Property("name", "string", "Name 名称", queryable=True),
        Property("level", "string", "Level 层级"),
        Property("kind", "string", "Kind 类型", queryable=True),
        Property("parent_code", "string", "Parent area code 上级代码", queryable=True),
        Property("version", "integer", "Boundary version 版本", tile=False),
        Property("valid_from", "date-time", "Valid from 生效时间", tile=False),
        Property("valid_to", "date-time", "Valid to 失效时间", tile=False),
        *extra,
        Property("households", "integer", "Households 户数"),
        Property("residents", "integer", "Residents 人口", items=people_in_items),
        Property("party_members", "integer", "Party members 党员数", items=people_in_items),
        Property("open_incidents", "integer", "Open incidents 未结案件"),
    )


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "streets",
            "Streets 街道",
            "Streets and towns (街道/乡镇) with their household, resident, party-member and "
            "open-incident counts. Each row is a boundary version; default: current versions.",
            "MultiPolygon",
            _area_properties((Property("grids", "integer", "Grids 网格数"),)),
            temporal="interval",
            min_zoom=8,
        ),
        Collection(
            "communities",
            "Communities 社区",
            "Communities and villages (社区/村) with their counts; boundary versions over time.",
            "MultiPolygon",
            _area_properties((Property("grids", "integer", "Grids 网格数"),)),
            temporal="interval",
            min_zoom=10,
        ),
        Collection(
            "grids",
            "Grids 网格",
            "Management grids (网格) with area, households, residents, buildings, party members, "
            "open incidents and whether a grid party branch exists; boundary versions over time.",
            "MultiPolygon",
            _area_properties(
                (
                    Property("buildings", "integer", "Buildings 楼栋数"),
                    Property("has_party_branch", "boolean", "Has a party branch 有网格党支部"),
                    Property(
                        "households_in_standard",
                        "boolean",
                        "Households within the 300–500 standard 户数达标",
                    ),
                    Property("area_km2", "number", "Area (km², geodesic) 面积"),
                ),
            ),
            temporal="interval",
            min_zoom=11,
        ),
        Collection(
            "buildings",
            "Buildings 楼栋",
            "Buildings (楼栋) with their grid, households, residents and party members.",
            "MultiPolygon",
            (
                Property("code", "string", "Building code 楼栋编码", queryable=True),
                Property("name", "string", "Name 名称", queryable=True),
                Property("address", "string", "Address 地址"),
                Property("use", "string", "Use 用途", queryable=True),
                Property("floors", "integer", "Floors 层数"),
                Property("units", "integer", "Units 单元数"),
                Property("grid_code", "string", "Grid code 网格代码", queryable=True),
                Property("valid_from", "date-time", "Valid from 生效时间", tile=False),
                Property("valid_to", "date-time", "Valid to 失效时间", tile=False),
                Property("households", "integer", "Households 户数"),
                Property("residents", "integer", "Residents 人口", items=False),
                Property("party_members", "integer", "Party members 党员数", items=False),
                Property("has_party_group", "boolean", "Has a party group 有楼栋党小组"),
            ),
            temporal="interval",
            min_zoom=13,
        ),
        Collection(
            "party_orgs",
            "Party organisations 党组织",
            "Party organisations from street working committees down to member central "
            "households, with their member counts.",
            "Point",
            (
                Property("code", "string", "Code 编码", queryable=True),
                Property("name", "string", "Name 名称", queryable=True),
                Property("level", "string", "Level 层级", queryable=True),
                Property("org_type", "string", "Type 类型", queryable=True),
                Property("parent_code", "string", "Parent organisation 上级组织", queryable=True),
                Property("area_code", "string", "Area code 所在区域", queryable=True),
                Property("founded_on", "date", "Founded 成立日期", tile=False),
                Property("members", "integer", "Members 党员数"),
            ),
            min_zoom=10,
        ),
        Collection(
            "service_facilities",
            "Service facilities 服务设施",
            "Party-mass service centres (党群服务中心) and other service facilities.",
            "Point",
            (
                Property("code", "string", "Code 编码", queryable=True),
                Property("name", "string", "Name 名称", queryable=True),
                Property("kind", "string", "Kind 类型", queryable=True),
                Property("address", "string", "Address 地址"),
                Property("opening_hours", "string", "Opening hours 开放时间"),
                Property("phone", "string", "Phone 电话"),
                Property("area_code", "string", "Area code 所在区域", queryable=True),
            ),
            min_zoom=10,
        ),
        Collection(
            "incidents",
            "Incidents 事件",
            "Cases of the urban-management loop (事件/部件). Public fields only; the reporter's "
            "name and phone are given to roles that may see personal data (masked outside "
            "their scope). Temporal: reported_at.",
            "Point",
            (
                Property("code", "string", "Case number 案卷号", queryable=True),
                Property("kind", "string", "Kind 类别", queryable=True),
                Property("category", "string", "Category 大类", queryable=True),
                Property("description", "string", "Description 描述", tile=False),
                Property("source", "string", "Source 来源", queryable=True),
                Property("status", "string", "Status 状态", queryable=True),
                Property("address", "string", "Address 地址", tile=False),
                Property("street_code", "string", "Street code 街道代码", queryable=True),
                Property("community_code", "string", "Community code 社区代码", queryable=True),
                Property("grid_code", "string", "Grid code 网格代码", queryable=True),
                Property("reported_at", "date-time", "Reported 上报时间", queryable=True),
                Property("due_at", "date-time", "Due 期限", queryable=True),
                Property("closed_at", "date-time", "Closed 结案时间", tile=False),
                Property("rating", "integer", "Rating 评价", tile=False, queryable=True),
                Property("open", "boolean", "Open 未结", queryable=True),
                Property("overdue", "boolean", "Overdue 超期", queryable=True),
                Property("reporter_name", "string", "Reporter 报告人", personal="name", tile=False),
                Property(
                    "reporter_phone", "string", "Reporter phone 电话", personal="phone", tile=False
                ),
            ),
            temporal="instant",
            min_zoom=12,
        ),
        Collection(
            "households",
            "Households 住户",
            "Households (personal data): only for roles that need it, within their own area. "
            "Located at their building's point on surface.",
            "Point",
            (
                Property("code", "string", "Household code 户编码", queryable=True),
                Property("building_code", "string", "Building code 楼栋编码", queryable=True),
                Property("grid_code", "string", "Grid code 网格代码", queryable=True),
                Property("unit", "integer", "Unit 单元"),
                Property("floor", "integer", "Floor 楼层"),
                Property("room", "string", "Room 房号"),
                Property("address", "string", "Address 地址"),
                Property("residents", "integer", "Residents 人数"),
                Property("party_members", "integer", "Party members 党员数"),
                Property("head_name", "string", "Head of household 户主", personal="name"),
                Property("head_phone", "string", "Head's phone 户主电话", personal="phone"),
            ),
            personal=True,
            tiles=False,
        ),
    )
}


def get_collection(collection_id: str) -> Collection | None:
    """The collection with this id, or None."""
    return COLLECTIONS.get(collection_id)
