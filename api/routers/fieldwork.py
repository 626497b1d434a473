"""``/api/v1/field``: patrols (巡查) with tracks and findings, household visits (入户走访), KPIs
and visit coverage (docs/field-work.md).

A grid worker records and sees his own; chiefs, communities and streets see their subtree's.
Visit notes are personal data: masked unless the request states a purpose and the role may see
them in that grid, and then the read is audited in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, scope_decision
from gis.fieldwork import patrols, visits
from gis.fieldwork.patrols import MAX_POINTS_PER_BATCH, TrackPoint

router = APIRouter(prefix="/field", tags=["field work"])
SCOPED = scope_decision("scoped")
PERSONAL = scope_decision("personal")

IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
AreaQuery = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{6,15}$", description="An area code of your scope (default: all of it)"),
]
SinceQuery = Annotated[AwareDatetime | None, Query(description="Start (default: 30 days ago)")]
UntilQuery = Annotated[AwareDatetime | None, Query(description="End, exclusive (default: now)")]
Lon = Annotated[float, Field(ge=-180, le=180)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="The phone's own id of this request: a repeat returns the first result",
    ),
]
Lat = Annotated[float, Field(ge=-90, le=90)]


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or datetime.now(UTC) + timedelta(minutes=1)
    return since or until - timedelta(days=30), until


class PatrolStart(BaseModel):
    grid_code: str | None = Field(None, pattern=r"^[0-9]{15}$")
    lon: Lon | None = None
    lat: Lat | None = None
    started_at: AwareDatetime | None = Field(
        None, description="When the phone started it (a start queued offline); default now"
    )


class PatrolEnd(BaseModel):
    ended_at: AwareDatetime | None = Field(
        None, description="When the phone ended it (an end queued offline); default now"
    )


class PointIn(BaseModel):
    id: str = Field(min_length=1, max_length=100, description="The phone's own id of the point")
    lon: Lon
    lat: Lat
    at: AwareDatetime
    accuracy_m: float | None = Field(None, ge=0, le=100000)


class PointBatch(BaseModel):
    points: list[PointIn] = Field(min_length=1, max_length=MAX_POINTS_PER_BATCH)


class FindingIn(BaseModel):
    description: str = Field(min_length=1, max_length=4000)
    lon: Lon
    lat: Lat
    media: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=9
    )
    at: AwareDatetime | None = Field(
        None, description="When the phone recorded it (a finding queued offline); default now"
    )


class FindingToCase(BaseModel):
    category: str = Field(min_length=1, max_length=50)


class VisitIn(BaseModel):
    building_id: int = Field(ge=1, le=2**63 - 1)
    household_id: int | None = Field(None, ge=1, le=2**63 - 1)
    household_code: str | None = Field(
        None, min_length=1, max_length=40, description="The household by its code (instead of id)"
    )
    purpose: str = Field(min_length=1, max_length=50)
    notes: str = Field("", max_length=4000)
    people_met: str = Field("", max_length=500)
    lon: Lon | None = None
    lat: Lat | None = None
    accuracy_m: float | None = Field(None, ge=0, le=100000)
    client_id: str | None = Field(None, min_length=1, max_length=200)
    visited_at: AwareDatetime | None = None


@router.post("/patrols", status_code=201, openapi_extra=SCOPED)
def start_patrol(
    session: SessionDep,
    viewer: SignedInViewerDep,
    body: PatrolStart,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Start a patrol in a grid of your scope (named, under your position, or your own grid).
    With an ``Idempotency-Key`` (the phone's own id of the patrol, started offline) a repeat
    returns the first patrol (200)."""
    result, created = patrols.start_patrol(
        session,
        viewer,
        grid_code=body.grid_code,
        lon=body.lon,
        lat=body.lat,
        started_at=body.started_at,
        client_id=idempotency_key,
    )
    return JSONResponse(result, status_code=201 if created else 200)


@router.post("/patrols/{patrol_id}/points", openapi_extra=SCOPED)
def add_points(
    session: SessionDep, viewer: SignedInViewerDep, patrol_id: IdPath, body: PointBatch
) -> dict[str, Any]:
    """Append track points of your open patrol; points already stored (same ``id``) are skipped,
    so a batch may be re-sent safely. ``accepted`` counts the new ones."""
    points = [TrackPoint(p.id, p.lon, p.lat, p.at, p.accuracy_m) for p in body.points]
    return patrols.add_points(session, viewer, patrol_id, points)


@router.post("/patrols/{patrol_id}/findings", status_code=201, openapi_extra=SCOPED)
def add_finding(
    session: SessionDep,
    viewer: SignedInViewerDep,
    patrol_id: IdPath,
    body: FindingIn,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a finding on your open patrol: text, position and your uploaded photos' ids.
    With an ``Idempotency-Key`` a re-sent finding returns the first (200), even once the patrol
    has ended (a phone sends what it queued offline later)."""
    result, created = patrols.add_finding(
        session,
        viewer,
        patrol_id,
        description=body.description,
        lon=body.lon,
        lat=body.lat,
        media=body.media,
        client_id=idempotency_key,
        at=body.at,
    )
    return JSONResponse(result, status_code=201 if created else 200)


@router.post("/findings/{finding_id}/case", openapi_extra=SCOPED)
def finding_to_case(
    session: SessionDep,
    viewer: SignedInViewerDep,
    finding_id: IdPath,
    body: FindingToCase,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Turn your finding into a case (转为案件) through the case intake. A second call returns
    the same case (200); the first answers 201."""
    result, created = patrols.finding_to_case(
        session, viewer, finding_id, category=body.category, idempotency_key=idempotency_key
    )
    return JSONResponse(result, status_code=201 if created else 200)


@router.post("/patrols/{patrol_id}/end", openapi_extra=SCOPED)
def end_patrol(
    session: SessionDep,
    viewer: SignedInViewerDep,
    patrol_id: IdPath,
    body: PatrolEnd | None = None,
) -> dict[str, Any]:
    """End your patrol (ending it again changes nothing)."""
    return patrols.end_patrol(
        session, viewer, patrol_id, ended_at=None if body is None else body.ended_at
    )


@router.get("/patrols", openapi_extra=SCOPED)
def list_patrols(
    session: SessionDep,
    viewer: SignedInViewerDep,
    area: AreaQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
    tracks: Annotated[bool, Query(description="Include each track and its findings")] = False,
) -> dict[str, Any]:
    """Patrols started in the period that you may see, newest first (at most 500)."""
    start, end = _period(since, until)
    items = patrols.list_patrols(
        session, viewer, area=area, since=start, until=end, with_tracks=tracks
    )
    return {"since": start.isoformat(), "until": end.isoformat(), "items": items}


@router.get("/patrols/{patrol_id}", openapi_extra=SCOPED)
def get_patrol(session: SessionDep, viewer: SignedInViewerDep, patrol_id: IdPath) -> dict[str, Any]:
    """One patrol with its track (LineString; ``times`` and ``accuracy_m`` per vertex)."""
    return patrols.get_patrol(session, viewer, patrol_id)


@router.post("/visits", status_code=201, openapi_extra=PERSONAL)
def create_visit(
    session: SessionDep,
    viewer: SignedInViewerDep,
    body: VisitIn,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a household visit. With ``client_id`` (or, without one, an ``Idempotency-Key``)
    a re-sent visit returns the first (200)."""
    result, created = visits.create_visit(
        session,
        viewer,
        building_id=body.building_id,
        household_id=body.household_id,
        household_code=body.household_code,
        purpose=body.purpose,
        notes=body.notes,
        people_met=body.people_met,
        lon=body.lon,
        lat=body.lat,
        accuracy_m=body.accuracy_m,
        client_id=body.client_id or idempotency_key,
        visited_at=body.visited_at,
    )
    return JSONResponse(result, status_code=201 if created else 200)


@router.get("/visits", openapi_extra=PERSONAL)
def list_visits(
    session: SessionDep,
    viewer: SignedInViewerDep,
    area: AreaQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> dict[str, Any]:
    """Visits in the period you may see; notes and people met masked unless you state a purpose
    and may see them (then the read is audited)."""
    start, end = _period(since, until)
    items = visits.list_visits(session, viewer, area=area, since=start, until=end)
    return {"since": start.isoformat(), "until": end.isoformat(), "items": items}


@router.get("/coverage", openapi_extra=SCOPED)
def visit_coverage(
    session: SessionDep,
    viewer: SignedInViewerDep,
    area: AreaQuery = None,
    period: Literal["month", "quarter"] = "month",
) -> dict[str, Any]:
    """Buildings of the area as GeoJSON points: visited this month/quarter, earlier, or never."""
    return visits.coverage(session, viewer, area=area, period=period)


@router.get("/kpis", openapi_extra=SCOPED)
def worker_kpis(
    session: SessionDep,
    viewer: SignedInViewerDep,
    area: AreaQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> dict[str, Any]:
    """Per worker: patrols, patrol hours, distance (m), visits, findings and findings → cases."""
    start, end = _period(since, until)
    items = patrols.worker_kpis(session, viewer, area=area, since=start, until=end)
    return {"since": start.isoformat(), "until": end.isoformat(), "workers": items}
