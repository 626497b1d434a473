"""``/api/v1/households``: household records and residents — personal data, scoped and masked.

Only roles that work with households may call these (others get 403, the public 401); rows are
limited to the caller's area subtree; names, ID numbers and phones are masked unless the role may
unmask and the request states a ``purpose``, and then the read is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from api.deps import SessionDep
from api.security import SignedInViewerDep, client_address, scope_decision
from gis.queries import households as queries

router = APIRouter(tags=["households"])
PERSONAL = scope_decision("personal")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role has no access to households, or the area is out of scope"},
}

Purpose = Annotated[
    str | None,
    Query(
        min_length=2,
        max_length=200,
        description="Why the personal fields are needed (written to the audit log). Without "
        "it, names, ID numbers and phones stay masked.",
    ),
]


class HouseholdSummary(BaseModel):
    code: str
    address: str
    unit: int
    floor: int
    room: str
    building_code: str
    grid_code: str
    lon: float
    lat: float
    residents: int
    head_name: str | None
    masked: bool


class HouseholdPage(BaseModel):
    within: str
    total: int
    limit: int
    offset: int
    items: list[HouseholdSummary]


class Resident(BaseModel):
    name: str
    gender: str
    birth_year: int
    id_number: str | None
    phone: str | None
    relation: str
    party_member: bool


class Household(BaseModel):
    code: str
    address: str
    unit: int
    floor: int
    room: str
    building_code: str
    grid_code: str
    lon: float
    lat: float
    masked: bool
    residents: list[Resident]


@router.get("/households", response_model=HouseholdPage, responses=ERRORS, openapi_extra=PERSONAL)
def list_households(
    request: Request,
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$",
            description="An area code (district, street, community or grid); default: your scope",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    purpose: Purpose = None,
) -> HouseholdPage:
    """Households in your scope, ordered by code; the head of household's name masked."""
    page = queries.list_households(
        session,
        viewer,
        within=within,
        limit=limit,
        offset=offset,
        purpose=purpose,
        client=client_address(request),
    )
    return HouseholdPage.model_validate(page)


@router.get(
    "/households/{code}",
    response_model=Household,
    responses={**ERRORS, 404: {"description": "No such household in your scope"}},
    openapi_extra=PERSONAL,
)
def get_household(
    request: Request,
    viewer: SignedInViewerDep,
    session: SessionDep,
    code: Annotated[str, Path(pattern=r"^[0-9]{6}H[0-9]{9}$")],
    purpose: Purpose = None,
) -> Household:
    """One household and its residents."""
    found = queries.household(
        session, viewer, code, purpose=purpose, client=client_address(request)
    )
    return Household.model_validate(found)
