"""Who is told what: notifications and deliveries derived from incident events (real PostGIS)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.escalation import escalate_overdue
from gis.incidents.events import append_event, event_payload
from gis.incidents.workflow import IllegalTransition
from tests.gis.notifications.helpers import (
    assert_no_personal_data,
    cast,
    dispatched,
    now,
    report,
    step,
    told,
    use_channels,
)


def test_a_dispatch_tells_the_grid_chief_workers_and_staff_not_the_dispatcher(
    db_session: Session,
) -> None:
    c = cast(db_session)
    case = report(db_session, c)
    # Reporting, accepting and registering tell nobody.
    step(db_session, c.operator, case["id"], "accepted")
    step(db_session, c.operator, case["id"], "registered")
    assert (
        db_session.execute(
            text("SELECT count(*) FROM notification WHERE incident_id = :i"), {"i": case["id"]}
        ).scalar_one()
        == 0
    )
    step(db_session, c.operator, case["id"], "dispatched", grid_code=c.grid.grid_code)
    got = told(db_session, case["id"], "dispatch")
    assert set(got) == {"n_worker", "n_chief", "n_staff"}
    row = db_session.execute(
        text(
            "SELECT i.code, i.due_at, g.name FROM incident i JOIN area g ON g.id = i.grid_id "
            "WHERE i.id = :i"
        ),
        {"i": case["id"]},
    ).one()
    data = got["n_worker"]
    assert data["code"] == row.code and data["category"] == "市容环境"
    assert data["area"] == row.name and data["level"] == "grid"
    assert data["area_code"] == c.grid.grid_code
    assert data["due_at"] == row.due_at.isoformat()
    assert_no_personal_data(got)


def test_a_send_back_tells_the_handler(db_session: Session) -> None:
    c = cast(db_session)
    case = dispatched(db_session, c)
    step(db_session, c.worker, case["id"], "in_progress")
    step(db_session, c.worker, case["id"], "handled")
    # Taking on and reporting back tell nobody; the centre's send-back tells the worker.
    assert told(db_session, case["id"], "send_back") == {}
    step(db_session, c.operator, case["id"], "in_progress", note="未清理干净")
    got = told(db_session, case["id"], "send_back")
    assert "n_worker" in got and "n_chief" not in got and "n_other" not in got
    assert "n_community" not in got
    assert got["n_worker"]["status"] == "in_progress"


def test_an_approaching_deadline_event_tells_who_holds_the_case(db_session: Session) -> None:
    c = cast(db_session)
    case = dispatched(db_session, c)
    # The deadline runner writes this event kind; any writer of it tells the same people.
    append_event(
        db_session,
        case["id"],
        "due_soon",
        "dispatched",
        event_payload(db_session, case["id"]),
        now(),
    )
    got = told(db_session, case["id"], "due_soon")
    assert set(got) == {"n_worker", "n_chief", "n_staff"}
    assert_no_personal_data(got)


def test_an_escalation_tells_the_desk_at_the_new_level(db_session: Session) -> None:
    c = cast(db_session)
    case = dispatched(db_session, c)
    db_session.execute(
        text("UPDATE incident SET due_at = :d WHERE id = :i"),
        {"d": now() - timedelta(days=2), "i": case["id"]},
    )
    done = escalate_overdue(db_session, now())
    assert {"incident_id": case["id"], "from": "grid", "to": "community"} in [
        {k: e[k] for k in ("incident_id", "from", "to")} for e in done
    ]
    got = told(db_session, case["id"], "escalation")
    # The community's desk: its accounts (the cast's, and the demo city's own if it has one
    # there); nobody of the grid or above.
    assert "n_community" in got
    accounts = dict(
        db_session.execute(
            text("SELECT username, scope_code FROM app_user WHERE username = ANY(:u)"),
            {"u": list(got)},
        ).all()
    )
    assert set(accounts.values()) == {c.grid.community_code}, accounts
    assert all(n["level"] == "community" for n in got.values())
    assert all(n["area_code"] == c.grid.community_code for n in got.values())


def test_a_step_that_does_not_commit_tells_nobody(db_session: Session) -> None:
    c = cast(db_session)
    case = report(db_session, c)
    step(db_session, c.operator, case["id"], "accepted")
    step(db_session, c.operator, case["id"], "registered")
    savepoint = db_session.begin_nested()
    step(db_session, c.operator, case["id"], "dispatched", grid_code=c.grid.grid_code)
    assert told(db_session, case["id"], "dispatch")  # written with the step…
    savepoint.rollback()
    assert told(db_session, case["id"], "dispatch") == {}  # …and gone with it
    with pytest.raises(IllegalTransition):
        step(db_session, c.operator, case["id"], "closed")
    assert told(db_session, case["id"], "dispatch") == {}


def test_deliveries_go_to_the_channels_of_the_trigger_area_and_department(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = cast(db_session)
    use_channels(
        monkeypatch,
        [
            {
                "name": "street-robot",
                "kind": "webhook",
                "url": "http://127.0.0.1:9/a",
                "format": "wecom",
                "area": c.grid.street_code,
            },
            {
                "name": "cg-dept",
                "kind": "webhook",
                "url": "http://127.0.0.1:9/b",
                "format": "dingtalk",
                "departments": ["城管执法局"],
            },
            {
                "name": "elsewhere",
                "kind": "webhook",
                "url": "http://127.0.0.1:9/c",
                "area": "620881999000",
            },
            {
                "name": "escalations",
                "kind": "webhook",
                "url": "http://127.0.0.1:9/d",
                "triggers": ["escalation"],
            },
        ],
    )
    case = dispatched(db_session, c, dispatched_to="城管执法局")
    rows = db_session.execute(
        text(
            "SELECT channel, trigger, status, attempts, message FROM notification_delivery "
            "WHERE incident_id = :i ORDER BY channel"
        ),
        {"i": case["id"]},
    ).all()
    assert [(r.channel, r.trigger, r.status, r.attempts) for r in rows] == [
        ("cg-dept", "dispatch", "pending", 0),
        ("street-robot", "dispatch", "pending", 0),
    ]
    message = rows[0].message
    assert message["code"] == case["code"] and message["title"].startswith("【派遣】")
    assert "派往部门：城管执法局" in message["lines"]
    assert_no_personal_data([r.message for r in rows])
    # Nothing was sent inside the step: no attempt exists yet.
    assert (
        db_session.execute(
            text(
                "SELECT count(*) FROM notification_attempt a JOIN notification_delivery d "
                "ON d.id = a.delivery_id WHERE d.incident_id = :i"
            ),
            {"i": case["id"]},
        ).scalar_one()
        == 0
    )
