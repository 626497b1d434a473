"""The command centre's incident API: list, read, intake, transitions, aggregates, metrics, SSE.

Writes commit before the response is sent (the request's session dependency, api/deps.py), so a
201 means the case is durably stored (the soak test in bench/ kills the server mid-run and checks
exactly that).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from api import streams
from api.deps import SessionDep
from api.schemas.incidents import IncidentCreate, TransitionCreate
from api.security import ViewerDep
from api.submitters import API_KEY_HEADER, require_submitter, stamp_submitter
from gis import audit
from gis.errors import Forbidden, InvalidInput
from gis.incidents import (
    aggregates,
    escalation_runner,
    intake,
    listing,
    metrics,
    presentation,
    rating,
    transitions,
)
from gis.incidents.timestamps import iso
from gis.queries.spatial_params import parse_bbox, point_to_wgs84
from gis.scope import Viewer

router = APIRouter(tags=["incidents"])

DEFAULT_STREAM_SECONDS = 300.0
MAX_STREAM_SECONDS = 3600.0
HEARTBEAT_SECONDS = 15.0


def _disclose(session: Session, viewer: Viewer, target: str, cases: list[dict[str, Any]]) -> None:
    """The audit half of the disclosure rule for every response carrying cases."""
    audit.disclose(session, viewer, target, subjects=presentation.disclosed_subjects(cases))


def _statuses(value: str | None) -> list[str] | None:
    return [s.strip() for s in value.split(",") if s.strip()] if value else None


def _filters(
    status: str | None,
    kind: str | None,
    category: str | None,
    bbox: str | None,
    within: str | None,
    start: datetime | None,
    end: datetime | None,
    overdue: bool | None = None,
    assignee: int | None = None,
    unassigned: bool | None = None,
) -> listing.IncidentFilter:
    return listing.IncidentFilter(
        status=_statuses(status),
        kind=kind,
        category=category,
        bbox=parse_bbox(bbox) if bbox else None,
        within=within,
        start=_aware(start, "start"),
        end=_aware(end, "end"),
        overdue=overdue,
        assignee_id=assignee,
        unassigned=unassigned,
    )


def _aware(value: datetime | None, parameter: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(
            f"{parameter} needs a time zone, e.g. 2026-11-20T08:00:00+08:00", parameter=parameter
        )
    return value


@router.get("/incidents")
def list_incidents(
    session: SessionDep,
    viewer: ViewerDep,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    kind: str | None = None,
    category: str | None = None,
    bbox: Annotated[str | None, Query(description="west,south,east,north (WGS84)")] = None,
    within: Annotated[str | None, Query(description="area code: cases routed inside it")] = None,
    start: Annotated[datetime | None, Query(description="reported at or after")] = None,
    end: Annotated[datetime | None, Query(description="reported before")] = None,
    overdue: bool | None = None,
    assignee: int | None = None,
    unassigned: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=listing.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Cases, newest first: full within your scope, public fields elsewhere."""
    filters = _filters(
        status, kind, category, bbox, within, start, end, overdue, assignee, unassigned
    )
    page = listing.list_incidents(session, viewer, filters, limit=limit, offset=offset)
    _disclose(session, viewer, f"incidents:{within or viewer.scope_code or ''}", page["items"])
    return page


@router.get("/incidents/aggregates")
def incident_aggregates(
    session: SessionDep,
    viewer: ViewerDep,
    by: Annotated[str, Query(description="grid or hex")] = "grid",
    zoom: Annotated[int | None, Query(ge=0, le=22)] = None,
    bbox: str | None = None,
    bucket: Annotated[str | None, Query(description="hour, day, week or month")] = None,
    status: str | None = None,
    kind: str | None = None,
    category: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Counts per grid or per zoom-sized hexagon (GeoJSON), optionally per time bucket."""
    del viewer  # counts are public
    filters = _filters(status, kind, category, None, None, start, end)
    return aggregates.aggregates(
        session,
        by=by,
        zoom=zoom,
        bbox=parse_bbox(bbox) if bbox else None,
        bucket=bucket,
        filters=filters,
    )


@router.get("/incidents/metrics")
def incident_metrics(
    session: SessionDep,
    viewer: ViewerDep,
    start: datetime,
    end: datetime,
    level: str = "grid",
    within: str | None = None,
    period: str | None = None,
) -> dict[str, Any]:
    """结案率, 按期结案率, 返工率, average handling time, overdue count per area and period."""
    del viewer  # aggregate statistics are public
    rows = metrics.metrics(
        session,
        level=level,
        start=_aware(start, "start") or start,
        end=_aware(end, "end") or end,
        within=within,
        period=period,
    )
    return {"level": level, "start": start.isoformat(), "end": end.isoformat(), "rows": rows}


@router.get(
    "/incidents/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def incident_stream(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[str | None, Query(max_length=40)] = None,
    within: Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$")] = None,
    timeout: Annotated[float, Query(gt=0, le=MAX_STREAM_SECONDS)] = DEFAULT_STREAM_SECONDS,
    max_events: Annotated[int | None, Query(ge=1)] = None,
    heartbeat: Annotated[float, Query(ge=0.5, le=60)] = HEARTBEAT_SECONDS,
) -> StreamingResponse:
    """Server-Sent Events of new and changed cases (public fields), resumable.

    Send ``Last-Event-ID`` (or ``?last_event_id=``) to receive only later events; without it the
    stream starts at the present. The stream ends after ``timeout`` seconds or ``max_events``
    events (EventSource reconnects by itself); a comment line every ``heartbeat`` seconds keeps
    proxies from closing an idle connection.
    """
    # Events carry public fields only; the viewer names the client whose streams are counted.
    slot, hub, start = await streams.start_stream(
        request, viewer, session, last_event_id_header, last_event_id
    )
    body = streams.sse_events(
        request,
        hub,
        slot,
        start,
        within=within,
        timeout=timeout,
        heartbeat=heartbeat,
        max_events=max_events,
    )
    return streams.event_stream_response(body)


@router.get("/incidents/{incident_id}")
def get_incident(session: SessionDep, viewer: ViewerDep, incident_id: int) -> dict[str, Any]:
    """One case with its history: public notes for everyone; actors, internal notes, reporter
    and assignee only within your scope (unmasked with a purpose, audited)."""
    case = presentation.get_incident(session, viewer, incident_id)
    _disclose(session, viewer, f"incident:{case['code']}", [case])
    return case


@router.post("/incidents", status_code=201)
def create_incident(
    session: SessionDep,
    viewer: ViewerDep,
    body: IncidentCreate,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    x_api_key: Annotated[str | None, Header(alias=API_KEY_HEADER)] = None,
    api_key: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Report a case; it is routed to its grid and worker. Sign in, or send an API client's key
    (``X-API-Key`` or ``api_key``), as Open311 requires. Repeat with the same
    ``Idempotency-Key`` to get the first result instead of a second case."""
    key = x_api_key or api_key
    require_submitter(session, viewer, key)
    lon, lat = point_to_wgs84(body.geometry.coordinates[0], body.geometry.coordinates[1], body.crs)
    # Anonymous reports are the public's; only staff may say a grid worker or patrol reported.
    source = "public" if viewer.is_public else body.source
    data = intake.IncidentInput(
        category=body.category,
        kind=body.kind,
        description=body.description,
        lon=lon,
        lat=lat,
        source=source,
        address=body.address,
        reporter_name=body.reporter_name,
        reporter_phone=body.reporter_phone,
        media_url=body.media_url,
        attributes=body.attributes,
        duplicate_of=body.duplicate_of,
        media=body.media,
    )
    result = intake.create_incident(session, viewer, data, idempotency_key=idempotency_key)
    stamp_submitter(session, viewer, key)
    _disclose(session, viewer, f"incident:{result.incident['code']}", [result.incident])
    headers = {"Location": f"/api/v1/incidents/{result.incident['id']}"}
    if not result.created:
        headers["Idempotent-Replayed"] = "true"
    case = result.incident
    # The reporter's own link to follow the case and rate it once it is closed (一事一评).
    link = rating.rating_path(case["id"], datetime.fromisoformat(case["reported_at"]))
    return JSONResponse(
        {"incident": case, "duplicates": result.duplicates, "rating_link": link},
        status_code=201,
        headers=headers,
    )


@router.post("/incidents/{incident_id}/transitions")
def transition_incident(
    session: SessionDep,
    viewer: ViewerDep,
    incident_id: int,
    body: TransitionCreate,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> dict[str, Any]:
    """Take one step of the case loop; 409 lists the steps allowed from the current status.
    With an ``Idempotency-Key`` a repeat of the same step (a phone's outbox replaying it)
    answers the case as it is now instead of 409."""
    result = transitions.transition(
        session,
        viewer,
        incident_id,
        transitions.TransitionInput(**body.model_dump()),
        idempotency_key=idempotency_key,
    )
    _disclose(session, viewer, f"incident:{result['code']}", [result])
    return result


@router.post("/incidents/escalations")
def run_escalation(session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """Escalate overdue cases and announce approaching deadlines now: the sweep the service
    runs by itself every ``GRIDGOV_ESCALATION_INTERVAL_SECONDS`` (for cron users who turn the
    runner off). ``busy`` is true when another sweep was at work: it does the same, so nothing
    was done here."""
    if viewer.role not in ("admin", "command_operator"):
        raise Forbidden("only the command centre or an admin may run escalation")
    result = escalation_runner.sweep(session)
    if result is None:
        return {"escalated": [], "due_soon": [], "busy": True, "at": datetime.now(UTC).isoformat()}
    return {
        "escalated": result.escalated,
        "due_soon": [
            {"incident_id": d["incident_id"], "stage": d["stage"], "due_at": iso(d["due_at"])}
            for d in result.due_soon
        ],
        "busy": False,
        "at": result.at.isoformat(),
    }
