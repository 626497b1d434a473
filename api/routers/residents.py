"""Serving residents: notices (居民通知), services (事项办理), volunteers and points (爱心储蓄),
care visits (重点人群走访) — and the resident's own side through his signed link.

Staff routes take the signed-in viewer and are limited to its area (gis/residents/access.py
says who does what); residents' names are masked unless the request states a purpose, and then
audited. ``/resident-link/{credential}/…`` is the resident himself, identified by the link staff
issued to him (``POST /residents/{resident_id}/link``). The public reads are a community's
notice board, the services catalogue, activities and rewards, and the volunteer ranking (names
masked). The rules and vocabularies are gis/residents/ (``GET /residents/vocabulary``).
"""

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, ViewerDep, scope_decision
from gis.orglife.meetings import local_today
from gis.residents import (
    access,
    care,
    links,
    notices,
    portal,
    services,
    vocabulary,
    volunteers,
)
from gis.residents.access import ResidentActor
from gis.settings import get_settings

router = APIRouter(tags=["residents"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role may not do this, or the area is out of scope"},
}
LINK_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The link has expired"},
    404: {"description": "The link is not valid (or the object is not yours)"},
}
AREA_CODE = r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$"
NOTICE_AREA = r"^[0-9]{12}([0-9]{3})?$"
COMMUNITY = r"^[0-9]{12}$"
Id = Annotated[int, Path(ge=1, le=2**62)]
WithinQuery = Annotated[
    str | None,
    Query(pattern=AREA_CODE, description="An area code; default: your scope"),
]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Credential = Annotated[
    str, Path(max_length=80, description="the resident's link token (from /r/<token>)")
]
Category = Literal["general", "activity", "safety", "policy", "service"]
Group = Literal[
    "elderly_alone", "empty_nest", "hardship", "disabled", "left_behind_child", "veteran"
]
AppStatus = Literal["submitted", "accepted", "completed", "rejected"]
ActivityStatus = Literal["open", "completed", "cancelled"]
CareState = Literal["overdue", "due_soon", "ok"]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _lang() -> str:
    return get_settings().language


class NoticeCreate(BaseModel):
    title: str = Field(min_length=1, max_length=notices.TITLE_MAX)
    body: str = Field(min_length=1, max_length=notices.BODY_MAX)
    category: Category = "general"
    area_code: str = Field(pattern=NOTICE_AREA, description="A street, community or grid")
    special_group: Group | None = Field(
        default=None, description="Only households with a resident of this group"
    )
    expires_on: datetime.date | None = None


class ApplicationStep(BaseModel):
    action: Literal["accept", "complete", "reject"]
    note: str = Field(default="", max_length=services.NOTE_MAX)


class ApplicationCreate(BaseModel):
    service_code: str = Field(pattern=r"^[a-z][a-z_]{1,39}$")
    note: str = Field(default="", max_length=services.NOTE_MAX)


class TeamCreate(BaseModel):
    community_code: str = Field(pattern=COMMUNITY)
    name: str = Field(min_length=1, max_length=volunteers.NAME_MAX)
    description: str = Field(default="", max_length=1000)


class ActivityCreate(BaseModel):
    team_id: int = Field(ge=1, le=2**62)
    title: str = Field(min_length=1, max_length=volunteers.TITLE_MAX)
    place: str = Field(min_length=1, max_length=volunteers.PLACE_MAX)
    description: str = Field(default="", max_length=volunteers.DESCRIPTION_MAX)
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    capacity: int = Field(ge=1, le=1000)
    hours: Decimal = Field(ge=Decimal("0.5"), le=24, decimal_places=1)
    points: int | None = Field(
        default=None, ge=0, le=1000, description="default: hours × points per hour"
    )


class RewardCreate(BaseModel):
    community_code: str = Field(pattern=COMMUNITY)
    name: str = Field(min_length=1, max_length=volunteers.NAME_MAX)
    description: str = Field(default="", max_length=500)
    points: int = Field(ge=1, le=100_000)
    stock: int | None = Field(default=None, ge=0, le=1_000_000)


class CheckIn(BaseModel):
    code: str = Field(pattern=r"^\s*[0-9]{6}\s*$", description="the organiser's 6-digit code")


class Redemption(BaseModel):
    reward_id: int = Field(ge=1, le=2**62)


# --- vocabulary and public reads ------------------------------------------------------------


@router.get("/residents/vocabulary", openapi_extra=scope_decision("public"))
def get_vocabulary() -> dict[str, Any]:
    """Notice categories, application statuses, activity statuses, ledger kinds, special
    groups and their visit intervals, points per hour (Chinese labels)."""
    return vocabulary.for_pages(_lang())


@router.get(
    "/communities/{code}/notices",
    responses={404: {"description": "No such community"}},
    openapi_extra=scope_decision("public"),
)
def notice_board(
    session: SessionDep, code: Annotated[str, Path(pattern=COMMUNITY)]
) -> dict[str, Any]:
    """The community's public notice board: live notices to it, its street and its grids."""
    return notices.board(session, code, today=local_today(), lang=_lang())


@router.get(
    "/communities/{code}/volunteer-ranking",
    responses={404: {"description": "No such community"}},
    openapi_extra=scope_decision("public"),
)
def volunteer_ranking(
    session: SessionDep,
    viewer: ViewerDep,
    code: Annotated[str, Path(pattern=COMMUNITY)],
    limit: Annotated[int, Query(ge=1, le=volunteers.RANKING_MAX)] = 20,
) -> dict[str, Any]:
    """Volunteers of the community by points earned there; names masked (exact only for staff
    of the area who state a purpose, audited)."""
    return volunteers.ranking(session, viewer, code, limit=limit)


@router.get("/resident-services", openapi_extra=scope_decision("public"))
def service_catalogue(session: SessionDep) -> dict[str, Any]:
    """The services residents apply for at their community, with materials and working days."""
    return {"items": services.catalogue(session)}


@router.get("/volunteer/teams", openapi_extra=scope_decision("public"))
def list_teams(session: SessionDep, within: WithinQuery = None) -> dict[str, Any]:
    """Volunteer teams (default: the whole city), with activity and volunteer counts."""
    return {"items": volunteers.teams(session, within or "")}


@router.get("/volunteer/activities", openapi_extra=scope_decision("public"))
def list_activities(
    session: SessionDep,
    viewer: ViewerDep,
    within: WithinQuery = None,
    status: ActivityStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Activities, newest first (signed in: your area; organisers see the check-in code)."""
    return volunteers.list_activities(
        session, viewer, within=within, status=status, limit=limit, offset=offset
    )


@router.get("/points/rewards", openapi_extra=scope_decision("public"))
def list_rewards(
    session: SessionDep, community: Annotated[str, Query(pattern=COMMUNITY)]
) -> dict[str, Any]:
    """What points buy at a community."""
    return {"community": community, "items": volunteers.rewards(session, community)}


# --- staff: notices ---------------------------------------------------------------------------


@router.get("/notices", responses=ERRORS, openapi_extra=scope_decision("scoped"))
def list_notices(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: WithinQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Notices to your area (and to the areas above it), with households reached and read."""
    return notices.list_notices(session, viewer, within=within, limit=limit, offset=offset)


@router.post("/notices", status_code=201, responses=ERRORS, openapi_extra=scope_decision("scoped"))
def publish_notice(
    viewer: SignedInViewerDep, session: SessionDep, body: NoticeCreate
) -> JSONResponse:
    """Publish a notice to a street, community or grid of your scope, or to one special group
    within it."""
    data = notices.NoticeInput(
        title=body.title,
        body=body.body,
        category=body.category,
        area_code=body.area_code,
        special_group=body.special_group,
        expires_on=body.expires_on,
    )
    found = notices.publish(session, viewer, data, today=local_today())
    return JSONResponse(
        found, status_code=201, headers={"Location": f"/api/v1/notices/{found['id']}"}
    )


@router.get(
    "/notices/{notice_id}",
    responses={**ERRORS, 404: {"description": "No such notice in your scope"}},
    openapi_extra=scope_decision("personal"),
)
def get_notice(viewer: SignedInViewerDep, session: SessionDep, notice_id: Id) -> dict[str, Any]:
    """One notice and who in your area confirmed reading it (names by the disclosure rule)."""
    return notices.notice(session, viewer, notice_id)


@router.post(
    "/notices/{notice_id}/withdraw",
    responses={**ERRORS, 404: {"description": "No such notice in your scope"}},
    openapi_extra=scope_decision("scoped"),
)
def withdraw_notice(
    viewer: SignedInViewerDep, session: SessionDep, notice_id: Id
) -> dict[str, Any]:
    """Take a notice off the board and the residents' lists (it stays on record)."""
    return notices.withdraw(session, viewer, notice_id)


# --- staff: applications, links ---------------------------------------------------------------


@router.get("/service-applications", responses=ERRORS, openapi_extra=scope_decision("personal"))
def list_applications(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: WithinQuery = None,
    status: AppStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Applications of your area: open first, earliest due first; applicants by the rule."""
    return services.list_applications(
        session, viewer, within=within, status=status, limit=limit, offset=offset
    )


@router.get(
    "/service-applications/{application_id}",
    responses={**ERRORS, 404: {"description": "No such application in your scope"}},
    openapi_extra=scope_decision("personal"),
)
def get_application(
    viewer: SignedInViewerDep, session: SessionDep, application_id: Id
) -> dict[str, Any]:
    """One application, its steps and the applicant (by the disclosure rule)."""
    return services.application(session, viewer, application_id)


@router.post(
    "/service-applications/{application_id}/transitions",
    responses={
        **ERRORS,
        404: {"description": "No such application in your scope"},
        409: {"description": "The step does not apply to the application's status"},
    },
    openapi_extra=scope_decision("scoped"),
)
def step_application(
    viewer: SignedInViewerDep, session: SessionDep, application_id: Id, body: ApplicationStep
) -> dict[str, Any]:
    """Accept (受理), complete (办结) or reject (with the reason in ``note``) an application."""
    return services.transition(session, viewer, application_id, body.action, body.note)


@router.post(
    "/residents/{resident_id}/link",
    status_code=201,
    responses={**ERRORS, 404: {"description": "No such resident"}},
    openapi_extra=scope_decision("scoped"),
)
def issue_link(viewer: SignedInViewerDep, session: SessionDep, resident_id: Id) -> JSONResponse:
    """A signed link for a resident of your area (send it by SMS or show it as a QR code):
    its holder acts as the resident on /r/<token>. Audited."""
    return JSONResponse(links.issue(session, viewer, resident_id), status_code=201)


# --- staff: volunteers ------------------------------------------------------------------------


@router.post(
    "/volunteer/teams", status_code=201, responses=ERRORS, openapi_extra=scope_decision("scoped")
)
def create_team(viewer: SignedInViewerDep, session: SessionDep, body: TeamCreate) -> JSONResponse:
    """A volunteer team of a community in your scope."""
    found = volunteers.create_team(
        session, viewer, body.community_code, body.name, body.description
    )
    return JSONResponse(found, status_code=201)


@router.post(
    "/volunteer/activities",
    status_code=201,
    responses=ERRORS,
    openapi_extra=scope_decision("scoped"),
)
def create_activity(
    viewer: SignedInViewerDep, session: SessionDep, body: ActivityCreate
) -> JSONResponse:
    """An activity of a team: residents sign up, check in with the code, earn when completed."""
    data = volunteers.ActivityInput(
        team_id=body.team_id,
        title=body.title,
        place=body.place,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        capacity=body.capacity,
        hours=body.hours,
        points=body.points,
        description=body.description,
    )
    found = volunteers.create_activity(session, viewer, data)
    return JSONResponse(
        found, status_code=201, headers={"Location": f"/api/v1/volunteer/activities/{found['id']}"}
    )


@router.get(
    "/volunteer/activities/{activity_id}",
    responses={**ERRORS, 404: {"description": "No such activity in your scope"}},
    openapi_extra=scope_decision("personal"),
)
def get_activity(viewer: SignedInViewerDep, session: SessionDep, activity_id: Id) -> dict[str, Any]:
    """One activity with its volunteers (names by the disclosure rule)."""
    return volunteers.activity(session, viewer, activity_id)


@router.post(
    "/volunteer/activities/{activity_id}/complete",
    responses={
        **ERRORS,
        404: {"description": "No such activity"},
        409: {"description": "Not open"},
    },
    openapi_extra=scope_decision("scoped"),
)
def complete_activity(
    viewer: SignedInViewerDep, session: SessionDep, activity_id: Id
) -> dict[str, Any]:
    """Complete an activity: every volunteer who checked in earns its hours and points."""
    return volunteers.complete(session, viewer, activity_id)


@router.post(
    "/points/rewards", status_code=201, responses=ERRORS, openapi_extra=scope_decision("scoped")
)
def create_reward(
    viewer: SignedInViewerDep, session: SessionDep, body: RewardCreate
) -> JSONResponse:
    """List goods or a service residents may redeem points for at a community of your scope."""
    found = volunteers.create_reward(
        session, viewer, body.community_code, body.name, body.points, body.stock, body.description
    )
    return JSONResponse(found, status_code=201)


# --- staff: care ------------------------------------------------------------------------------


@router.get("/care/visits", responses=ERRORS, openapi_extra=scope_decision("scoped"))
def care_visits(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: WithinQuery = None,
    state: CareState | None = None,
    limit: Annotated[int, Query(ge=1, le=care.MAX_LIMIT)] = 200,
) -> dict[str, Any]:
    """Households of the special groups in your area: the visit plan, who is overdue (visits
    from field work count), per-grid counts."""
    return care.visits_due(session, viewer, within=within, only=state, limit=limit)


# --- the resident himself: by his signed link, or by his own resident account ----------------


def _link_actor(session: SessionDep, credential: Credential) -> ResidentActor:
    return links.resolve(session, credential)


def _account_actor(session: SessionDep, viewer: SignedInViewerDep) -> ResidentActor:
    return access.actor_for_account(session, viewer)


SELF_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not a resident's account tied to a person"},
    404: {"description": "The object is not yours"},
}


def _resident_routes(
    prefix: str,
    actor_of: Callable[..., ResidentActor],
    errors: dict[int | str, dict[str, Any]],
    decision: Literal["public", "personal"],
) -> APIRouter:
    """The resident's own routes under ``prefix``, the same for a link and for an account: one
    set of handlers, the actor from ``actor_of`` (a link is public by its secret; an account is
    the signed-in resident). The module has no ``from __future__ import annotations``: FastAPI
    must see the local ``Actor`` dependency itself, not its name."""
    routes = APIRouter(prefix=prefix)
    Actor = Annotated[ResidentActor, Depends(actor_of)]
    extra = scope_decision(decision)

    @routes.get("", responses=errors, openapi_extra=extra)
    def resident_page_data(session: SessionDep, actor: Actor) -> dict[str, Any]:
        """The resident's notices, applications, activities, points and rewards."""
        return portal.summary(session, actor, _lang())

    @routes.post("/notices/{notice_id}/read", responses=errors, openapi_extra=extra)
    def confirm_notice(session: SessionDep, actor: Actor, notice_id: Id) -> dict[str, Any]:
        """Confirm reading a notice addressed to you (已读回执; once)."""
        return notices.confirm_read(session, actor, notice_id, today=local_today())

    @routes.post(
        "/applications",
        status_code=201,
        responses={**errors, 409: {"description": "An open application for it exists"}},
        openapi_extra=extra,
    )
    def apply_for_service(
        session: SessionDep, actor: Actor, body: ApplicationCreate
    ) -> JSONResponse:
        """Apply for a service at your community; it is due in the service's working days."""
        return JSONResponse(
            services.apply(session, actor, body.service_code, body.note), status_code=201
        )

    @routes.post(
        "/activities/{activity_id}/signup",
        responses={**errors, 409: {"description": "Full or no longer open"}},
        openapi_extra=extra,
    )
    def sign_up(session: SessionDep, actor: Actor, activity_id: Id) -> dict[str, Any]:
        """Sign up for a volunteer activity of your community."""
        return volunteers.sign_up(session, actor, activity_id, now=_now())

    @routes.post(
        "/activities/{activity_id}/checkin",
        responses={**errors, 409: {"description": "Not signed up, or outside the activity"}},
        openapi_extra=extra,
    )
    def check_in(
        session: SessionDep, actor: Actor, activity_id: Id, body: CheckIn
    ) -> dict[str, Any]:
        """Check in on site with the organiser's code."""
        return volunteers.check_in(session, actor, activity_id, body.code, now=_now())

    @routes.post(
        "/redemptions",
        status_code=201,
        responses={**errors, 409: {"description": "Not enough points, or out of stock"}},
        openapi_extra=extra,
    )
    def redeem(session: SessionDep, actor: Actor, body: Redemption) -> JSONResponse:
        """Redeem points for a reward of your community (a negative ledger entry)."""
        return JSONResponse(volunteers.redeem(session, actor, body.reward_id), status_code=201)

    return routes


LINK_PREFIX = "/resident-link/{credential}"
SELF_PREFIX = "/resident-self"
router.include_router(_resident_routes(LINK_PREFIX, _link_actor, LINK_ERRORS, "public"))
router.include_router(_resident_routes(SELF_PREFIX, _account_actor, SELF_ERRORS, "personal"))
