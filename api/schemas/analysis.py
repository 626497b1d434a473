"""Response models of /api/v1/analysis."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]


class CoverageTotals(BaseModel):
    buildings: int
    buildings_uncovered: int
    households: int
    households_uncovered: int


class GridCoverage(CoverageTotals):
    code: str
    name: str


class ServiceCoverage(BaseModel):
    within: str | None
    radius_m: float
    totals: CoverageTotals
    grids: list[GridCoverage]
    uncovered_buildings: FeatureCollection = Field(
        description="Anchor points of buildings farther than radius_m from every 党群服务中心"
    )


class GridRef(BaseModel):
    code: str
    name: str


class CommunityDensity(BaseModel):
    code: str
    name: str
    households: int
    party_members: int
    party_members_per_100_households: float | None


class BlankSpots(BaseModel):
    within: str | None
    grids_without_branch: list[GridRef]
    uncovered_buildings: FeatureCollection = Field(
        description="Inhabited buildings with no party group and no resident party member"
    )
    communities: list[CommunityDensity] = Field(
        description="Ranked by party members per 100 households, lowest first"
    )
