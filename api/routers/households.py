"""``/api/v1/households``: household records and residents — personal data, scoped and masked.

Only roles that work with households may call these (others get 403, the public 401); rows are
limited to the caller's area subtree; names, ID numbers and phones are masked unless the role may
unmask and the request states a ``purpose`` (query) or ``X-Purpose`` (header), and then the read
is audited. Masked answers name the building, not the flat.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, scope_decision
from gis.queries import households as queries
from gis.special_groups import SPECIAL_GROUPS

router = APIRouter(tags=["households"])
PERSONAL = scope_decision("personal")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role has no access to households, or the area is out of scope"},
}


class HouseholdSummary(BaseModel):
    code: str
    address: str = Field(description="The flat's address; only the building's when masked")
    unit: int | None
    floor: int | None
    room: str | None
    building_code: str
    grid_code: str
    lon: float
    lat: float
    residents: int
    head_name: str | None
    special_groups: list[str] = Field(
        description="Special groups of its residents (gis/special_groups.py); empty for roles "
        "that do not work with people"
    )
    masked: bool


class HouseholdPage(BaseModel):
    within: str
    total: int
    limit: int
    offset: int
    items: list[HouseholdSummary]


class Resident(BaseModel):
    name: str
    gender: str | None = Field(description="Only for roles that need it")
    birth_year: int | None = Field(description="Only for roles that need it")
    id_number: str | None
    phone: str | None
    relation: str
    special_groups: list[str] = Field(description="Empty for roles that do not work with people")
    party_member: bool


class Household(BaseModel):
    code: str
    address: str = Field(description="The flat's address; only the building's when masked")
    unit: int | None
    floor: int | None
    room: str | None
    building_code: str
    grid_code: str
    lon: float
    lat: float
    masked: bool
    residents: list[Resident]


@router.get("/households", response_model=HouseholdPage, responses=ERRORS, openapi_extra=PERSONAL)
def list_households(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$",
            description="An area code (district, street, community or grid); default: your scope",
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=50,
            description="A household code, part of an address, or part of a resident's name "
            "(names only for roles that work with people)",
        ),
    ] = None,
    group: Annotated[
        str | None,
        Query(
            description="Only households with someone in this special group: "
            + ", ".join(SPECIAL_GROUPS)
        ),
    ] = None,
    building: Annotated[
        str | None, Query(max_length=40, description="Only this building's households")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HouseholdPage:
    """Households in your scope, ordered by code; the head of household's name masked."""
    page = queries.list_households(
        session,
        viewer,
        within=within,
        q=q,
        group=group,
        building=building,
        limit=limit,
        offset=offset,
    )
    return HouseholdPage.model_validate(page)


@router.get(
    "/households/{code}",
    response_model=Household,
    responses={**ERRORS, 404: {"description": "No such household in your scope"}},
    openapi_extra=PERSONAL,
)
def get_household(
    viewer: SignedInViewerDep,
    session: SessionDep,
    code: Annotated[str, Path(pattern=r"^[0-9]{6}H[0-9]{9}$")],
) -> Household:
    """One household and its residents."""
    found = queries.household(session, viewer, code)
    return Household.model_validate(found)
