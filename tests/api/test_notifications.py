"""``/api/v1/notifications``: one's own notifications only, unread counts, read marks; a
transition is never held up by an outside channel."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from gis.db import get_engine
from tests.api.incident_helpers import ClientFor, client_for
from tests.conftest import LiveServer
from tests.gis.notifications.helpers import (
    OPERATOR,
    SCENE_PASSWORD,
    WORKER,
    Commit,
    Scene,
    cast,
    commit_event,
    committed_notifications,
    dispatch_through_api,
    dispatched,
    scene,
    use_channels,
)
from tests.gis.notifications.receivers import HttpReceiver, closed_port_url

__all__ = ["client_for", "commit_event", "scene"]

PROBLEM = "application/problem+json"


def _unread(session: Session, username: str) -> int:
    return int(
        session.execute(
            text(
                "SELECT count(*) FROM notification n JOIN app_user u ON u.id = n.recipient_id "
                "WHERE u.username = :u AND n.read_at IS NULL"
            ),
            {"u": username},
        ).scalar_one()
    )


def test_the_list_is_mine_newest_first_with_the_unread_count(
    db_session: Session, client_for: ClientFor
) -> None:
    c = cast(db_session, "a")
    first = dispatched(db_session, c)
    second = dispatched(db_session, c)
    worker = client_for(c.worker)
    page = worker.get("/api/v1/notifications", params={"limit": 1})
    assert page.status_code == 200
    body = page.json()
    assert body["unread"] == _unread(db_session, "a_worker") == 2
    (item,) = body["items"]
    assert item["incident_id"] == second["id"] and item["trigger"] == "dispatch"
    assert item["title"] == f"【派遣】事件 {second['code']} 市容环境"
    assert item["read"] is False and item["data"]["code"] == second["code"]
    assert body["stream_after"].count("-") == 1
    rest = worker.get("/api/v1/notifications", params={"before": body["next_before"]}).json()
    assert [i["incident_id"] for i in rest["items"]] == [first["id"]]
    assert rest["next_before"] is None
    # Another account sees none of them; the public must sign in.
    assert client_for(c.other_worker).get("/api/v1/notifications").json()["items"] == []
    public = client_for().get("/api/v1/notifications")
    assert public.status_code == 401 and public.headers["content-type"] == PROBLEM


def test_marking_read_one_and_all(db_session: Session, client_for: ClientFor) -> None:
    c = cast(db_session, "b")
    dispatched(db_session, c)
    dispatched(db_session, c)
    worker = client_for(c.worker)
    items = worker.get("/api/v1/notifications").json()["items"]
    target = items[0]["id"]
    # Someone else's notification is not found, and stays unread.
    theirs = client_for(c.chief).post(f"/api/v1/notifications/{target}/read")
    assert theirs.status_code == 404 and theirs.headers["content-type"] == PROBLEM
    assert "no notification" in theirs.json()["detail"]
    assert _unread(db_session, "b_worker") == 2
    done = worker.post(f"/api/v1/notifications/{target}/read")
    assert done.status_code == 200 and done.json()["unread"] == 1
    read_at = db_session.execute(
        text("SELECT read_at FROM notification WHERE id = :i"), {"i": target}
    ).scalar_one()
    assert read_at is not None and done.json()["read_at"] == read_at.isoformat()
    again = worker.post(f"/api/v1/notifications/{target}/read").json()
    assert again["read_at"] == done.json()["read_at"]  # marking again changes nothing
    bad = worker.post("/api/v1/notifications/0/read")
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    all_read = worker.post("/api/v1/notifications/read-all").json()
    assert all_read == {"marked": 1, "unread": 0}
    assert _unread(db_session, "b_worker") == 0
    assert _unread(db_session, "b_chief") == 2  # the chief's own are untouched
    assert worker.get("/api/v1/notifications", params={"unread": True}).json()["items"] == []


@pytest.mark.parametrize("receiver", ["down", "slow"])
def test_a_dead_or_slow_receiver_does_not_hold_up_a_transition(
    db_session: Session,
    client_for: ClientFor,
    monkeypatch: pytest.MonkeyPatch,
    receiver: str,
) -> None:
    slow = HttpReceiver(delay=5.0)
    try:
        url = closed_port_url() if receiver == "down" else slow.url
        use_channels(monkeypatch, [{"name": "robot", "kind": "webhook", "url": url}])
        c = cast(db_session, "d")
        case = dispatched(db_session, c)
        operator = client_for(c.operator)
        started = time.monotonic()
        response = operator.post(
            f"/api/v1/incidents/{case['id']}/transitions",
            json={"to": "dispatched", "grid_code": c.grid.grid_code},
        )
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 3.0
        rows = db_session.execute(
            text(
                "SELECT status, attempts FROM notification_delivery WHERE incident_id = :i "
                "ORDER BY created_at"
            ),
            {"i": case["id"]},
        ).all()
        assert [(r.status, r.attempts) for r in rows] == [("pending", 0), ("pending", 0)]
        assert slow.requests == []  # sent after commit by the sender, never inside the step
    finally:
        slow.stop()


def _stream(
    url: str, token: str, params: dict[str, Any], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The notification events of one stream until it ends (``timeout``/``max_events``)."""
    out: list[dict[str, Any]] = []
    with httpx.stream(
        "GET",
        f"{url}/api/v1/notifications/stream",
        params=params,
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in response.iter_lines():
            if line.startswith(("id: ", "event: ", "data: ")):
                key, _, value = line.partition(": ")
                current[key] = json.loads(value) if key == "data" else value
            elif line == "" and "data" in current:
                out.append(current)
                current = {}
    return out


def test_the_stream_brings_my_new_notification_and_resumes_after_it(
    live_server: LiveServer, scene: Scene, demo_engine: Engine
) -> None:
    def token(username: str) -> str:
        return str(
            httpx.post(
                f"{live_server.url}/api/v1/auth/token",
                data={"username": username, "password": SCENE_PASSWORD},
                timeout=30,
            ).json()["access_token"]
        )

    worker, operator = token(WORKER), token(OPERATOR)
    listed = httpx.get(
        f"{live_server.url}/api/v1/notifications",
        headers={"Authorization": f"Bearer {worker}"},
        timeout=30,
    ).json()
    assert listed["unread"] == 0
    dispatch_through_api(live_server.url, scene)
    # From the list's position: the dispatch arrives, and only to the worker.
    after = {"last_event_id": listed["stream_after"], "timeout": 10}
    (event,) = _stream(live_server.url, worker, {**after, "max_events": 1})
    assert event["event"] == "notification"
    assert event["data"]["trigger"] == "dispatch" and event["data"]["read"] is False
    assert event["data"]["data"]["code"] == scene.code
    assert event["data"]["title"].startswith("【派遣】")
    ((username, trigger, _),) = committed_notifications(demo_engine, scene.incident_id)
    assert (username, trigger) == (WORKER, "dispatch")
    assert _stream(live_server.url, operator, {**after, "timeout": 3}) == []
    # Resuming after it: nothing is repeated.
    resumed = _stream(live_server.url, worker, {"timeout": 3}, {"Last-Event-ID": event["id"]})
    assert resumed == []
    # Without a sign-in there is no stream.
    refused = httpx.get(f"{live_server.url}/api/v1/notifications/stream", timeout=30)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM


def test_the_service_sends_by_itself(
    demo_database_url: str,
    demo_engine: Engine,
    commit_event: Commit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a channel configured, the app's own sender delivers after commit (no CLI)."""
    receiver = HttpReceiver()
    try:
        use_channels(
            monkeypatch,
            [{"name": "svc", "kind": "webhook", "url": receiver.url}],
            database_url=demo_database_url,
            notify_send_interval="0.2",
        )
        event_id = commit_event()
        # The app's engine is cached per process: an earlier test may have made it for another
        # database, so it is made afresh for this one (and dropped again below).
        get_engine.cache_clear()
        with TestClient(create_app()):  # runs the lifespan: the sender starts and stops
            deadline = time.monotonic() + 20
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.1)
        assert len(receiver.requests) == 1
        with demo_engine.connect() as conn:
            status = conn.execute(
                text("SELECT status FROM notification_delivery WHERE event_id = :e"),
                {"e": event_id},
            ).scalar_one()
        assert status == "sent"
    finally:
        receiver.stop()
        get_engine().dispose()
        get_engine.cache_clear()
