"""``/api/v1/notifications``: the signed-in account's notification centre, live.

Only ever the caller's own notifications (gis/notifications/inbox.py). The list answers the
unread count and ``stream_after``, the stream position to follow it live from
(``/notifications/stream?last_event_id=...``): nothing committed between the two is missed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api import streams
from api.deps import SessionDep
from api.security import SignedInViewerDep, scope_decision
from gis.incidents.events import format_position, last_position
from gis.notifications import inbox
from gis.notifications.feed import get_feed
from gis.scope import Viewer
from gis.settings import get_settings

router = APIRouter(tags=["notifications"])

DEFAULT_STREAM_SECONDS = 300.0
MAX_STREAM_SECONDS = 3600.0
HEARTBEAT_SECONDS = 15.0
SIGNED_IN: dict[int | str, dict[str, Any]] = {401: {"description": "Not signed in"}}


class NotificationItem(BaseModel):
    id: int
    incident_id: int
    trigger: str
    title: str
    lines: list[str]
    data: dict[str, Any]
    created_at: str | None
    read: bool
    read_at: str | None


class NotificationPage(BaseModel):
    items: list[NotificationItem]
    unread: int
    next_before: int | None
    stream_after: str


class ReadResult(BaseModel):
    id: int
    read_at: str | None
    unread: int


class AllRead(BaseModel):
    marked: int
    unread: int


def _account(viewer: Viewer) -> int:
    # A signed-in viewer always has an account id (api/security.py); tokens of tests too.
    assert viewer.user_id is not None
    return viewer.user_id


@router.get(
    "/notifications",
    response_model=NotificationPage,
    responses=SIGNED_IN,
    openapi_extra=scope_decision("scoped"),
)
def list_notifications(
    session: SessionDep,
    viewer: SignedInViewerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    unread: bool = False,
) -> dict[str, Any]:
    """Your notifications, newest first (``before`` = the ``next_before`` of the last page), with
    the unread count and the stream position to follow them live from."""
    # The position first: any notification committed later comes by the stream (ids dedupe).
    after = last_position(session)
    page = inbox.list_mine(
        session,
        _account(viewer),
        lang=get_settings().language,
        limit=limit,
        before=before,
        unread_only=unread,
    )
    return {
        "items": page.items,
        "unread": page.unread,
        "next_before": page.next_before,
        "stream_after": format_position(after),
    }


@router.post(
    "/notifications/read-all",
    response_model=AllRead,
    responses=SIGNED_IN,
    openapi_extra=scope_decision("scoped"),
)
def mark_all_read(session: SessionDep, viewer: SignedInViewerDep) -> dict[str, int]:
    """Mark all your notifications read."""
    return {"marked": inbox.mark_all_read(session, _account(viewer)), "unread": 0}


@router.post(
    "/notifications/{notification_id}/read",
    response_model=ReadResult,
    responses={**SIGNED_IN, 404: {"description": "You have no such notification"}},
    openapi_extra=scope_decision("scoped"),
)
def mark_read(
    session: SessionDep,
    viewer: SignedInViewerDep,
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> dict[str, Any]:
    """Mark one of your notifications read (marking it again changes nothing)."""
    account = _account(viewer)
    done = inbox.mark_read(session, account, notification_id)
    return {**done, "unread": inbox.unread_count(session, account)}


@router.get(
    "/notifications/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **SIGNED_IN},
    openapi_extra=scope_decision("scoped"),
)
async def notification_stream(
    request: Request,
    session: SessionDep,
    viewer: SignedInViewerDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[str | None, Query(max_length=40)] = None,
    timeout: Annotated[float, Query(gt=0, le=MAX_STREAM_SECONDS)] = DEFAULT_STREAM_SECONDS,
    max_events: Annotated[int | None, Query(ge=1)] = None,
    heartbeat: Annotated[float, Query(ge=0.5, le=60)] = HEARTBEAT_SECONDS,
) -> StreamingResponse:
    """Server-Sent Events (``event: notification``) of your new notifications, resumable like
    the incident stream; it counts towards the same per-client stream limit."""
    account = _account(viewer)
    lang = get_settings().language
    slot, hub, start = await streams.start_stream(
        request, viewer, session, last_event_id_header, last_event_id
    )
    feed = get_feed()
    positions: dict[int, str] = {}

    async def mine(batch: list[dict[str, Any]]) -> list[str]:
        positions.clear()
        positions.update((e["event_id"], e["position"]) for e in batch)
        rows = await feed.mine(account, list(positions))
        return [
            streams.sse_message(positions[r.event_id], "notification", inbox.entry(r, lang))
            for r in rows
        ]

    body = streams.sse_stream(
        request,
        hub,
        slot,
        start,
        render=mine,
        timeout=timeout,
        heartbeat=heartbeat,
        max_events=max_events,
        keep_position=True,
    )
    return streams.event_stream_response(body)
