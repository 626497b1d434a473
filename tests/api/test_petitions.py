"""Petitions (诉求) over the API against PostGIS: a resident submits for his household, staff in
scope assign and answer within a working-day deadline, the resident rates; scoping, masking and
its audit, bad input refused with nothing written, conversion to an incident keeping the
history, escalation of overdue petitions, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.deadlines import load_calendar
from gis.incidents.workcalendar import elapsed
from gis.petitions import cases
from gis.scope import Viewer
from tests.api.incident_helpers import ClientFor, client_for, grid_point
from tests.api.security_helpers import add_account

__all__ = ["client_for"]

BODY = {
    "petition_type": "complaint",
    "subject": "物业管理",
    "title": "楼道灯坏了一个月",
    "description": "3单元楼道灯坏了一个月，物业一直不修。",
}


def _count(session: Session, table: str) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _resident(session: Session, name: str, grid_code: str) -> Viewer:
    viewer = add_account(session, name, "resident", grid_code)
    # Tie the account to a named member of its household, as a real one is.
    session.execute(
        text(
            "UPDATE app_user SET resident_id = (SELECT min(id) FROM resident WHERE household_id"
            " = :h) WHERE id = :u"
        ),
        {"h": viewer.household_id, "u": viewer.user_id},
    )
    return viewer


def _submit(client: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/api/v1/petitions", json=body or BODY)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_resident_submits_staff_answer_and_the_resident_rates(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    resident = _resident(db_session, "p_res", g.grid_code)
    me = client_for(resident)
    petition = _submit(me)
    # The one case-code format, its areas, and a deadline of five working days (a complaint).
    assert petition["code"].startswith(g.district_code + "-")
    assert (petition["status"], petition["grid_code"], petition["community_code"]) == (
        "submitted",
        g.grid_code,
        g.community_code,
    )
    submitted = datetime.fromisoformat(petition["submitted_at"])
    due = datetime.fromisoformat(petition["due_at"])
    assert elapsed(submitted, due, load_calendar(db_session)) == timedelta(hours=35)
    assert petition["allowed_actions"] == []
    # His own name is his to see.
    own = db_session.execute(
        text("SELECT petitioner_name FROM petition WHERE id = :i"), {"i": petition["id"]}
    ).scalar_one()
    assert own is not None and petition["petitioner_name"] == own

    secretary = client_for(
        add_account(db_session, "p_sec", "community_secretary", g.community_code)
    )
    assigned = secretary.post(
        f"/api/v1/petitions/{petition['id']}/transitions",
        json={"action": "assign", "assigned_to": "网格员张", "level": "grid"},
    )
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["status"], assigned.json()["escalation_level"]) == ("assigned", "grid")

    # The resident cannot answer his own petition; the grid worker can.
    refused = me.post(
        f"/api/v1/petitions/{petition['id']}/transitions", json={"action": "answer", "answer": "x"}
    )
    assert refused.status_code == 403
    worker = client_for(add_account(db_session, "p_wrk", "grid_worker", g.grid_code))
    answered = worker.post(
        f"/api/v1/petitions/{petition['id']}/transitions",
        json={"action": "answer", "answer": "已联系物业，今日修复。", "note": "物业经理电话已记录"},
    )
    assert answered.status_code == 200, answered.text
    # Staff cannot rate for him (一事一评 belongs to the resident).
    assert (
        secretary.post(
            f"/api/v1/petitions/{petition['id']}/transitions", json={"action": "rate", "rating": 5}
        ).status_code
        == 403
    )
    seen = me.get(f"/api/v1/petitions/{petition['id']}").json()
    assert seen["answer"] == "已联系物业，今日修复。"
    assert seen["allowed_actions"] == ["rate"]
    # The internal note and the actors stay with staff.
    assert all("note" not in h and "actor" not in h for h in seen["history"])
    rated = me.post(
        f"/api/v1/petitions/{petition['id']}/transitions",
        json={"action": "rate", "rating": 4, "comment": "修得快"},
    )
    assert rated.status_code == 200, rated.text
    row = db_session.execute(
        text("SELECT status, rating, rating_comment, closed_at FROM petition WHERE id = :i"),
        {"i": petition["id"]},
    ).one()
    assert (row.status, row.rating, row.rating_comment) == ("rated", 4, "修得快")
    assert row.closed_at is not None
    steps = db_session.execute(
        text("SELECT action FROM petition_transition WHERE petition_id = :i ORDER BY id"),
        {"i": petition["id"]},
    ).scalars()
    assert list(steps) == ["submit", "assign", "answer", "rate"]
    # Rated once only.
    again = me.post(
        f"/api/v1/petitions/{petition['id']}/transitions", json={"action": "rate", "rating": 1}
    )
    assert again.status_code == 409


def test_petitions_are_scoped_to_the_household_and_the_area(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    other = grid_point(db_session, offset=1)
    petition = _submit(client_for(_resident(db_session, "p_res1", g.grid_code)))
    neighbour = client_for(_resident(db_session, "p_res2", other.grid_code))
    assert neighbour.get(f"/api/v1/petitions/{petition['id']}").status_code == 404
    assert petition["id"] not in [
        p["id"] for p in neighbour.get("/api/v1/petitions").json()["items"]
    ]
    outsider = client_for(add_account(db_session, "p_out", "grid_worker", other.grid_code))
    if not other.grid_code.startswith(g.grid_code):
        assert outsider.get(f"/api/v1/petitions/{petition['id']}").status_code == 403
    assert client_for().get("/api/v1/petitions").status_code == 401
    listed = client_for(add_account(db_session, "p_str", "street_secretary", g.street_code)).get(
        "/api/v1/petitions"
    )
    assert petition["code"] in [p["code"] for p in listed.json()["items"]]


def test_the_petitioner_is_masked_unless_a_purpose_is_stated_and_then_audited(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    petition = _submit(client_for(_resident(db_session, "p_res3", g.grid_code)))
    real = db_session.execute(
        text("SELECT petitioner_name, petitioner_phone FROM petition WHERE id = :i"),
        {"i": petition["id"]},
    ).one()
    secretary = client_for(
        add_account(db_session, "p_sec3", "community_secretary", g.community_code)
    )
    masked = secretary.get(f"/api/v1/petitions/{petition['id']}").json()
    assert masked["masked"] is True and masked["petitioner_name"] != real.petitioner_name
    before = _count(db_session, "audit_log")
    exact = secretary.get(f"/api/v1/petitions/{petition['id']}?purpose=答复诉求").json()
    assert exact["petitioner_name"] == real.petitioner_name and exact["masked"] is False
    row = db_session.execute(
        text("SELECT action, purpose, subjects FROM audit_log ORDER BY id DESC LIMIT 1")
    ).one()
    assert _count(db_session, "audit_log") == before + 1
    assert row.purpose == "答复诉求" and row.subjects == [f"petition:{petition['code']}"]
    # A planner sees no more than the surname, whatever he states.
    planner = client_for(add_account(db_session, "p_pln", "planner", g.district_code))
    assert planner.get(f"/api/v1/petitions/{petition['id']}?purpose=x规划").status_code == 200


def test_bad_input_is_refused_and_nothing_is_written(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    me = client_for(_resident(db_session, "p_res4", g.grid_code))
    before = (_count(db_session, "petition"), _count(db_session, "petition_transition"))
    for bad, field in (
        ({**BODY, "subject": "外星人"}, "subject"),
        ({**BODY, "petition_type": "praise"}, "petition_type"),
        ({**BODY, "title": ""}, "title"),
        ({**BODY, "household_code": "620881H000000001"}, "household_code"),
    ):
        response = me.post("/api/v1/petitions", json=bad)
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in response.text
    petition = _submit(me)
    secretary = client_for(
        add_account(db_session, "p_sec4", "community_secretary", g.community_code)
    )
    url = f"/api/v1/petitions/{petition['id']}/transitions"
    # A step the status does not allow is 409 with the open steps; missing data is 400.
    wrong = secretary.post(url, json={"action": "answer", "answer": "x"})
    assert wrong.status_code == 409 and "assign" in wrong.json()["detail"]
    assert secretary.post(url, json={"action": "assign"}).status_code == 400
    assert (
        secretary.post(url, json={"action": "assign", "assigned_to": "x", "rating": 3}).status_code
        == 400
    )
    assert secretary.post(url, json={"action": "refuse"}).status_code == 400
    assert (_count(db_session, "petition"), _count(db_session, "petition_transition")) == (
        before[0] + 1,
        before[1] + 1,
    )


def test_a_petition_converts_into_an_incident_keeping_its_history(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    petition = _submit(client_for(_resident(db_session, "p_res5", g.grid_code)))
    operator = client_for(add_account(db_session, "p_op", "command_operator", g.district_code))
    url = f"/api/v1/petitions/{petition['id']}/transitions"
    assert operator.post(url, json={"action": "assign", "assigned_to": "城管科"}).status_code == 200
    converted = operator.post(
        url, json={"action": "convert", "category": "公用设施", "lon": g.lon, "lat": g.lat}
    )
    assert converted.status_code == 200, converted.text
    body = converted.json()
    assert body["status"] == "converted" and body["incident_code"]
    incident = db_session.execute(
        text("SELECT id, status, grid_id, attributes FROM incident WHERE code = :c"),
        {"c": body["incident_code"]},
    ).one()
    assert (incident.status, incident.grid_id) == ("reported", g.grid_id)
    assert incident.attributes["petition"] == petition["code"]
    actions = db_session.execute(
        text(
            "SELECT action FROM incident_transition WHERE incident_id = :i AND action LIKE"
            " 'petition_%' ORDER BY at, id"
        ),
        {"i": incident.id},
    ).scalars()
    assert list(actions) == ["petition_submit", "petition_assign", "petition_convert"]
    # A converted petition is finished: no more steps.
    assert operator.post(url, json={"action": "assign", "assigned_to": "x"}).status_code == 409


def test_overdue_petitions_climb_one_level_and_statistics_count_them(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    petition = _submit(client_for(_resident(db_session, "p_res6", g.grid_code)))
    later = datetime.now(UTC) + timedelta(days=30)
    raised = cases.escalate_overdue(db_session, later)
    assert {"code": petition["code"], "from": "community", "to": "street"} in raised
    level = db_session.execute(
        text("SELECT escalation_level FROM petition WHERE id = :i"), {"i": petition["id"]}
    ).scalar_one()
    assert level == "street"
    secretary = client_for(
        add_account(db_session, "p_sec6", "community_secretary", g.community_code)
    )
    stats = secretary.get("/api/v1/petitions/statistics?by=subject").json()
    row = next(s for s in stats if s["subject"] == "物业管理")
    expected = db_session.execute(
        text(
            "SELECT count(*) FROM petition p JOIN area c ON c.id = p.community_id"
            " WHERE c.code = :c AND p.subject = '物业管理'"
        ),
        {"c": g.community_code},
    ).scalar_one()
    assert row["total"] == expected
    by_area = secretary.get("/api/v1/petitions/statistics?by=community").json()
    assert [r["community"] for r in by_area] == [g.community_code]
    assert (
        client_for(_resident(db_session, "p_res7", g.grid_code))
        .get("/api/v1/petitions/statistics")
        .status_code
        == 403
    )
