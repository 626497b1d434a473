"""Response model of /api/v1/search."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SearchHit(BaseModel):
    type: str = Field(examples=["area"], description="area, building, party_org, service_facility")
    subtype: str = Field(examples=["community"], description="level, use, org type or kind")
    code: str = Field(examples=["620881001001"])
    name: str = Field(examples=["东大街社区"])
    address: str | None
    lon: float
    lat: float
    score: float = Field(description="pg_trgm similarity of the query to name (and address)")
    exact_code: bool


class SearchResult(BaseModel):
    q: str
    total: int = Field(description="All matches; items holds the first `limit`")
    items: list[SearchHit]
