"""Deadlines, 按期 and the escalation runner in working time, against the real PostGIS.

The calendar is the one migration 0020 loads (the State Council schedules 2025–2026); every
instant is given (``now=``), so nothing depends on when the tests run.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gis.incidents import intake, metrics
from gis.incidents.deadlines import deadline_rule, load_calendar, stage_deadline
from gis.incidents.escalation import announce_due_soon
from gis.incidents.escalation_runner import EscalationRunner, sweep
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import grid_point

CST = timezone(timedelta(hours=8))


def bj(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """An instant in Beijing time."""
    return datetime(y, m, d, hh, mm, tzinfo=CST)


def report(session: Session, category: str, now: datetime, offset: int = 30) -> dict[str, Any]:
    g = grid_point(session, offset)
    data = intake.IncidentInput(category, "工作时测试", g.lon, g.lat)
    return intake.create_incident(session, ANONYMOUS, data, now=now).incident


def due_of(session: Session, incident_id: int) -> datetime:
    return session.execute(
        text("SELECT due_at FROM incident WHERE id = :i"), {"i": incident_id}
    ).scalar_one()


@pytest.mark.parametrize(
    ("reported", "due"),
    [
        # Sunday evening: registered within one working hour → Monday 09:30, not 01:00.
        (bj(2026, 11, 22, 20), bj(2026, 11, 23, 9, 30)),
        # After office hours on a Tuesday → Wednesday 09:30; over lunch → 14:30.
        (bj(2026, 11, 24, 18, 5), bj(2026, 11, 25, 9, 30)),
        (bj(2026, 11, 24, 11, 30), bj(2026, 11, 24, 14, 30)),
        # A statutory holiday: National Day 2026 (1–7 Oct) → Thursday 8 Oct.
        (bj(2026, 10, 2, 10), bj(2026, 10, 8, 9, 30)),
        # A make-up working day: Friday 9 Oct 17:00 → Saturday 10 Oct (调休上班) 09:00.
        (bj(2026, 10, 9, 17), bj(2026, 10, 10, 9)),
        # Friday evening before 春节 2026: Saturday 14 Feb is worked → 09:30 that Saturday.
        (bj(2026, 2, 13, 19), bj(2026, 2, 14, 9, 30)),
        # Thursday evening before 劳动节 (1–5 May 2026) → Wednesday 6 May.
        (bj(2026, 4, 30, 19), bj(2026, 5, 6, 9, 30)),
    ],
)
def test_intake_deadlines_run_in_working_time(
    db_session: Session, reported: datetime, due: datetime
) -> None:
    case = report(db_session, "市容环境", reported)
    assert due_of(db_session, case["id"]) == due
    assert datetime.fromisoformat(case["due_at"]) == due


def test_round_the_clock_categories_keep_clock_time(db_session: Session) -> None:
    sunday_night = bj(2026, 11, 22, 23)
    case = report(db_session, "突发事件", sunday_night)
    assert due_of(db_session, case["id"]) == sunday_night + timedelta(hours=1)


def test_the_shipped_rules_are_in_working_hours(db_session: Session) -> None:
    # Migration 0020 converted "24-hour days on working days" to working hours (7 per day).
    handle = {
        r.category: (r.handle_hours, r.escalate_every_hours, r.calendar_time)
        for r in db_session.execute(text("SELECT * FROM incident_deadline_rule"))
    }
    assert handle["市容环境"] == (14, 7, False)  # 2 working days
    assert handle["服务订单"] == (21, 7, False)  # 3 working days
    assert handle["突发事件"] == (4, 24, True)  # round the clock: unchanged


def _closed_case(
    session: Session, g: Any, code: str, dispatched: datetime, closed: datetime
) -> datetime:
    due = stage_deadline(
        deadline_rule(session, "市容环境"), load_calendar(session), "dispatched", dispatched
    )
    assert due is not None
    session.execute(
        text(
            """
            INSERT INTO incident (code, kind, category, description, source, status, geom,
                street_id, community_id, grid_id, district_code, reported_at, due_at,
                closed_at, updated_at)
            VALUES (:code, 'event', '市容环境', 'on-time fixture', 'patrol', 'closed',
                ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :s, :c, :g, :d, :rep, :due,
                :closed, :closed)
            """
        ),
        {
            "code": code,
            "lon": g.lon,
            "lat": g.lat,
            "s": g.street_id,
            "c": g.community_id,
            "g": g.grid_id,
            "d": g.district_code,
            "rep": dispatched - timedelta(minutes=30),
            "due": due,
            "closed": closed,
        },
    )
    return due


def test_on_time_closure_rate_counts_working_time(db_session: Session) -> None:
    g = grid_point(db_session, 31)
    # Dispatched Friday 27 Nov 2026 16:00 with 14 working hours to handle: 1.5 h on Friday,
    # 7 on Monday, 5.5 on Tuesday → Tuesday 1 Dec 16:00 (24-hour days would say Saturday).
    due = _closed_case(db_session, g, "WT-ONTIME", bj(2026, 11, 27, 16), bj(2026, 11, 30, 10))
    assert due == bj(2026, 12, 1, 16)
    late = _closed_case(db_session, g, "WT-LATE", bj(2026, 11, 27, 16), bj(2026, 12, 1, 16, 1))
    assert late == due
    rows = metrics.metrics(
        db_session,
        level="grid",
        start=bj(2026, 11, 27),
        end=bj(2026, 11, 28),
        within=g.grid_code,
    )
    (row,) = [r for r in rows if r["area_code"] == g.grid_code]
    assert (row["closed"], row["closed_on_time"], row["on_time_rate"]) == (2, 1, 0.5)


# --- the escalation runner --------------------------------------------------------------


@pytest.fixture
def sessions(db_session: Session) -> sessionmaker[Session]:
    """The runner's sessions, inside the test's rolled-back transaction (commits are savepoints)."""
    return sessionmaker(bind=db_session.connection(), join_transaction_mode="create_savepoint")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _events(session: Session, incident_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (r.kind, r.payload)
        for r in session.execute(
            text("SELECT kind, payload FROM incident_event WHERE incident_id = :i ORDER BY id"),
            {"i": incident_id},
        )
    ]


def _mine(result: Any, incident_id: int) -> tuple[list[Any], list[Any]]:
    assert result is not None
    return (
        [e for e in result.escalated if e["incident_id"] == incident_id],
        [d for d in result.due_soon if d["incident_id"] == incident_id],
    )


def test_the_runner_announces_escalates_and_is_idempotent(
    db_session: Session, sessions: sessionmaker[Session]
) -> None:
    # Reported Friday 20 Nov 2026 17:00; due Monday 23 Nov 09:00 (30 working min each side).
    case = report(db_session, "市容环境", bj(2026, 11, 20, 17), offset=32)
    iid = case["id"]
    assert due_of(db_session, iid) == bj(2026, 11, 23, 9)
    clock = Clock(bj(2026, 11, 20, 17, 10))
    runner = EscalationRunner(lambda: sessions, interval=60, clock=clock)

    # Friday 17:10: 50 working minutes left (20 on Friday, 30 on Monday), 64 clock hours.
    escalated, due_soon = _mine(runner.run_once(), iid)
    assert escalated == [] and [d["stage"] for d in due_soon] == ["reported"]
    assert due_soon[0]["left"] == timedelta(minutes=50)
    # The same tick again, and later ticks before the deadline: nothing new.
    for now in (clock.now, bj(2026, 11, 22, 12), bj(2026, 11, 23, 8, 59)):
        clock.now = now
        assert _mine(runner.run_once(), iid) == ([], [])

    # Monday 09:01: overdue → one level up, once.
    clock.now = bj(2026, 11, 23, 9, 1)
    escalated, _ = _mine(runner.run_once(), iid)
    assert [(e["from"], e["to"]) for e in escalated] == [("grid", "community")]
    assert _mine(runner.run_once(), iid) == ([], [])
    # Still overdue a working day (7 working hours) later → street.
    clock.now = bj(2026, 11, 23, 17, 30)  # 6.5 working hours: not yet
    assert _mine(runner.run_once(), iid) == ([], [])
    clock.now = bj(2026, 11, 24, 9, 1)
    escalated, _ = _mine(runner.run_once(), iid)
    assert [(e["from"], e["to"]) for e in escalated] == [("community", "street")]

    kinds = [
        (k, p.get("stage"), p.get("reason"), p["escalation_level"])
        for k, p in _events(db_session, iid)
    ]
    assert kinds == [
        ("created", None, None, "grid"),
        ("due_soon", "reported", None, "grid"),
        ("escalated", None, "overdue", "community"),
        ("escalated", None, "still_overdue", "street"),
    ]
    due_soon_payload = _events(db_session, iid)[1][1]
    assert due_soon_payload["minutes_left"] == 50
    assert due_soon_payload["due_at"] == bj(2026, 11, 23, 9).astimezone(UTC).isoformat()
    # The escalation history of the case.
    levels = db_session.execute(
        text(
            "SELECT from_level, to_level FROM incident_escalation WHERE incident_id = :i "
            "ORDER BY at"
        ),
        {"i": iid},
    ).all()
    assert [tuple(r) for r in levels] == [("grid", "community"), ("community", "street")]


def test_a_new_deadline_is_announced_again(db_session: Session) -> None:
    case = report(db_session, "市容环境", bj(2026, 11, 24, 9), offset=33)
    iid = case["id"]
    now = bj(2026, 11, 24, 9, 45)  # due 10:00
    assert [d["incident_id"] for d in announce_due_soon(db_session, now)].count(iid) == 1
    assert all(d["incident_id"] != iid for d in announce_due_soon(db_session, now))
    # A new stage (here: the deadline moved, as registering sets a new one) → announced again.
    db_session.execute(
        text("UPDATE incident SET status = 'registered', due_at = :d WHERE id = :i"),
        {"d": bj(2026, 11, 24, 10, 30), "i": iid},
    )
    again = [d for d in announce_due_soon(db_session, now) if d["incident_id"] == iid]
    assert [d["stage"] for d in again] == ["registered"]
    # A threshold of zero turns announcements off.
    assert announce_due_soon(db_session, now, threshold=timedelta(0)) == []


def test_only_one_of_two_concurrent_runners_acts(db_session: Session, demo_engine: Engine) -> None:
    case = report(db_session, "市容环境", bj(2026, 11, 24, 9), offset=34)
    now = bj(2026, 11, 25, 9)
    # Runner A sweeps in the test's transaction and holds the advisory lock until it ends.
    first = sweep(db_session, now)
    assert first is not None and case["id"] in {e["incident_id"] for e in first.escalated}
    # Runner B, in its own session at the same time, is refused the lock and does nothing.
    other = EscalationRunner(lambda: sessionmaker(bind=demo_engine), interval=60)
    assert other.run_once() is None
    with demo_engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM incident_event WHERE incident_id = :i"),
                {"i": case["id"]},
            ).scalar_one()
            == 0
        )  # B saw nothing to act on and wrote nothing


def test_the_runner_loop_ticks_by_itself_and_stops(
    db_session: Session, sessions: sessionmaker[Session]
) -> None:
    case = report(db_session, "市容环境", bj(2026, 11, 24, 9), offset=35)
    runner = EscalationRunner(lambda: sessions, interval=0.05, clock=lambda: bj(2026, 11, 25, 9))

    async def run_for_a_while() -> None:
        runner.start()
        for _ in range(100):
            await asyncio.sleep(0.05)
            level = db_session.execute(
                text("SELECT escalation_level FROM incident WHERE id = :i"), {"i": case["id"]}
            ).scalar_one()
            if level != "grid":
                break
        await runner.stop()

    asyncio.run(run_for_a_while())
    level = db_session.execute(
        text("SELECT escalation_level FROM incident WHERE id = :i"), {"i": case["id"]}
    ).scalar_one()
    assert level == "community"


def test_the_app_starts_and_stops_its_runner_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    monkeypatch.setenv("GRIDGOV_ESCALATION_RUNNER", "true")  # tests/conftest.py turns it off
    app = create_app()
    with TestClient(app):
        runner = app.state.escalation_runner
        assert isinstance(runner, EscalationRunner) and runner.interval == 60
        assert runner._task is not None and not runner._task.done()
    assert runner._task is None  # stopped with the app

    monkeypatch.setenv("GRIDGOV_ESCALATION_RUNNER", "false")
    off = create_app()
    with TestClient(off):
        assert off.state.escalation_runner is None
