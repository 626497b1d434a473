"""Limits on concurrent event streams, and the stream loop fed by the worker's event hub.

A stream holds a connection open for minutes, so it is the cheapest way to tie a server up. Each
client (its account when signed in, else its address) may hold ``GRIDGOV_STREAMS_PER_CLIENT``
streams at once (429 with Retry-After beyond that) and a worker ``GRIDGOV_STREAMS_PER_WORKER`` in
all (503). Streams read nothing from the database themselves: :mod:`gis.eventhub` reads new events
once per worker and wakes them.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.security import client_address
from gis.db import end_session
from gis.eventhub import EventHub, get_hub
from gis.incidents.events import Position, format_position, parse_position
from gis.scope import Viewer
from gis.settings import get_settings

RETRY_AFTER_SECONDS = 10


class StreamSlot:
    """One open stream of one client; released exactly once, however the stream ends."""

    def __init__(self, registry: StreamRegistry, key: str) -> None:
        self.registry = registry
        self.key = key
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.registry.release(self.key)


class StreamRegistry:
    """Open streams of this worker process, per client."""

    def __init__(self) -> None:
        self.by_client: dict[str, int] = {}
        self.total = 0
        self._lock = threading.Lock()

    def acquire(self, key: str) -> StreamSlot:
        settings = get_settings()
        with self._lock:
            if self.by_client.get(key, 0) >= settings.streams_per_client:
                raise HTTPException(
                    status_code=429,
                    detail=f"this client already has {settings.streams_per_client} event "
                    "streams open; close one (each browser tab needs one) or retry later",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            if self.total >= settings.streams_per_worker:
                raise HTTPException(
                    status_code=503,
                    detail="the server has as many event streams open as it serves; retry later",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            self.by_client[key] = self.by_client.get(key, 0) + 1
            self.total += 1
        return StreamSlot(self, key)

    def release(self, key: str) -> None:
        with self._lock:
            left = self.by_client.get(key, 0) - 1
            if left > 0:
                self.by_client[key] = left
            else:
                self.by_client.pop(key, None)
            self.total = max(0, self.total - 1)


STREAMS = StreamRegistry()


def client_key(request: Request, viewer: Viewer) -> str:
    """Whose streams these are: the account when signed in, else the address."""
    if viewer.username:
        return f"user:{viewer.username}"
    return f"addr:{client_address(request) or 'unknown'}"


def open_slot(request: Request, viewer: Viewer) -> StreamSlot:
    """Take a stream slot for this client or raise 429/503 (before any byte is streamed)."""
    return STREAMS.acquire(client_key(request, viewer))


async def start_stream(
    request: Request,
    viewer: Viewer,
    session: Session,
    last_event_id_header: str | None,
    last_event_id: str | None,
) -> tuple[StreamSlot, EventHub, Position]:
    """Take a stream slot, give the request's session back and find where the stream starts.

    The stream lasts minutes: the request's session (its connection and pool slot) is given
    back now; the worker's event hub reads for every stream at once. It starts after
    ``Last-Event-ID`` (or ``?last_event_id=``) when sent, else at the present.
    """
    slot = open_slot(request, viewer)
    try:
        await end_session(session, commit=False)
        resume: Position | None = None
        if last_event_id_header is not None:
            resume = parse_position(last_event_id_header)
        elif last_event_id is not None:
            resume = parse_position(last_event_id, "last_event_id")
        hub = await get_hub()
    except BaseException:
        slot.release()
        raise
    return slot, hub, resume if resume is not None else hub.head


def event_stream_response(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _within(events: list[dict[str, Any]], within: str | None) -> list[dict[str, Any]]:
    if not within:
        return events
    return [e for e in events if (e.get("grid_code") or "").startswith(within)]


def sse_events(
    request: Request,
    hub: EventHub,
    slot: StreamSlot,
    start: Position,
    *,
    within: str | None,
    timeout: float,
    heartbeat: float,
    max_events: int | None,
) -> AsyncIterator[str]:
    """The Server-Sent Events of one incident stream, from ``start``, until ``timeout`` or
    ``max_events``; the slot is given back when it ends, however it ends."""

    async def incidents(batch: list[dict[str, Any]]) -> list[str]:
        return [sse_message(e["position"], "incident", e) for e in _within(batch, within)]

    return sse_stream(
        request,
        hub,
        slot,
        start,
        render=incidents,
        timeout=timeout,
        heartbeat=heartbeat,
        max_events=max_events,
    )


def sse_message(position: str, event: str, data: dict[str, Any]) -> str:
    """One Server-Sent Event: its id (a stream position), name and JSON data."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {position}\nevent: {event}\ndata: {body}\n\n"


def sse_stream(
    request: Request,
    hub: EventHub,
    slot: StreamSlot,
    start: Position,
    *,
    render: Callable[[list[dict[str, Any]]], Awaitable[list[str]]],
    timeout: float,
    heartbeat: float,
    max_events: int | None,
    keep_position: bool = False,
) -> AsyncIterator[str]:
    """A stream fed by the worker's event hub: each batch of incident events is turned into the
    messages of this stream by ``render`` (the incident stream filters by area, the
    notification stream picks the subscriber's own notifications).

    With ``keep_position`` a batch that renders to nothing still moves the client's
    Last-Event-ID (an ``id:`` line alone, which EventSource records without an event), and so
    does the start: a stream that rarely carries anything resumes where it was, not at the
    present, after a reconnect.
    """

    async def events() -> AsyncIterator[str]:
        hub.subscribe()
        try:
            cursor = start
            sent = 0
            deadline = time.monotonic() + timeout
            last_beat = time.monotonic()
            yield f"retry: 2000\n: stream from event {format_position(cursor)}\n" + (
                f"id: {format_position(cursor)}\n\n" if keep_position else "\n"
            )
            while (remaining := deadline - time.monotonic()) > 0:
                if await request.is_disconnected():
                    return
                wait = max(0.0, min(remaining, heartbeat - (time.monotonic() - last_beat)))
                batch = await hub.after(cursor, wait)
                if batch:
                    # Batches come in stream order: the last event's position is the cursor.
                    cursor = parse_position(batch[-1]["position"])
                messages = await render(batch) if batch else []
                for message in messages:
                    yield message
                    sent += 1
                    if max_events is not None and sent >= max_events:
                        return
                if batch and not messages and keep_position:
                    yield f"id: {format_position(cursor)}\n\n"
                if time.monotonic() - last_beat >= heartbeat:
                    last_beat = time.monotonic()
                    yield f": heartbeat {datetime.now(UTC).isoformat()}\n\n"
        finally:
            hub.unsubscribe()
            slot.release()

    generator = events()
    # A response whose body never starts (the client left at once) never runs the finally
    # above: give the slot back when the generator is dropped.
    weakref.finalize(generator, slot.release)
    return generator
