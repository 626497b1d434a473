"""``/api/v1/party``: the member register (党员名册), 组织关系转接, 流动党员, care, 学习教育, and
the organisation chain from the street down to the 党员中心户.

Who reads and who changes what is gis/party/members.py; the vocabulary gis/party/vocabulary.py
(``GET /party/vocabulary``). Personal fields follow the disclosure rule: masked unless the request
states a purpose (``purpose`` or ``X-Purpose``), and every exact answer is audited in the
request's transaction, which commits before the response leaves.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, scope_decision
from gis.party import chain, learning, members
from gis.party import vocabulary as v

router = APIRouter(tags=["party members"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role has no access to the member register, or may not change it"},
    404: {"description": "No such member in your scope"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"description": "The member's state does not allow it (say, already away)"},
}
AREA_CODE = r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$"
ORG_CODE = r"^DZ[0-9A-Za-z]{6,30}$"
MemberId = Annotated[int, Path(ge=1, le=2**62, description="The member's id")]
Reason = Literal["moved", "work", "study", "retired", "other"]


def _member_created(body: dict[str, Any], member_id: int) -> JSONResponse:
    return JSONResponse(
        body,
        status_code=201,
        headers={"Location": f"/api/v1/party/members/{member_id}"},
    )


@router.get("/party/vocabulary", openapi_extra=scope_decision("public"))
def vocabulary() -> dict[str, Any]:
    """Labels of levels, statuses, care flags and kinds, transfer reasons, course categories."""
    return v.for_pages()


@router.get("/party/chain", responses=ERRORS, openapi_extra=scope_decision("public"))
def get_chain(
    session: SessionDep,
    within: Annotated[str, Query(pattern=AREA_CODE, description="A street, community or grid")],
) -> dict[str, Any]:
    """The chain as a tree: street committee → community → grid branch → 党小组 → 党员中心户."""
    return chain.chain(session, within)


@router.get("/party/members", responses=ERRORS, openapi_extra=scope_decision("personal"))
def list_members(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: Annotated[str | None, Query(pattern=AREA_CODE)] = None,
    branch: Annotated[str | None, Query(pattern=ORG_CODE, description="A 党支部's code")] = None,
    status: Literal["正式党员", "预备党员"] | None = None,
    flag: Literal["hardship", "veteran"] | None = None,
    away: Annotated[bool | None, Query(description="true: 流动党员 away now")] = None,
    relation: Literal["here", "out"] | None = None,
    limit: Annotated[int, Query(ge=1, le=members.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Members who live in your area or whose 支部 lies in it (names by the rule, audited)."""
    return members.list_members(
        session,
        viewer,
        members.ListFilter(within, branch, status, flag, away, relation, limit, offset),
    )


@router.get("/party/members/me", responses=ERRORS, openapi_extra=scope_decision("personal"))
def my_record(viewer: SignedInViewerDep, session: SessionDep) -> dict[str, Any]:
    """A party member's own record, for the account linked to it."""
    return members.own_profile(session, viewer)


@router.get(
    "/party/members/{member_id}", responses=ERRORS, openapi_extra=scope_decision("personal")
)
def get_member(
    viewer: SignedInViewerDep, session: SessionDep, member_id: MemberId
) -> dict[str, Any]:
    """One member: identity, organisation relations, transfers, away periods, care, learning."""
    return members.profile(session, viewer, member_id)


class TransferBody(BaseModel):
    direction: Literal["within", "out"] = Field(
        description="within: to another 支部 of the register; out: to an organisation outside it"
    )
    to_branch_code: str | None = Field(default=None, pattern=ORG_CODE)
    to_group_code: str | None = Field(default=None, pattern=ORG_CODE)
    to_org_name: str | None = Field(default=None, max_length=v.ORG_NAME_MAX)
    reason: Reason
    letter_no: str | None = Field(default=None, max_length=v.LETTER_NO_MAX)
    transferred_on: datetime.date


@router.post(
    "/party/members/{member_id}/transfers",
    status_code=201,
    responses=WRITE_ERRORS,
    openapi_extra=scope_decision("personal"),
)
def transfer_member(
    viewer: SignedInViewerDep, session: SessionDep, member_id: MemberId, body: TransferBody
) -> JSONResponse:
    """组织关系转接: move the member's relation to another 支部, or out of the register."""
    result = members.transfer(
        session,
        viewer,
        member_id,
        members.TransferInput(
            direction=body.direction,
            reason=body.reason,
            transferred_on=body.transferred_on,
            to_branch_code=body.to_branch_code,
            to_group_code=body.to_group_code,
            to_org_name=body.to_org_name,
            letter_no=body.letter_no,
        ),
    )
    return _member_created(result, member_id)


class TransferInBody(BaseModel):
    resident_id: int = Field(ge=1, le=2**62)
    branch_code: str = Field(pattern=ORG_CODE)
    group_code: str | None = Field(default=None, pattern=ORG_CODE)
    from_org_name: str = Field(min_length=1, max_length=v.ORG_NAME_MAX)
    reason: Reason
    letter_no: str | None = Field(default=None, max_length=v.LETTER_NO_MAX)
    transferred_on: datetime.date
    joined_on: datetime.date | None = None
    status: Literal["正式党员", "预备党员"] | None = None


@router.post(
    "/party/transfers-in",
    status_code=201,
    responses=WRITE_ERRORS,
    openapi_extra=scope_decision("personal"),
)
def transfer_in(
    viewer: SignedInViewerDep, session: SessionDep, body: TransferInBody
) -> JSONResponse:
    """转入: a member's relation comes into a 支部 of the register from outside it."""
    result = members.transfer_in(
        session,
        viewer,
        members.TransferIn(
            resident_id=body.resident_id,
            branch_code=body.branch_code,
            group_code=body.group_code,
            from_org_name=body.from_org_name,
            reason=body.reason,
            letter_no=body.letter_no,
            transferred_on=body.transferred_on,
            joined_on=body.joined_on,
            status=body.status,
        ),
    )
    return _member_created(result, int(result["member"]["id"]))


class AwayBody(BaseModel):
    since: datetime.date
    place: str = Field(min_length=1, max_length=v.PLACE_MAX, description="Where he lives now")
    reason: Literal["work", "business", "study", "other"]
    host_org: str | None = Field(
        default=None, max_length=v.ORG_NAME_MAX, description="流入地党组织 that looks after him"
    )
    contact_note: str | None = Field(default=None, max_length=v.CARE_NOTE_MAX)


@router.post(
    "/party/members/{member_id}/away",
    status_code=201,
    responses=WRITE_ERRORS,
    openapi_extra=scope_decision("personal"),
)
def start_away(
    viewer: SignedInViewerDep, session: SessionDep, member_id: MemberId, body: AwayBody
) -> JSONResponse:
    """流动党员: the member lives away from home from ``since``."""
    result = members.start_away(
        session,
        viewer,
        member_id,
        members.AwayInput(body.since, body.place, body.reason, body.host_org, body.contact_note),
    )
    return _member_created(result, member_id)


class ReturnBody(BaseModel):
    until: datetime.date


@router.post(
    "/party/members/{member_id}/away/return",
    responses=WRITE_ERRORS,
    openapi_extra=scope_decision("personal"),
)
def end_away(
    viewer: SignedInViewerDep, session: SessionDep, member_id: MemberId, body: ReturnBody
) -> dict[str, Any]:
    """The member is back home: his open away period ends on ``until``."""
    return members.end_away(session, viewer, member_id, body.until)


class FlagsBody(BaseModel):
    flags: list[Literal["hardship", "veteran"]] = Field(max_length=len(v.CARE_FLAGS))


@router.put(
    "/party/members/{member_id}/care-flags",
    responses=WRITE_ERRORS,
    openapi_extra=scope_decision("personal"),
)
def set_flags(
    viewer: SignedInViewerDep, session: SessionDep, member_id: MemberId, body: FlagsBody
) -> dict[str, Any]:
    """困难党员 / 老党员: whom the branch looks after."""
    return members.set_care_flags(session, viewer, member_id, list(body.flags))


class CareBody(BaseModel):
    kind: Literal["visit", "festival", "hardship_aid", "health", "birthday", "other"]
    cared_on: datetime.date
    note: str = Field(min_length=1, max_length=v.CARE_NOTE_MAX)
    amount_yuan: Decimal | None = Field(
        default=None, gt=0, le=v.CARE_AMOUNT_MAX, max_digits=10, decimal_places=2
    )


@router.post(
    "/party/members/{member_id}/care",
    status_code=201,
    responses=WRITE_ERRORS,
    openapi_extra=scope_decision("personal"),
)
def record_care(
    viewer: SignedInViewerDep, session: SessionDep, member_id: MemberId, body: CareBody
) -> JSONResponse:
    """One act of care for a member (走访慰问, 帮扶救助 …); append-only."""
    result = members.record_care(
        session,
        viewer,
        member_id,
        members.CareInput(body.kind, body.cared_on, body.note, body.amount_yuan),
    )
    return _member_created(result, member_id)


@router.get("/party/courses", openapi_extra=scope_decision("public"))
def list_courses(session: SessionDep) -> dict[str, Any]:
    """学习教育: the course catalogue (titles, categories, hours)."""
    return {"items": learning.courses(session)}


class LearningBody(BaseModel):
    course_code: str = Field(pattern=r"^[A-Z0-9-]{3,40}$")
    finished_on: datetime.date
    hours: Decimal | None = Field(
        default=None, gt=0, le=v.LEARNING_HOURS_MAX, max_digits=4, decimal_places=1
    )


@router.post(
    "/party/members/{member_id}/learning",
    status_code=201,
    responses=WRITE_ERRORS,
    openapi_extra=scope_decision("personal"),
)
def record_learning(
    viewer: SignedInViewerDep, session: SessionDep, member_id: MemberId, body: LearningBody
) -> JSONResponse:
    """The member finished a course (hours default to the course's)."""
    result = learning.record(
        session,
        viewer,
        member_id,
        learning.LearningInput(body.course_code, body.finished_on, body.hours),
    )
    return _member_created(result, member_id)


@router.get("/party/learning/branches", responses=ERRORS, openapi_extra=scope_decision("scoped"))
def learning_totals(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: Annotated[str | None, Query(pattern=AREA_CODE)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """Per 支部 of your area: learning hours in a year and members who reached the hours due."""
    return learning.branch_totals(
        session,
        viewer,
        within=within,
        year=year or members.local_today().year,
    )
