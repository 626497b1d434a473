"""The live stream over real HTTP: a new case arrives as an event; Last-Event-ID resumes."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.incidents.events import (
    Position,
    events_after,
    format_position,
    last_position,
    parse_position,
)
from tests.api.incident_helpers import committed_reporting_key
from tests.conftest import LiveServer


def _events(
    url: str, params: dict[str, Any], headers: dict[str, str] | None = None, want: int = 1
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with httpx.stream(
        "GET", f"{url}/api/v1/incidents/stream", params=params, headers=headers or {}, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        # Never gzipped (httpx asks for it): each event must leave when written.
        assert "content-encoding" not in response.headers
        current: dict[str, Any] = {}
        for line in response.iter_lines():
            if line.startswith("id: "):
                current["id"] = line[4:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and "data" in current:
                out.append(current)
                current = {}
                if len(out) >= want:
                    break
    return out


def _position(sse_id: str) -> tuple[int, int]:
    xid, event_id = sse_id.split("-")
    return int(xid), int(event_id)


def _grid_point(url: str) -> tuple[float, float]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
        ).fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


def test_stream_delivers_new_incidents_and_resumes(
    live_server: LiveServer, demo_database_url: str
) -> None:
    lon, lat = _grid_point(demo_database_url)
    with psycopg.connect(demo_database_url) as conn:
        # The position of the newest event, as the stream spells it (<xid>-<id>).
        row = conn.execute(
            "SELECT xid, id FROM incident_event ORDER BY xid DESC, id DESC LIMIT 1"
        ).fetchone()
    start = "0-0" if row is None else f"{row[0]}-{row[1]}"
    body = {
        "category": "市容环境",
        "description": "SSE 测试",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }
    key = {"X-API-Key": committed_reporting_key(demo_database_url)}
    url = f"{live_server.url}/api/v1/incidents"
    created = httpx.post(url, json=body, headers=key, timeout=30).json()
    iid = created["incident"]["id"]
    second = httpx.post(url, json=body, headers=key, timeout=30).json()
    try:
        first = _events(live_server.url, {"timeout": 20}, {"Last-Event-ID": start})
        assert first[0]["data"]["incident_id"] == iid
        assert first[0]["data"]["change"] == "created"
        assert first[0]["data"]["code"] == created["incident"]["code"]
        assert "reporter" not in first[0]["data"]
        # Resume after the first event: only later ones arrive.
        later = _events(live_server.url, {"timeout": 20}, {"Last-Event-ID": first[0]["id"]})
        assert _position(later[0]["id"]) > _position(first[0]["id"])
        assert later[0]["data"]["incident_id"] == second["incident"]["id"]
        assert later[0]["data"]["position"] == later[0]["id"]
        # Without Last-Event-ID the stream starts now; a bounded stream ends by itself.
        with httpx.stream(
            "GET",
            f"{live_server.url}/api/v1/incidents/stream",
            params={"timeout": 1.5, "heartbeat": 0.5},
            timeout=30,
        ) as r:
            text_body = "".join(r.iter_text())
        assert ": heartbeat" in text_body and "event: incident" not in text_body
        bad = httpx.get(
            f"{live_server.url}/api/v1/incidents/stream",
            headers={"Last-Event-ID": "abc"},
            timeout=10,
        )
        assert bad.status_code == 400
    finally:
        with psycopg.connect(demo_database_url) as conn:
            conn.execute(
                "DELETE FROM incident WHERE id = ANY(%s)", ([iid, second["incident"]["id"]],)
            )
            conn.commit()


def _insert_event(conn: psycopg.Connection[Any], incident_id: int) -> tuple[int, int]:
    """An ``updated`` event written in ``conn``'s open transaction: (xid, id)."""
    row = conn.execute(
        "INSERT INTO incident_event (incident_id, kind, status, payload) "
        "VALUES (%s, 'updated', 'reported', '{}') RETURNING xid, id",
        (incident_id,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _poll(engine: Engine, after: Position, want: set[int]) -> list[dict[str, Any]]:
    """Events after ``after`` once all of ``want`` are deliverable (another test's long
    transaction elsewhere in the cluster may hold the horizon back for a moment)."""
    deadline = time.monotonic() + 20
    while True:
        with Session(engine) as session:
            events = events_after(session, after, limit=1000)
        if want <= {e["event_id"] for e in events} or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_stream_waits_for_running_writers_and_never_skips(
    demo_database_url: str, demo_engine: Engine
) -> None:
    """Two writers commit out of order: nothing is delivered past a running writer's event, and
    resuming from the last delivered position later yields exactly the events not yet seen."""
    with Session(demo_engine) as session:
        start = last_position(session)
        incident_id = session.execute(text("SELECT min(id) FROM incident")).scalar_one()
    a = psycopg.connect(demo_database_url)
    b = psycopg.connect(demo_database_url)
    written: list[int] = []
    try:
        # B takes its transaction id first (any write), A writes its event first (lower event
        # id, higher xid), then B writes its event and commits while A is still running. Event
        # ids alone would let a reader pass A's lower id and never come back for it.
        b.execute("UPDATE incident SET updated_at = updated_at WHERE id = %s", (incident_id,))
        a.execute("SELECT pg_current_xact_id()")
        a_xid, a_id = _insert_event(a, incident_id)
        b_xid, b_id = _insert_event(b, incident_id)
        written += [a_id, b_id]
        assert a_id < b_id and b_xid < a_xid
        b.commit()
        seen = _poll(demo_engine, start, {b_id})
        assert [e["event_id"] for e in seen] == [b_id]
        assert seen[0]["position"] == format_position((b_xid, b_id))
        # A third writer that starts and commits now sorts after A: held back until A ends.
        with psycopg.connect(demo_database_url) as c:
            c_xid, c_id = _insert_event(c, incident_id)
            written.append(c_id)
        assert c_xid > a_xid
        time.sleep(0.3)
        resumed_from = parse_position(seen[-1]["position"])
        with Session(demo_engine) as session:
            assert events_after(session, resumed_from) == []
        a.commit()
        rest = _poll(demo_engine, resumed_from, {a_id, c_id})
        assert [e["event_id"] for e in rest] == [a_id, c_id]
        positions = [parse_position(e["position"]) for e in seen + rest]
        assert positions == sorted(positions) == [(b_xid, b_id), (a_xid, a_id), (c_xid, c_id)]
        # Resuming from the last one delivers nothing again; the starting position is its own.
        with Session(demo_engine) as session:
            assert events_after(session, positions[-1]) == []
            assert last_position(session) >= positions[-1]
    finally:
        a.close()
        b.close()
        with psycopg.connect(demo_database_url) as conn:
            conn.execute("DELETE FROM incident_event WHERE id = ANY(%s)", (written,))
            conn.commit()


def test_positions_parse_and_reject_garbage() -> None:
    assert parse_position("7301-52") == (7301, 52)
    assert parse_position(" 52 ") == (0, 52)  # ids sent before migration 0007
    assert parse_position(format_position((9, 10))) == (9, 10)
    for bad in ("abc", "-5", "1-", "1-2-3", "", "1.5"):
        with pytest.raises(InvalidInput):
            parse_position(bad)
