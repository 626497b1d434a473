"""Response models of /api/v1/areas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.locate import PartyBranch, Staff


class AreaRef(BaseModel):
    code: str = Field(examples=["620881001001"])
    name: str = Field(examples=["东大街社区"])
    level: str = Field(examples=["community"])
    kind: str = Field(examples=["社区"])


class PartyOrgCounts(BaseModel):
    street: int
    community: int
    grid: int
    building: int
    household: int


class HouseholdStandard(BaseModel):
    min: int = 300
    max: int = 500


class AreaStatistics(BaseModel):
    households: int
    residents: int
    party_members: int = Field(description="Party members counted where they live")
    party_members_per_100_households: float | None
    buildings: int
    grids: int
    party_orgs_by_level: PartyOrgCounts
    service_facilities: int
    open_incidents: int
    overdue_incidents: int
    household_standard: HouseholdStandard
    households_within_standard: bool | None = Field(
        description="For a grid: households within 300–500; null for other levels"
    )
    grids_within_household_standard: int


class AreaDetail(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "code": "620881001001001",
                "name": "东大街社区第一网格",
                "level": "grid",
                "kind": "综合网格",
                "district_code": "620881",
                "parent_code": "620881001001",
                "version": 1,
                "valid_from": "2025-01-01T00:00:00+08:00",
                "updated_at": "2025-01-01T00:00:00+08:00",
                "area_km2": 0.154946,
                "geometry": None,
                "parents": [
                    {"code": "620881", "name": "华亭市", "level": "district", "kind": "县级市"}
                ],
                "children": [
                    {
                        "code": "620881B0000001",
                        "name": "丽苑1号楼",
                        "level": "building",
                        "kind": "住宅",
                    }
                ],
                "statistics": {
                    "households": 341,
                    "residents": 933,
                    "party_members": 59,
                    "party_members_per_100_households": 17.3,
                    "buildings": 12,
                    "grids": 1,
                    "party_orgs_by_level": {
                        "street": 0,
                        "community": 0,
                        "grid": 1,
                        "building": 6,
                        "household": 6,
                    },
                    "service_facilities": 0,
                    "open_incidents": 2,
                    "overdue_incidents": 1,
                    "household_standard": {"min": 300, "max": 500},
                    "households_within_standard": True,
                    "grids_within_household_standard": 1,
                },
                "staff": {
                    "chief": {
                        "name": "王*明",
                        "phone": "139****5678",
                        "masked": True,
                        "title": "网格长",
                    },
                    "workers": [],
                    "instructors": [],
                },
                "party_branch": {
                    "code": "DZ620881001001001",
                    "name": "东大街社区第一网格党支部",
                    "org_type": "党支部",
                    "secretary": {"name": "李*", "phone": "137****4321", "masked": True},
                },
            }
        }
    )

    code: str
    name: str
    level: str
    kind: str
    district_code: str
    parent_code: str | None
    version: int
    valid_from: datetime
    updated_at: datetime
    area_km2: float
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON MultiPolygon (with ?geometry=true)"
    )
    parents: list[AreaRef] = Field(description="From the district down to the parent")
    children: list[AreaRef] = Field(description="The next level down; a grid's buildings")
    statistics: AreaStatistics
    staff: Staff | None = Field(
        None,
        description="For a grid: its chief, workers and instructors (names and phones masked "
        "unless your role may unmask and the grid is in your scope); null for other levels",
    )
    party_branch: PartyBranch | None = Field(
        None,
        description="For a grid: its party branch (网格党支部) and secretary (masked likewise); "
        "null for other levels or a grid without a branch",
    )


class AreaListItem(BaseModel):
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None
    bbox: list[float] = Field(description="west, south, east, north")


class Link(BaseModel):
    rel: str
    href: str


class AreaPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AreaListItem]
    links: list[Link] = Field(description="self, and next/prev where there are more")
