"""``/api/v1/disputes``: dispute mediation on three levels (三级调解: grid → community → street)
— register, list, read (parties masked and audited), steps, sessions, statistics
(docs/residents.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, scope_decision
from gis.incidents.vocabulary import (
    DISPUTE_STATUSES,
    DISPUTE_TYPES,
    MEDIATION_LEVELS,
    PARTY_SIDES,
    SESSION_OUTCOMES,
)
from gis.mediation import cases

router = APIRouter(prefix="/disputes", tags=["mediation"])
PERSONAL = scope_decision("personal")
SCOPED = scope_decision("scoped")
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
AreaQuery = Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$")]


class PartyIn(BaseModel):
    side: Literal[PARTY_SIDES]  # type: ignore[valid-type]
    name: str = Field(min_length=1, max_length=cases.NAME_MAX)
    phone: str | None = Field(None, pattern=r"^1[3-9][0-9]{9}$")
    id_number: str | None = Field(None, pattern=r"^[0-9]{17}[0-9Xx]$")
    resident_id: int | None = Field(None, ge=1, le=2**63 - 1)


class DisputeIn(BaseModel):
    dispute_type: Literal[DISPUTE_TYPES]  # type: ignore[valid-type]
    summary: str = Field(min_length=1, max_length=cases.TEXT_MAX)
    grid_code: str = Field(pattern=r"^[0-9]{15}$")
    parties: list[PartyIn] = Field(min_length=2, max_length=20)


class DisputeStepIn(BaseModel):
    action: Literal["start", "escalate", "agree", "fail", "withdraw", "follow_up"]
    note: str | None = Field(None, max_length=cases.TEXT_MAX)
    mediator: str | None = Field(None, min_length=1, max_length=cases.MEDIATOR_MAX)
    terms: str | None = Field(None, min_length=1, max_length=cases.TERMS_MAX)
    signed_at: AwareDatetime | None = None
    fulfil_by: date | None = None
    fulfilled: bool | None = None
    visited_at: AwareDatetime | None = None


class SessionIn(BaseModel):
    held_at: AwareDatetime
    outcome: Literal[SESSION_OUTCOMES]  # type: ignore[valid-type]
    mediator: str = Field(min_length=1, max_length=cases.MEDIATOR_MAX)
    note: str | None = Field(None, max_length=cases.TEXT_MAX)


@router.post("", status_code=201, openapi_extra=PERSONAL)
def register(session: SessionDep, viewer: SignedInViewerDep, body: DisputeIn) -> dict[str, Any]:
    """Register a dispute in a grid (the grid's mediator takes it first)."""
    parties = [cases.PartyInput(**p.model_dump()) for p in body.parties]
    return cases.register(
        session,
        viewer,
        cases.DisputeInput(body.dispute_type, body.summary, body.grid_code, parties),
    )


@router.get("", openapi_extra=SCOPED)
def list_disputes(
    session: SessionDep,
    viewer: SignedInViewerDep,
    status: Literal[DISPUTE_STATUSES] | None = None,  # type: ignore[valid-type]
    level: Literal[MEDIATION_LEVELS] | None = None,  # type: ignore[valid-type]
    within: AreaQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Disputes in your area (no parties: open one)."""
    return cases.list_disputes(
        session, viewer, status=status, level=level, within=within, limit=limit, offset=offset
    )


@router.get("/statistics", openapi_extra=SCOPED)
def statistics(
    session: SessionDep,
    viewer: SignedInViewerDep,
    start: Annotated[AwareDatetime | None, Query()] = None,
    end: Annotated[AwareDatetime | None, Query()] = None,
    within: AreaQuery = None,
) -> list[dict[str, Any]]:
    """Per level: cases, settled (协议), failed, success rate, mean working days there."""
    end = end or datetime.now(UTC) + timedelta(minutes=1)
    start = start or end - timedelta(days=365)
    return cases.statistics(session, viewer, start=start, end=end, within=within)


@router.get("/{dispute_id}", openapi_extra=PERSONAL)
def get_dispute(
    session: SessionDep, viewer: SignedInViewerDep, dispute_id: IdPath
) -> dict[str, Any]:
    """One dispute; parties unmasked only with a purpose, for a role that may (audited)."""
    return cases.get_dispute(session, viewer, dispute_id)


@router.post("/{dispute_id}/transitions", openapi_extra=PERSONAL)
def step(
    session: SessionDep, viewer: SignedInViewerDep, dispute_id: IdPath, body: DisputeStepIn
) -> dict[str, Any]:
    """Take on (受理), escalate (升级), record the agreement (调解协议), fail, withdraw, follow up
    (回访)."""
    return cases.step(session, viewer, dispute_id, cases.DisputeStep(**body.model_dump()))


@router.post("/{dispute_id}/sessions", status_code=201, openapi_extra=PERSONAL)
def add_session(
    session: SessionDep, viewer: SignedInViewerDep, dispute_id: IdPath, body: SessionIn
) -> dict[str, Any]:
    """A mediation session at the dispute's current level: when, who, outcome."""
    return cases.record_session(
        session, viewer, dispute_id, cases.SessionInput(**body.model_dump())
    )
