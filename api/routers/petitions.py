"""``/api/v1/petitions``: residents' petitions (诉求) — submit, list, read, work the steps
(assign, answer, rate, refuse, convert to an incident), statistics (docs/residents.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, scope_decision
from gis.incidents.vocabulary import (
    ESCALATION_LEVELS,
    PETITION_STATUSES,
    PETITION_SUBJECTS,
    PETITION_TYPES,
)
from gis.petitions import cases

router = APIRouter(prefix="/petitions", tags=["petitions"])
PERSONAL = scope_decision("personal")
SCOPED = scope_decision("scoped")
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
AreaQuery = Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$")]
Status = Literal[PETITION_STATUSES]  # type: ignore[valid-type]
Subject = Literal[PETITION_SUBJECTS]  # type: ignore[valid-type]


class PetitionIn(BaseModel):
    petition_type: Literal[PETITION_TYPES] = Field(  # type: ignore[valid-type]
        description="request 求助, complaint 投诉, suggestion 建议"
    )
    subject: Subject
    title: str = Field(min_length=1, max_length=cases.TITLE_MAX)
    description: str = Field(min_length=1, max_length=cases.TEXT_MAX)
    household_code: str | None = Field(
        None, pattern=r"^[0-9]{6}H[0-9]{9}$", description="Staff only: the household it is from"
    )
    community_code: str | None = Field(
        None, pattern=r"^[0-9]{12}$", description="Staff only: the community, with no household"
    )
    petitioner_name: str | None = Field(None, min_length=1, max_length=50)
    petitioner_phone: str | None = Field(None, pattern=r"^1[3-9][0-9]{9}$")


class PetitionStepIn(BaseModel):
    action: Literal["assign", "reassign", "answer", "refuse", "convert", "rate"]
    note: str | None = Field(None, max_length=cases.TEXT_MAX, description="Internal, staff only")
    public_note: str | None = Field(
        None, max_length=cases.TEXT_MAX, description="What the resident sees"
    )
    assigned_to: str | None = Field(None, min_length=1, max_length=cases.ASSIGNEE_MAX)
    level: Literal[ESCALATION_LEVELS] | None = None  # type: ignore[valid-type]
    answer: str | None = Field(None, min_length=1, max_length=cases.TEXT_MAX)
    rating: int | None = Field(None, ge=1, le=5)
    comment: str | None = Field(None, max_length=500)
    category: str | None = Field(None, min_length=1, max_length=50)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


@router.post("", status_code=201, openapi_extra=PERSONAL)
def submit(session: SessionDep, viewer: SignedInViewerDep, body: PetitionIn) -> dict[str, Any]:
    """A resident submits a 诉求 for his household (staff may enter one received in person)."""
    return cases.submit(session, viewer, cases.PetitionInput(**body.model_dump()))


@router.get("", openapi_extra=PERSONAL)
def list_petitions(
    session: SessionDep,
    viewer: SignedInViewerDep,
    status: Status | None = None,
    subject: Subject | None = None,
    within: AreaQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """A resident's household's petitions, or those of a staff member's area (masked)."""
    return cases.list_petitions(
        session, viewer, status=status, subject=subject, within=within, limit=limit, offset=offset
    )


@router.get("/statistics", openapi_extra=SCOPED)
def statistics(
    session: SessionDep,
    viewer: SignedInViewerDep,
    by: Literal["subject", "community", "street"] = "subject",
    start: Annotated[AwareDatetime | None, Query()] = None,
    end: Annotated[AwareDatetime | None, Query()] = None,
    within: AreaQuery = None,
) -> list[dict[str, Any]]:
    """Petitions by subject or area: answered, on time, overdue, converted, ratings (满意率)."""
    end = end or datetime.now(UTC) + timedelta(minutes=1)
    start = start or end - timedelta(days=365)
    return cases.statistics(session, viewer, by=by, start=start, end=end, within=within)


@router.get("/{petition_id}", openapi_extra=PERSONAL)
def get_petition(
    session: SessionDep, viewer: SignedInViewerDep, petition_id: IdPath
) -> dict[str, Any]:
    """One petition with its history; the petitioner unmasked only with a purpose (audited)."""
    return cases.get_petition(session, viewer, petition_id)


@router.post("/{petition_id}/transitions", openapi_extra=PERSONAL)
def step(
    session: SessionDep, viewer: SignedInViewerDep, petition_id: IdPath, body: PetitionStepIn
) -> dict[str, Any]:
    """Assign (受理交办), re-assign, answer (答复), refuse, convert to an incident, or — the
    resident who submitted it — rate the answer (评价)."""
    return cases.step(session, viewer, petition_id, cases.PetitionStep(**body.model_dump()))
