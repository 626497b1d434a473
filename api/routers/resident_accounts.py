"""``/api/v1/resident-accounts``: residents' accounts — created by staff for a household, or by the
resident himself with a code sent to his phone (docs/residents.md, "Resident accounts")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.errors import problem
from api.security import SignedInViewerDep, ViewerDep, scope_decision
from gis import accounts, audit, phone_codes
from gis.errors import Forbidden
from gis.incidents.timestamps import iso

router = APIRouter(prefix="/resident-accounts", tags=["resident accounts"])
AUTH = scope_decision("auth")
PERSONAL = scope_decision("personal")
# Staff who may open an account for a household of their area.
ACCOUNT_MAKERS = frozenset(
    {"admin", "street_secretary", "community_secretary", "grid_chief", "grid_worker"}
)
PhoneStr = Annotated[str, Field(pattern=phone_codes.PHONE_PATTERN)]


class ResidentAccountIn(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$")
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD_LENGTH)
    household_code: str = Field(pattern=r"^[0-9]{6}H[0-9]{9}$")
    resident_id: int | None = Field(None, ge=1, le=2**63 - 1)


class CodeRequest(BaseModel):
    phone: PhoneStr


class RegistrationIn(BaseModel):
    phone: PhoneStr
    code: str = Field(pattern=r"^[0-9]{6}$")
    username: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$")
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD_LENGTH)


def _account_body(account: accounts.Account) -> dict[str, Any]:
    return {
        "username": account.username,
        "role": account.role,
        "created_at": iso(account.created_at),
    }


@router.post("", status_code=201, openapi_extra=PERSONAL)
def create_account(
    session: SessionDep, viewer: SignedInViewerDep, body: ResidentAccountIn
) -> dict[str, Any]:
    """Staff open an account for a resident of a household in their area."""
    if viewer.role not in ACCOUNT_MAKERS:
        raise Forbidden(
            "residents' accounts are opened by grid, community or street staff: "
            + ", ".join(sorted(ACCOUNT_MAKERS))
        )
    home = accounts.household_by_code(session, body.household_code)
    if not viewer.covers(home.grid_code):
        raise Forbidden(f"that household is outside your area {viewer.scope_code}")
    account = accounts.create_resident_account(
        session, body.username, body.password, body.household_code, resident_id=body.resident_id
    )
    audit.record(
        session,
        viewer,
        audit.ACCOUNT_CHANGE,
        f"user:{account.username}",
        detail={"created": "resident"},
        area_code=home.grid_code,
    )
    return _account_body(account)


@router.post("/register/code", status_code=202, openapi_extra=AUTH)
def request_code(session: SessionDep, body: CodeRequest) -> dict[str, Any]:
    """Send a registration code to a phone on a resident record (the answer is the same for an
    unknown phone, which gets nothing)."""
    expires = phone_codes.start(session, body.phone)
    return {"sent_if_known": True, "expires_at": iso(expires)}


@router.post("/register", status_code=201, openapi_extra=AUTH, response_model=None)
def register(session: SessionDep, body: RegistrationIn) -> dict[str, Any] | JSONResponse:
    """Create one's own resident account with the code sent to one's phone."""
    account = accounts.register_resident(
        session, body.phone, body.code, body.username, body.password
    )
    if account is None:
        # The wrong try is counted: this answer commits it (no exception, no rollback).
        return problem(
            400, "Bad Request", "the code is wrong; check it or ask for a new one", parameter="code"
        )
    return _account_body(account)


@router.get("/me", openapi_extra=AUTH)
def me(session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """A resident's own account and household (address and areas)."""
    home = accounts.resident_household(session, viewer.user_id) if viewer.is_resident else None
    if home is None:
        raise Forbidden("this is a resident's page: sign in with a resident's account")
    return {
        "username": viewer.username,
        "address": home.address,
        "grid_code": home.grid_code,
        "community_code": home.community_code,
    }
