"""The steps of a digital urban-management centre through the API, on the real PostGIS:
受理 apart from 立案, 派遣 with its deadline and target, separation of duties at 核查, 延期申请 and
its decision, 挂起/恢复 pausing the deadline clock. Each refusal writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.incidents import deadlines, intake, transitions
from gis.incidents.transitions import TransitionInput
from gis.scope import Viewer
from tests.api.incident_helpers import ClientFor, client_for, grid_point, viewer

__all__ = ["client_for"]

OPERATOR = "command_operator"


def _case(session: Session, offset: int = 11, category: str = "市容环境") -> tuple[int, Any]:
    g = grid_point(session, offset)
    created = intake.create_incident(
        session,
        viewer(OPERATOR, g.district_code),
        intake.IncidentInput(category, "人行道井盖缺失", g.lon, g.lat, source="hotline"),
    )
    return int(created.incident["id"]), g


def _step(client: TestClient, iid: int, **body: Any) -> Any:
    return client.post(f"/api/v1/incidents/{iid}/transitions", json=body)


def _row(session: Session, iid: int) -> Any:
    return session.execute(
        text(
            "SELECT status, due_at, suspended_from, suspended_at, escalation_level, dispatched_to,"
            " rework_count, (SELECT count(*) FROM incident_transition WHERE incident_id = :i)"
            " AS steps FROM incident WHERE id = :i"
        ),
        {"i": iid},
    ).one()


def _to_dispatched(client: TestClient, iid: int) -> None:
    for action in ("accept", "register", "dispatch"):
        r = _step(client, iid, action=action)
        assert r.status_code == 200, r.text


def test_accepting_and_registering_are_two_steps(
    db_session: Session, client_for: ClientFor
) -> None:
    iid, g = _case(db_session)
    operator = client_for(viewer(OPERATOR, g.district_code))
    case = operator.get(f"/api/v1/incidents/{iid}").json()
    assert case["allowed_transitions"] == ["accept", "refuse"]
    reported_due = _row(db_session, iid).due_at
    accepted = _step(operator, iid, action="accept", note="情况属实，信息完整")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["allowed_transitions"] == ["register", "reject"]
    # 受理 does not restart the intake clock: 立案 is due by the same deadline.
    assert _row(db_session, iid).due_at == reported_due
    # 不予立案 needs its reason (a resolution); nothing is written without it.
    before = _row(db_session, iid).steps
    refused = _step(operator, iid, action="reject")
    assert refused.status_code == 400 and refused.json()["parameter"] == "resolution"
    assert _row(db_session, iid).steps == before
    # A step that is not open from here names the ones that are.
    late = _step(operator, iid, action="accept")
    assert late.status_code == 409
    assert (
        late.json()["detail"]
        == "cannot accept: the case is accepted now; its steps: register, reject"
    )
    rejected = _step(operator, iid, action="reject", resolution="not_responsible", note="非本区")
    assert rejected.json()["status"] == "rejected" and rejected.json()["due_at"] is None
    actions = db_session.execute(
        text("SELECT action FROM incident_transition WHERE incident_id = :i ORDER BY id"),
        {"i": iid},
    ).scalars()
    assert list(actions) == [None, "accept", "reject"]


def test_dispatch_takes_a_target_and_may_only_shorten_the_deadline(
    db_session: Session, client_for: ClientFor
) -> None:
    iid, g = _case(db_session, 12)
    operator = client_for(viewer(OPERATOR, g.district_code))
    _step(operator, iid, action="accept")
    registered = _step(operator, iid, action="register").json()
    # The case tells the form the latest deadline a dispatch now may set (the category's rule).
    latest = datetime.fromisoformat(registered["dispatch_due_at"])
    rule = deadlines.deadline_rule(db_session, "市容环境")
    now = datetime.now(UTC)
    expected = deadlines.stage_deadline(
        rule, deadlines.load_calendar(db_session), "dispatched", now
    )
    assert expected is not None and abs(expected - latest) < timedelta(minutes=5)
    too_late = _step(
        operator, iid, action="dispatch", due_at=(latest + timedelta(hours=2)).isoformat()
    )
    assert too_late.status_code == 400 and too_late.json()["parameter"] == "due_at"
    assert _row(db_session, iid).status == "registered"
    shorter = latest - timedelta(hours=3)
    done = _step(
        operator, iid, action="dispatch", area_code=g.community_code, due_at=shorter.isoformat()
    )
    assert done.status_code == 200, done.text
    row = _row(db_session, iid)
    community = db_session.execute(
        text("SELECT name FROM area WHERE code = :c AND valid_to IS NULL"),
        {"c": g.community_code},
    ).scalar_one()
    assert (row.status, row.due_at, row.escalation_level, row.dispatched_to) == (
        "dispatched",
        shorter,
        "community",
        community,
    )
    # 改派 keeps the handling deadline.
    moved = _step(operator, iid, action="redispatch", grid_code=g.grid_code, due_at=now.isoformat())
    assert moved.status_code == 400 and moved.json()["parameter"] == "due_at"
    moved = _step(operator, iid, action="redispatch", grid_code=g.grid_code)
    assert moved.status_code == 200
    row = _row(db_session, iid)
    assert (row.escalation_level, row.due_at) == ("grid", shorter)


def test_the_handler_does_not_verify_his_own_work(
    db_session: Session, client_for: ClientFor
) -> None:
    iid, g = _case(db_session, 13)
    one = client_for(viewer(OPERATOR, g.district_code, "op_one"))
    two = client_for(viewer(OPERATOR, g.district_code, "op_two"))
    worker = client_for(viewer("grid_worker", g.grid_code))
    _to_dispatched(one, iid)
    # op_one handles it himself (the centre may act for a department) …
    assert _step(one, iid, action="report_back", note="已处置").status_code == 200
    mine = one.get(f"/api/v1/incidents/{iid}").json()
    assert mine["allowed_transitions"] == [] and mine["verified_by"] == "centre"
    for action in ("verify", "rework"):
        refused = _step(one, iid, action=action, note="复核")
        assert refused.status_code == 403
        assert "separation of duties" in refused.json()["detail"]
    # … the grid worker cannot verify at all, and another operator can.
    assert worker.get(f"/api/v1/incidents/{iid}").json()["allowed_transitions"] == []
    assert _step(worker, iid, action="verify").status_code == 403
    assert two.get(f"/api/v1/incidents/{iid}").json()["allowed_transitions"] == [
        "verify",
        "rework",
    ]
    # A send-back needs its reason.
    assert _step(two, iid, action="rework").json()["parameter"] == "note"
    assert _step(two, iid, action="rework", note="井盖未固定").json()["rework_count"] == 1
    assert _step(worker, iid, action="report_back", note="已固定").status_code == 200
    assert _step(two, iid, action="verify").json()["status"] == "verified"
    # op_one handled it once: he does not close it either; op_two does.
    assert _step(one, iid, action="close").status_code == 403
    closed = _step(two, iid, action="close").json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None


def test_verification_follows_the_category_s_verifier(
    db_session: Session, client_for: ClientFor
) -> None:
    db_session.execute(
        text(
            "UPDATE incident_deadline_rule SET verified_by = 'community'"
            " WHERE category = '市容环境'"
        )
    )
    iid, g = _case(db_session, 14)
    operator = client_for(viewer(OPERATOR, g.district_code))
    worker = client_for(viewer("grid_worker", g.grid_code))
    secretary = client_for(viewer("community_secretary", g.community_code))
    _to_dispatched(operator, iid)
    assert _step(worker, iid, action="report_back").status_code == 200
    case = operator.get(f"/api/v1/incidents/{iid}").json()
    assert case["verified_by"] == "community" and case["allowed_transitions"] == []
    refused = _step(operator, iid, action="verify")
    assert refused.status_code == 403 and "falls to the community" in refused.json()["detail"]
    assert secretary.get(f"/api/v1/incidents/{iid}").json()["allowed_transitions"] == [
        "verify",
        "rework",
    ]
    assert _step(secretary, iid, action="verify").json()["status"] == "verified"
    # Closing stays with the centre.
    assert _step(secretary, iid, action="close").status_code == 403
    assert _step(operator, iid, action="close").status_code == 200


def test_one_extension_at_a_time_decided_by_a_supervisor(
    db_session: Session, client_for: ClientFor
) -> None:
    iid, g = _case(db_session, 15)
    operator = client_for(viewer(OPERATOR, g.district_code))
    worker = client_for(viewer("grid_worker", g.grid_code))
    _to_dispatched(operator, iid)
    due = _row(db_session, iid).due_at
    later = due + timedelta(days=2)
    assert (
        "request_extension" in worker.get(f"/api/v1/incidents/{iid}").json()["allowed_transitions"]
    )
    # A reason and a later deadline are needed.
    no_reason = _step(worker, iid, action="request_extension", due_at=later.isoformat())
    assert no_reason.status_code == 400 and no_reason.json()["parameter"] == "note"
    earlier = _step(
        worker,
        iid,
        action="request_extension",
        note="需协调",
        due_at=(due - timedelta(hours=1)).isoformat(),
    )
    assert earlier.status_code == 400 and earlier.json()["parameter"] == "due_at"
    asked = _step(
        worker, iid, action="request_extension", note="需协调供电部门", due_at=later.isoformat()
    )
    assert asked.status_code == 200
    body = asked.json()
    assert body["status"] == "dispatched" and body["history"][-1]["action"] == "request_extension"
    assert [(x["reason"], x["decision"]) for x in body["extensions"]] == [("需协调供电部门", None)]
    # One pending request at a time; the grid does not decide it.
    again = _step(worker, iid, action="request_extension", note="再次", due_at=later.isoformat())
    assert again.status_code == 409 and "already waiting" in again.json()["detail"]
    assert _step(worker, iid, action="approve_extension").status_code == 403
    assert operator.get(f"/api/v1/incidents/{iid}").json()["allowed_transitions"][-3:] == [
        "approve_extension",
        "refuse_extension",
        "suspend",
    ]
    approved = _step(operator, iid, action="approve_extension", note="同意")
    assert approved.status_code == 200
    assert _row(db_session, iid).due_at == later
    # A second request, refused with a reason: the deadline stays.
    even_later = later + timedelta(days=1)
    _step(worker, iid, action="request_extension", note="材料未到", due_at=even_later.isoformat())
    assert _step(operator, iid, action="refuse_extension").json()["parameter"] == "note"
    assert _step(operator, iid, action="refuse_extension", note="不予延期").status_code == 200
    assert _row(db_session, iid).due_at == later
    rows = db_session.execute(
        text(
            "SELECT requested_by, previous_due_at, requested_due_at, decision, decided_by"
            " FROM incident_extension WHERE incident_id = :i ORDER BY id"
        ),
        {"i": iid},
    ).all()
    assert [tuple(r) for r in rows] == [
        (
            "grid_worker:t_grid_worker",
            due,
            later,
            "approved",
            "command_operator:t_command_operator",
        ),
        (
            "grid_worker:t_grid_worker",
            later,
            even_later,
            "refused",
            "command_operator:t_command_operator",
        ),
    ]
    history = db_session.execute(
        text(
            "SELECT action FROM incident_transition WHERE incident_id = :i"
            " AND action LIKE '%extension' ORDER BY id"
        ),
        {"i": iid},
    ).scalars()
    assert list(history) == [
        "request_extension",
        "approve_extension",
        "request_extension",
        "refuse_extension",
    ]


def test_suspension_pauses_the_deadline_clock(db_session: Session) -> None:
    iid, g = _case(db_session, 16)
    supervisor = Viewer("duty_lead", OPERATOR, g.district_code)
    # A Monday morning in Asia/Shanghai (no holiday), so working time is easy to count.
    monday = datetime(2030, 3, 4, 1, 0, tzinfo=UTC)  # 09:00 CST
    for i, action in enumerate(("accept", "register", "dispatch")):
        transitions.transition(
            db_session,
            supervisor,
            iid,
            TransitionInput(action=action),
            now=monday + timedelta(minutes=i),
        )
    due = _row(db_session, iid).due_at
    suspend_at = monday + timedelta(hours=1)
    with pytest.raises(InvalidInput, match="reason") as refused:  # a suspension needs one
        transitions.transition(
            db_session, supervisor, iid, TransitionInput(action="suspend"), now=suspend_at
        )
    assert refused.value.parameter == "note"
    case = transitions.transition(
        db_session,
        supervisor,
        iid,
        TransitionInput(action="suspend", note="等待产权单位确认"),
        now=suspend_at,
    )
    assert case["status"] == "suspended" and case["allowed_transitions"] == ["resume"]
    row = _row(db_session, iid)
    assert (row.suspended_from, row.suspended_at) == ("dispatched", suspend_at)
    # A suspended case is not late, however long it waits.
    overdue = db_session.execute(
        text("SELECT status = ANY(incident_late_statuses()) FROM incident WHERE id = :i"),
        {"i": iid},
    ).scalar_one()
    assert overdue is False
    # Resumed one working day later (Tuesday, same hour): the deadline moves by that day.
    resume_at = suspend_at + timedelta(days=1)
    resumed = transitions.transition(
        db_session, supervisor, iid, TransitionInput(action="resume"), now=resume_at
    )
    assert resumed["status"] == "dispatched"
    row = _row(db_session, iid)
    calendar = deadlines.load_calendar(db_session)
    paused = calendar.working_time_between(suspend_at, resume_at)
    assert paused > timedelta(0)
    assert row.due_at == calendar.add(due, paused)
    assert (row.suspended_from, row.suspended_at) == (None, None)


def test_a_step_replayed_with_its_idempotency_key_is_taken_once(
    db_session: Session, client_for: ClientFor
) -> None:
    """A phone's outbox replays a step it queued offline (the answer was lost): the repeat
    answers the case as it is now instead of 409, and the history holds the step once."""
    iid, g = _case(db_session, offset=12)
    operator = client_for(viewer(OPERATOR, g.district_code))
    _to_dispatched(operator, iid)
    worker = client_for(viewer("grid_worker", g.grid_code, "w_replay"))
    key = {"Idempotency-Key": "step-51aa"}
    url = f"/api/v1/incidents/{iid}/transitions"
    first = worker.post(url, json={"action": "start", "note": "签收"}, headers=key)
    assert first.status_code == 200, first.text
    steps = _row(db_session, iid).steps
    again = worker.post(url, json={"action": "start", "note": "签收"}, headers=key)
    assert again.status_code == 200 and again.json()["status"] == "in_progress"
    assert _row(db_session, iid).steps == steps
    # The same key for another step is refused (nothing written); without a key the step
    # taken twice is the 409 it always was.
    other = worker.post(url, json={"action": "report_back", "note": "已处理"}, headers=key)
    assert other.status_code == 400 and other.json()["parameter"] == "Idempotency-Key"
    assert (_row(db_session, iid).status, _row(db_session, iid).steps) == ("in_progress", steps)
    plain = worker.post(url, json={"action": "start", "note": "签收"})
    assert plain.status_code == 409
    # A key is claimed only by a step that was taken: a refused step leaves it free.
    refused = worker.post(url, json={"action": "verify"}, headers={"Idempotency-Key": "step-9"})
    assert refused.status_code in (403, 409)
    done = worker.post(
        url, json={"action": "report_back", "note": "已处理"}, headers={"Idempotency-Key": "step-9"}
    )
    assert done.status_code == 200 and done.json()["status"] == "handled", done.text
