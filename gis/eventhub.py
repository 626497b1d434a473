"""One database listener per worker feeding every live incident stream (LISTEN/NOTIFY).

Each stream used to poll ``incident_event`` twice a second: 600 idle streams were 1,200 queries a
second, and they slowed everything else down. Now a worker process (an event loop) keeps one
connection that ``LISTEN``s on :data:`CHANNEL`; a trigger (migration 0015) notifies it after every
committed statement that wrote events. The hub then reads the new events once, with
:func:`gis.incidents.events.events_after` — the same reader, so delivery stays in (xid, id) order
and below the horizon of running transactions — keeps the recent ones in memory and wakes every
subscriber. A stream therefore costs no database work while nothing happens.

Correctness does not rest on the notifications, only latency does:

- a notification says "something at or before this position committed", never what to send; the
  hub reads what is deliverable and, while a notified event is still held back by an older
  running transaction, looks again every :data:`RECHECK_SECONDS`;
- after (re)connecting, the hub reads everything after the position it had, and every
  :data:`IDLE_READ_SECONDS` it reads anyway, so a lost notification delays an event, never drops it;
- a subscriber resuming from a position older than the memory (``Last-Event-ID`` after a long
  absence) catches up with its own reads, batch by batch, then joins the shared feed.

The hub starts with its first subscriber and closes its connection once it has had none for
:data:`LINGER_SECONDS` (and when the app shuts down, :func:`close_hub`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import psycopg
from anyio import to_thread
from anyio.lowlevel import RunVar

from gis.db import database_url, get_sessionmaker
from gis.incidents import events as q
from gis.settings import libpq_url

log = logging.getLogger("gridgov.eventhub")

CHANNEL = "gridgov_incident_event"
# Shown in pg_stat_activity with the worker's process id: one listener per worker.
APPLICATION_NAME = "gridgov-event-listener"
BATCH = 500
BUFFER_EVENTS = 5000
RECHECK_SECONDS = 0.25
IDLE_READ_SECONDS = 30.0
LINGER_SECONDS = 60.0
RECONNECT_MAX_SECONDS = 30.0

Position = q.Position
Event = dict[str, Any]


def listener_name(pid: int | None = None) -> str:
    """The application_name of a worker's listener connection."""
    return f"{APPLICATION_NAME}:{os.getpid() if pid is None else pid}"


def _read_after(after: Position, limit: int = BATCH) -> list[Event]:
    with get_sessionmaker()() as session:
        return q.events_after(session, after, limit)


def _read_head() -> Position:
    with get_sessionmaker()() as session:
        return q.last_position(session)


def _parse(payload: str) -> Position | None:
    try:
        return q.parse_position(payload)
    except Exception:  # a notification with an unexpected payload only means "look"
        return None


class EventHub:
    """The shared feed of one event loop: a listener, a read loop and the recent events."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.head: Position = (0, 0)
        # Every event after ``floor`` up to ``head`` is in ``events`` (positions in ``positions``).
        self.floor: Position = (0, 0)
        self.events: list[Event] = []
        self.positions: list[Position] = []
        self.subscribers = 0
        self.listening = False
        self._head_known = False
        self._pending: Position | None = None
        self._changed = asyncio.Condition()
        self._ready = asyncio.Event()
        self._idle_since = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    # -- subscribers ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the listener (if it is not running) and wait until the hub knows the present.

        Raises the database error if the present cannot be read (the database is down).
        """
        self._ensure_task()
        await self._ready.wait()
        if not self._head_known:
            assert self._failure is not None
            raise self._failure

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            if not self._head_known:
                self._ready.clear()
            self._task = asyncio.get_running_loop().create_task(self._run())

    def subscribe(self) -> None:
        self.subscribers += 1

    def unsubscribe(self) -> None:
        self.subscribers = max(0, self.subscribers - 1)
        if self.subscribers == 0:
            self._idle_since = time.monotonic()

    async def after(self, cursor: Position, wait: float) -> list[Event]:
        """Events after ``cursor`` in stream order; waits up to ``wait`` seconds for new ones.

        An empty list means nothing new arrived in time (the caller sends a heartbeat).
        """
        self._ensure_task()
        if cursor < self.floor:
            # Older than the memory: this subscriber catches up on its own, in batches.
            return await to_thread.run_sync(_read_after, cursor)
        found = self._buffered_after(cursor)
        if found:
            return found
        try:
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.head > cursor or cursor < self.floor),
                    wait,
                )
        except TimeoutError:
            return []
        if cursor < self.floor:
            return await to_thread.run_sync(_read_after, cursor)
        return self._buffered_after(cursor)

    def _buffered_after(self, cursor: Position) -> list[Event]:
        start = bisect.bisect_right(self.positions, cursor)
        return self.events[start : start + BATCH]

    # -- the listener ---------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = 1.0
        try:
            while True:
                try:
                    await self._listen()
                    return  # idle long enough
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.listening = False
                    self._failure = exc
                    log.warning("event listener: %s: %s", exc.__class__.__name__, exc)
                    if not self._head_known:
                        self._ready.set()  # start() raises the failure: the database is down
                        return
                    if self._idle_for() > LINGER_SECONDS:
                        return
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
                    # Keep the subscribers fed while the listener is down.
                    with contextlib.suppress(Exception):
                        await self._read()
        finally:
            self.listening = False

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, application_name=listener_name()
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.listening = True
            if not self._head_known:
                # Listening first, then the present: nothing can fall in between.
                self.head = self.floor = await to_thread.run_sync(_read_head)
                self._head_known = True
                self._ready.set()
            self._pending = await self._newest_committed(conn)
            while True:
                await self._read()
                if self.subscribers == 0 and self._idle_for() > LINGER_SECONDS:
                    return
                behind = self._pending is not None and self._pending > self.head
                timeout = RECHECK_SECONDS if behind else IDLE_READ_SECONDS
                async for notify in conn.notifies(timeout=timeout, stop_after=1):
                    self._note(notify.payload)
                # Coalesce a burst: everything already received is one read.
                async for notify in conn.notifies(timeout=0.01):
                    self._note(notify.payload)

    async def _newest_committed(self, conn: psycopg.AsyncConnection[Any]) -> Position | None:
        """The newest committed event, deliverable or not: notifications sent before we
        listened may concern events still held back by a running transaction."""
        cursor = await conn.execute(
            "SELECT xid, id FROM incident_event ORDER BY xid DESC, id DESC LIMIT 1"
        )
        row = await cursor.fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def _idle_for(self) -> float:
        return 0.0 if self.subscribers else time.monotonic() - self._idle_since

    def _note(self, payload: str) -> None:
        position = _parse(payload)
        if position is not None and (self._pending is None or position > self._pending):
            self._pending = position

    async def _read(self) -> None:
        """Read every deliverable event after ``head`` (one query per batch, for all streams)."""
        new: list[Event] = []
        while True:
            batch = await to_thread.run_sync(_read_after, self.head)
            if not batch:
                break
            new += batch
            self.head = q.parse_position(batch[-1]["position"])
            if len(batch) < BATCH:
                break
        if self._pending is not None and self._pending <= self.head:
            self._pending = None
        if not new:
            return
        self.events += new
        self.positions += [q.parse_position(e["position"]) for e in new]
        if len(self.events) > BUFFER_EVENTS:
            drop = len(self.events) - BUFFER_EVENTS
            self.floor = self.positions[drop - 1]
            del self.events[:drop]
            del self.positions[:drop]
        async with self._changed:
            self._changed.notify_all()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.listening = False


_HUB: RunVar[EventHub] = RunVar("gridgov_event_hub")


async def get_hub(conninfo_of: Callable[[], str] | None = None) -> EventHub:
    """This event loop's hub, started (a worker has one loop; each test client its own)."""
    try:
        hub = _HUB.get()
    except LookupError:
        conninfo = (conninfo_of or (lambda: libpq_url(database_url())))()
        hub = EventHub(conninfo)
        _HUB.set(hub)
    await hub.start()
    return hub


async def close_hub() -> None:
    """Close this event loop's hub, if any (app shutdown)."""
    try:
        hub = _HUB.get()
    except LookupError:
        return
    await hub.close()
