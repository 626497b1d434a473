"""``/api/v1/org-life``: organisational life (组织生活) — 三会一课 and 主题党日 of party branches.

Reading is for the roles that do party work, limited to the branches of their area; recording
only for the branch's own secretary (gis/orglife/meetings.py says why). Members' names are
masked unless the request states a purpose (``purpose`` or ``X-Purpose``), and then audited.
The frequency rules and labels are gis/orglife/rules.py (``GET /org-life/rules``).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, scope_decision
from gis.orglife import meetings, rules
from gis.orglife.completeness import completeness

router = APIRouter(tags=["organisational life"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {
        "description": "The role has no access to organisational life, or the area is out of scope"
    },
}
AREA_CODE = r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$"
ORG_CODE = r"^DZ[0-9A-Za-z]{6,30}$"
Kind = Literal[
    "general_meeting", "committee_meeting", "group_meeting", "party_lecture", "theme_day"
]
Status = Literal["present", "absent", "leave"]
WithinQuery = Annotated[
    str | None,
    Query(
        pattern=AREA_CODE,
        description="An area code (district, street, community or grid); default: your scope",
    ),
]
QuarterQuery = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{4}Q[1-4]$", description="A quarter such as 2026Q4; default: this one"),
]


class AttendanceMark(BaseModel):
    member_id: int = Field(ge=1, le=2**62)
    status: Status


class MeetingCreate(BaseModel):
    branch_code: str = Field(pattern=ORG_CODE, description="The 党支部 that holds the meeting")
    kind: Kind
    group_code: str | None = Field(
        default=None, pattern=ORG_CODE, description="For a 党小组会: the 党小组 that met"
    )
    held_on: datetime.date
    place: str = Field(min_length=1, max_length=rules.PLACE_MAX)
    topic: str = Field(min_length=1, max_length=rules.TOPIC_MAX)
    minutes: str = Field(default="", max_length=rules.MINUTES_MAX)
    attendance: list[AttendanceMark] = Field(
        min_length=1,
        max_length=meetings.MAX_ATTENDANCE,
        description="Every member of the organisation that met: present, absent or on leave",
    )


@router.get("/org-life/rules", openapi_extra=scope_decision("public"))
def get_rules() -> dict[str, Any]:
    """The meeting kinds, how often each is due, and the attendance marks (Chinese labels)."""
    return rules.for_pages()


@router.get("/org-life/branches", responses=ERRORS, openapi_extra=scope_decision("scoped"))
def list_branches(
    viewer: SignedInViewerDep, session: SessionDep, within: WithinQuery = None
) -> dict[str, Any]:
    """Party branches (党支部) in your scope, their 党小组 and whether you may record for them."""
    area, found = meetings.branches_in(session, viewer, within)
    return {"within": area, "items": [b.public() for b in found]}


@router.get(
    "/org-life/branches/{code}/members",
    responses={**ERRORS, 404: {"description": "No such branch in your scope"}},
    openapi_extra=scope_decision("personal"),
)
def branch_members(
    viewer: SignedInViewerDep,
    session: SessionDep,
    code: Annotated[str, Path(pattern=ORG_CODE)],
) -> dict[str, Any]:
    """The branch's members, to mark attendance: names masked unless a purpose is stated."""
    return meetings.roster(session, viewer, code)


@router.get("/org-life/meetings", responses=ERRORS, openapi_extra=scope_decision("scoped"))
def list_meetings(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: WithinQuery = None,
    branch: Annotated[str | None, Query(pattern=ORG_CODE)] = None,
    quarter: QuarterQuery = None,
    kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=meetings.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Meetings of the branches in your scope, newest first, with attendance counts."""
    return meetings.list_meetings(
        session,
        viewer,
        within=within,
        branch_code=branch,
        quarter=quarter,
        kind=kind,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/org-life/meetings/{meeting_id}",
    responses={**ERRORS, 404: {"description": "No such meeting in your scope"}},
    openapi_extra=scope_decision("personal"),
)
def get_meeting(
    viewer: SignedInViewerDep,
    session: SessionDep,
    meeting_id: Annotated[int, Path(ge=1, le=2**62)],
) -> dict[str, Any]:
    """One meeting: minutes and who was present, absent or on leave (names by the rule)."""
    return meetings.meeting(session, viewer, meeting_id)


@router.post(
    "/org-life/meetings",
    status_code=201,
    responses={
        **ERRORS,
        404: {"description": "No such branch"},
        409: {"description": "The Idempotency-Key was used for a different meeting"},
    },
    openapi_extra=scope_decision("scoped"),
)
def create_meeting(
    viewer: SignedInViewerDep,
    session: SessionDep,
    body: MeetingCreate,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> JSONResponse:
    """Record a meeting the branch held, with attendance. Only the branch's secretary may;
    repeat with the same ``Idempotency-Key`` to get the first meeting instead of a second."""
    data = meetings.MeetingInput(
        branch_code=body.branch_code,
        kind=body.kind,
        held_on=body.held_on,
        place=body.place,
        topic=body.topic,
        minutes=body.minutes,
        group_code=body.group_code,
        attendance=[(a.member_id, a.status) for a in body.attendance],
    )
    result = meetings.record_meeting(session, viewer, data, idempotency_key=idempotency_key)
    headers = {"Location": f"/api/v1/org-life/meetings/{result.meeting['id']}"}
    if not result.created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.meeting, status_code=201, headers=headers)


@router.get("/org-life/completeness", responses=ERRORS, openapi_extra=scope_decision("scoped"))
def get_completeness(
    viewer: SignedInViewerDep,
    session: SessionDep,
    quarter: QuarterQuery = None,
    within: WithinQuery = None,
) -> dict[str, Any]:
    """Per branch and per area of your scope: the due periods of each kind met, missed, open."""
    return completeness(
        session, viewer, quarter=quarter, within=within, today=meetings.local_today()
    )
