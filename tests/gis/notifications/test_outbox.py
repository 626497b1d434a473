"""The outbox against real local receivers: retries with backoff, every attempt recorded, one
sender at a time, mail through SMTP, a dead receiver retried later.

The sender works on committed rows with its own connections, so each test commits an event to
the demo database and deletes it again (deliveries and attempts go with it).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gis.notifications.outbox import SENDER_LOCK, SendReport, send_due
from gis.settings import get_settings
from tests.e2e.cli_helpers import gridgov
from tests.gis.notifications.helpers import (
    REPORTER_NAME,
    REPORTER_PHONE,
    Commit,
    commit_event,
    use_channels,
)
from tests.gis.notifications.receivers import HttpReceiver, SmtpReceiver, closed_port_url

__all__ = ["commit_event"]


def delivery(engine: Engine, event_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT d.id, d.status, d.attempts, d.next_attempt_at, d.sent_at, d.last_error, "
                "i.code FROM notification_delivery d JOIN incident i ON i.id = d.incident_id "
                "WHERE d.event_id = :e"
            ),
            {"e": event_id},
        ).one()


def attempts(engine: Engine, delivery_id: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT ok, response_code, error, at FROM notification_attempt "
                    "WHERE delivery_id = :d ORDER BY id"
                ),
                {"d": delivery_id},
            ).all()
        )


def test_a_receiver_failing_twice_gets_three_attempts_and_one_delivery(
    demo_engine: Engine, commit_event: Commit, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = HttpReceiver(fail_first=2)
    try:
        use_channels(
            monkeypatch,
            [{"name": "wecom", "kind": "webhook", "url": receiver.url, "format": "wecom"}],
            notify_retry_base_seconds="30",
        )
        event_id = commit_event()
        d = delivery(demo_engine, event_id)
        t0 = datetime.now(UTC)
        assert send_due(demo_engine, now=t0).retrying == 1
        assert delivery(demo_engine, event_id).next_attempt_at == t0 + timedelta(seconds=30)
        # Not due before its backoff has passed.
        assert send_due(demo_engine, now=t0 + timedelta(seconds=20)) == SendReport(locked=True)
        t1 = t0 + timedelta(seconds=31)
        assert send_due(demo_engine, now=t1).retrying == 1
        assert delivery(demo_engine, event_id).next_attempt_at == t1 + timedelta(seconds=60)
        t2 = t1 + timedelta(seconds=61)
        assert send_due(demo_engine, now=t2).sent == 1
        assert send_due(demo_engine, now=t2 + timedelta(days=1)).sent == 0  # sent once only

        done = delivery(demo_engine, event_id)
        assert (done.status, done.attempts, done.sent_at) == ("sent", 3, t2)
        tries = attempts(demo_engine, d.id)
        assert [(a.ok, a.response_code, a.at) for a in tries] == [
            (False, 500, t0),
            (False, 500, t1),
            (True, 200, t2),
        ]
        assert tries[0].error == "HTTP 500"
        # Three requests, one delivery: the same idempotency key each time.
        assert [r.headers["Idempotency-Key"] for r in receiver.requests] == [str(d.id)] * 3
        body = receiver.requests[-1].body
        assert body["msgtype"] == "text"
        assert body["text"]["content"].startswith("【临期提醒】")
        assert d.code in body["text"]["content"]
        assert REPORTER_NAME not in str(body) and REPORTER_PHONE not in str(body)
    finally:
        receiver.stop()


def test_a_robot_refusing_with_an_errcode_is_a_failed_attempt(
    demo_engine: Engine, commit_event: Commit, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = HttpReceiver(fail_first=0)
    try:
        use_channels(
            monkeypatch,
            [
                {
                    "name": "ding",
                    "kind": "webhook",
                    "url": receiver.url,
                    "format": "dingtalk",
                    "markdown": True,
                }
            ],
        )
        event_id = commit_event()
        assert send_due(demo_engine).sent == 1
        body = receiver.requests[0].body
        assert body["msgtype"] == "markdown"
        assert body["markdown"]["title"].startswith("【临期提醒】")
        assert body["markdown"]["text"].startswith("**【临期提醒】")
        assert delivery(demo_engine, event_id).status == "sent"
    finally:
        receiver.stop()


def test_mail_reaches_the_smtp_receiver(
    demo_engine: Engine, commit_event: Commit, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = SmtpReceiver()
    try:
        use_channels(
            monkeypatch,
            [{"name": "desk-mail", "kind": "smtp", "to": ["duty@city.example"]}],
            smtp_host="127.0.0.1",
            smtp_port=str(smtp.port),
            smtp_from="gridgov@city.example",
        )
        event_id = commit_event()
        assert send_due(demo_engine).sent == 1
        d = delivery(demo_engine, event_id)
        assert [(a.ok, a.response_code) for a in attempts(demo_engine, d.id)] == [(True, 250)]
        (mail,) = smtp.mails
        assert mail.sender == "gridgov@city.example"
        assert mail.recipients == ["duty@city.example"]
        assert mail.message["Message-ID"] == f"<{d.id}@gridgov>"
        assert str(mail.message["Subject"]).startswith("【临期提醒】")
        assert isinstance(mail.message, EmailMessage)
        content = mail.message.get_body(("plain",))
        assert content is not None
        body = content.get_content()
        assert d.code in body and "期限：" in body
        assert REPORTER_NAME not in body and REPORTER_PHONE not in body
    finally:
        smtp.stop()


def test_a_receiver_that_is_down_is_retried_then_given_up(
    demo_engine: Engine, commit_event: Commit, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_channels(
        monkeypatch,
        [{"name": "down", "kind": "webhook", "url": closed_port_url()}],
        notify_max_attempts="2",
        notify_retry_base_seconds="5",
    )
    event_id = commit_event()
    t0 = datetime.now(UTC)
    assert send_due(demo_engine, now=t0).retrying == 1
    d = delivery(demo_engine, event_id)
    assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 1, t0 + timedelta(seconds=5))
    assert "ConnectError" in d.last_error
    assert send_due(demo_engine, now=t0 + timedelta(seconds=6)).failed == 1
    d = delivery(demo_engine, event_id)
    assert (d.status, d.attempts, d.sent_at) == ("failed", 2, None)
    tries = attempts(demo_engine, d.id)
    assert [(a.ok, a.response_code) for a in tries] == [(False, None), (False, None)]
    assert all("ConnectError" in a.error for a in tries)


def test_one_sender_at_a_time(
    demo_engine: Engine, commit_event: Commit, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = HttpReceiver(delay=0.5)
    try:
        use_channels(monkeypatch, [{"name": "slow", "kind": "webhook", "url": receiver.url}])
        event_id = commit_event()
        # A sender at work elsewhere holds the lock: this one sends nothing.
        with demo_engine.connect() as other:
            other.execute(
                text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": SENDER_LOCK}
            )
            assert send_due(demo_engine) == SendReport(locked=False)
            other.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": SENDER_LOCK}
            )
            other.commit()
        assert receiver.requests == []
        # Two senders at once: one sends, the other finds the lock taken.
        reports: list[SendReport] = []
        start = threading.Barrier(2)

        def run() -> None:
            start.wait()
            reports.append(send_due(demo_engine, get_settings()))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(r.locked for r in reports) == [False, True]
        assert sum(r.sent for r in reports) == 1
        assert len(receiver.requests) == 1
        assert delivery(demo_engine, event_id).status == "sent"
    finally:
        receiver.stop()


def test_the_cli_sends_for_cron(
    demo_engine: Engine,
    demo_database_url: str,
    commit_event: Commit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = HttpReceiver()
    try:
        # The command inherits the environment: the channel and the demo database.
        use_channels(monkeypatch, [{"name": "cron", "kind": "webhook", "url": receiver.url}])
        event_id = commit_event()
        with demo_engine.connect() as other:
            lock = "SELECT pg_advisory_lock(hashtextextended(:k, 0))"
            other.execute(text(lock), {"k": SENDER_LOCK})
            busy = gridgov(demo_database_url, "notifications", "send")
            other.execute(text(lock.replace("_lock", "_unlock")), {"k": SENDER_LOCK})
        assert busy.returncode == 0, busy.stderr
        assert "another sender is at work" in busy.stdout
        assert receiver.requests == []
        done = gridgov(demo_database_url, "notifications", "send")
        assert done.returncode == 0, done.stderr
        assert "1 sent, 0 to retry, 0 failed" in done.stdout
        assert len(receiver.requests) == 1
        assert delivery(demo_engine, event_id).status == "sent"
    finally:
        receiver.stop()
