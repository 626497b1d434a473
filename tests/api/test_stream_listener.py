"""Live streams over real HTTP: one database listener per worker, capped per client.

Issue 14, finding 4: every anonymous stream used to poll the database twice a second. Now N
streams share one LISTEN connection (seen in ``pg_stat_activity``), a committed event still
reaches every one of them, and a client opening more than ``GRIDGOV_STREAMS_PER_CLIENT`` streams
is answered 429.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from gis.eventhub import listener_name
from tests.conftest import LiveServer

STREAMS = 4


@pytest.fixture(scope="module")
def stream_server(demo_database_url: str) -> Iterator[LiveServer]:
    # Its own deadline sweep off; the shared live server's may still write events (cases of the
    # demo city fall due as the clock runs), so readers count only the events a test wrote.
    server = LiveServer(
        demo_database_url,
        {"GRIDGOV_STREAMS_PER_CLIENT": str(STREAMS), "GRIDGOV_ESCALATION_RUNNER": "false"},
    )
    yield server
    server.stop()


class Reader(threading.Thread):
    """One EventSource-like client: reads events until it has ``want`` of the test's own (ids
    in ``mine``, which the test fills before it commits) or the stream ends."""

    def __init__(
        self,
        url: str,
        want: int,
        mine: set[int],
        within: str | None = None,
        timeout: float = 30,
    ) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.want = want
        self.mine = mine
        self.params: dict[str, Any] = {"timeout": timeout, "heartbeat": 1}
        if within is not None:
            self.params["within"] = within
        self.status: int | None = None
        self.opened = threading.Event()
        self.events: list[dict[str, Any]] = []

    def run(self) -> None:
        with httpx.stream(
            "GET", f"{self.url}/api/v1/incidents/stream", params=self.params, timeout=60
        ) as response:
            self.status = response.status_code
            self.opened.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event["event_id"] not in self.mine:
                        continue  # another test's or the sweep's
                    self.events.append(event)
                    if len(self.events) >= self.want:
                        return


def _listener_pids(url: str, server: LiveServer) -> list[int]:
    """Backends of the server's worker's listener (other servers may share the database)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            (listener_name(server.process.pid),),
        ).fetchall()
    return [int(r[0]) for r in rows]


def _listeners(url: str, server: LiveServer) -> int:
    """Listener connections of the server's worker process."""
    return len(_listener_pids(url, server))


def _commit_event(url: str, mine: set[int], payload: dict[str, Any] | None = None) -> int:
    """Commit an event, its id added to ``mine`` first (before any stream can see it)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "INSERT INTO incident_event (incident_id, kind, status, payload) "
            "SELECT min(id), 'updated', 'reported', %s FROM incident RETURNING id",
            (json.dumps(payload or {}),),
        ).fetchone()
        assert row is not None
        mine.add(int(row[0]))
        conn.commit()
    return int(row[0])


def _delete_events(url: str, ids: list[int]) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM incident_event WHERE id = ANY(%s)", (ids,))
        conn.commit()


def _wait(predicate: Any, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_streams_share_one_listener_are_capped_and_still_get_events(
    stream_server: LiveServer, demo_database_url: str
) -> None:
    mine: set[int] = set()
    readers = [Reader(stream_server.url, want=1, mine=mine) for _ in range(STREAMS)]
    for reader in readers:
        reader.start()
    for reader in readers:
        assert reader.opened.wait(20) and reader.status == 200
    # N streams, one listening connection of the worker; no stream polls on its own.
    assert _wait(lambda: _listeners(demo_database_url, stream_server) == 1)
    time.sleep(1.5)
    assert _listeners(demo_database_url, stream_server) == 1
    # One more stream from the same client is refused, with a problem body and Retry-After.
    refused = httpx.get(f"{stream_server.url}/api/v1/incidents/stream", timeout=10)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    assert f"{STREAMS} event streams" in refused.json()["detail"]
    # A committed event reaches every stream (woken by NOTIFY, read once by the worker).
    event_id = _commit_event(demo_database_url, mine)
    try:
        for reader in readers:
            reader.join(20)
            assert [e["event_id"] for e in reader.events] == [event_id]
        # The streams have ended: their slots are free again.
        assert _wait(
            lambda: (
                httpx.get(
                    f"{stream_server.url}/api/v1/incidents/stream",
                    params={"timeout": 0.5, "heartbeat": 0.5},
                    timeout=10,
                ).status_code
                == 200
            )
        )
    finally:
        with psycopg.connect(demo_database_url) as conn:
            conn.execute("DELETE FROM incident_event WHERE id = %s", (event_id,))
            conn.commit()


def test_an_event_committed_behind_a_running_writer_is_delivered_once_it_ends(
    stream_server: LiveServer, demo_database_url: str
) -> None:
    """The notification may come before the event is deliverable (an older transaction still
    runs); the worker looks again until it is, and never skips it."""
    with psycopg.connect(demo_database_url) as conn:
        incident_id = conn.execute("SELECT min(id) FROM incident").fetchone()[0]  # type: ignore[index]
    older = psycopg.connect(demo_database_url)
    written: list[int] = []
    mine: set[int] = set()
    reader = Reader(stream_server.url, want=2, mine=mine)
    try:
        reader.start()
        assert reader.opened.wait(20) and reader.status == 200
        time.sleep(0.5)
        # The older writer takes its transaction id first, then writes after the newer commits.
        older.execute("SELECT pg_current_xact_id()")
        with psycopg.connect(demo_database_url) as newer:
            written.append(
                newer.execute(
                    "INSERT INTO incident_event (incident_id, kind, status, payload) "
                    "VALUES (%s, 'updated', 'reported', '{}') RETURNING id",
                    (incident_id,),
                ).fetchone()[0]  # type: ignore[index]
            )
            mine.add(written[-1])
        time.sleep(1.0)
        assert reader.events == []  # held back: the older transaction could still write before it
        written.insert(
            0,
            older.execute(
                "INSERT INTO incident_event (incident_id, kind, status, payload) "
                "VALUES (%s, 'updated', 'reported', '{}') RETURNING id",
                (incident_id,),
            ).fetchone()[0],  # type: ignore[index]
        )
        mine.add(written[0])
        older.commit()
        reader.join(20)
        assert [e["event_id"] for e in reader.events] == written
    finally:
        older.close()
        with psycopg.connect(demo_database_url) as conn:
            conn.execute("DELETE FROM incident_event WHERE id = ANY(%s)", (written,))
            conn.commit()


def test_each_stream_sees_only_its_area_from_the_shared_feed(
    stream_server: LiveServer, demo_database_url: str
) -> None:
    """The worker reads every event once for all streams; each stream still filters to its own
    ``within`` (an area code prefix), as it did when it read for itself."""
    here, there = "990001", "990002"
    mine: set[int] = set()
    only_here = Reader(stream_server.url, want=2, mine=mine, within=here, timeout=6)
    only_there = Reader(stream_server.url, want=2, mine=mine, within=there, timeout=6)
    everything = Reader(stream_server.url, want=2, mine=mine, timeout=20)
    readers = (only_here, only_there, everything)
    for reader in readers:
        reader.start()
    for reader in readers:
        assert reader.opened.wait(20) and reader.status == 200
    time.sleep(0.5)
    written = [
        _commit_event(demo_database_url, mine, {"grid_code": f"{here}001001001"}),
        _commit_event(demo_database_url, mine, {"grid_code": f"{there}001001001"}),
    ]
    try:
        for reader in readers:
            reader.join(30)
            assert not reader.is_alive()
        assert [e["event_id"] for e in everything.events] == written
        assert [e["event_id"] for e in only_here.events] == written[:1]
        assert [e["event_id"] for e in only_there.events] == written[1:]
        assert only_here.events[0]["grid_code"] == f"{here}001001001"
    finally:
        _delete_events(demo_database_url, written)


def test_the_listener_reconnects_after_the_database_drops_it(
    stream_server: LiveServer, demo_database_url: str
) -> None:
    """A database restart or failover closes the listening connection: the worker connects
    again by itself, and an event committed while it was gone is still delivered, in order."""
    mine: set[int] = set()
    reader = Reader(stream_server.url, want=2, mine=mine, timeout=60)
    written: list[int] = []
    try:
        reader.start()
        assert reader.opened.wait(20) and reader.status == 200
        assert _wait(lambda: _listeners(demo_database_url, stream_server) == 1)
        (before,) = _listener_pids(demo_database_url, stream_server)
        with psycopg.connect(demo_database_url) as conn:
            assert conn.execute("SELECT pg_terminate_backend(%s)", (before,)).fetchone() == (True,)
        # Committed while nobody listens: no notification reaches the worker for it.
        written.append(_commit_event(demo_database_url, mine))
        assert _wait(
            lambda: (
                (pids := _listener_pids(demo_database_url, stream_server)) != []
                and pids != [before]
            )
        )
        written.append(_commit_event(demo_database_url, mine))
        reader.join(30)
        assert [e["event_id"] for e in reader.events] == written
        assert reader.status == 200  # the client's stream never broke
    finally:
        _delete_events(demo_database_url, written)
