"""Response model of /api/v1/locate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Point(BaseModel):
    lon: float
    lat: float
    crs: str = "EPSG:4326"


class AreaAtPoint(BaseModel):
    code: str
    name: str
    kind: str


class BuildingAtPoint(BaseModel):
    code: str
    name: str
    address: str
    use: str
    floors: int


class Person(BaseModel):
    name: str | None
    phone: str | None
    masked: bool = Field(description="True unless the viewer may unmask people of this grid")
    title: str | None = None


class Staff(BaseModel):
    chief: Person | None
    workers: list[Person]
    instructors: list[Person]


class PartyBranch(BaseModel):
    code: str
    name: str
    org_type: str
    secretary: Person | None


class ServiceCentre(BaseModel):
    code: str
    name: str
    address: str
    opening_hours: str
    phone: str | None
    lon: float
    lat: float
    distance_m: float = Field(description="Geodesic distance from the point")


class NearestGrid(BaseModel):
    code: str
    name: str
    distance_m: float


class Location(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "point": {"lon": 106.627, "lat": 35.223, "crs": "EPSG:4326"},
                "street": {"code": "620881001000", "name": "东华街道", "kind": "街道"},
                "community": {"code": "620881001001", "name": "东大街社区", "kind": "社区"},
                "grid": {
                    "code": "620881001001001",
                    "name": "东大街社区第一网格",
                    "kind": "综合网格",
                },
                "building": None,
                "staff": {
                    "chief": {
                        "name": "张*雪",
                        "phone": "199****5663",
                        "masked": True,
                        "title": "网格长",
                    },
                    "workers": [
                        {
                            "name": "万*",
                            "phone": "191****4658",
                            "masked": True,
                            "title": "专职网格员",
                        }
                    ],
                    "instructors": [],
                },
                "party_branch": {
                    "code": "DZ620881001001001",
                    "name": "东大街社区第一网格党支部",
                    "org_type": "党支部",
                    "secretary": None,
                },
                "service_centre": {
                    "code": "SF62088100100800019",
                    "name": "梅苑社区党群服务中心",
                    "address": "华亭市东华街道梅苑社区",
                    "opening_hours": "周一至周日 08:30-18:00",
                    "phone": "0933-7786865",
                    "lon": 106.6448,
                    "lat": 35.2258,
                    "distance_m": 1647.95,
                },
                "nearest_grid": None,
            }
        }
    )

    point: Point = Field(description="The point, converted to WGS84")
    street: AreaAtPoint | None
    community: AreaAtPoint | None
    grid: AreaAtPoint | None = Field(description="Lowest code wins on a shared boundary")
    building: BuildingAtPoint | None
    staff: Staff | None
    party_branch: PartyBranch | None
    service_centre: ServiceCentre | None = Field(description="The nearest 党群服务中心")
    nearest_grid: NearestGrid | None = Field(description="Only when the point is in no grid")
