"""Dispute mediation (三级调解) over the API against PostGIS: the grid registers and mediates,
escalates to the community's committee, which settles with an agreement and visits afterwards;
the level decides who may act; parties masked and their disclosure audited; bad input refused
with nothing written; statistics by level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.incident_helpers import ClientFor, client_for, grid_point
from tests.api.security_helpers import add_account

__all__ = ["client_for"]

PARTIES = [
    {
        "side": "applicant",
        "name": "王建国",
        "phone": "13912345678",
        "id_number": "62088119700101123X",
    },
    {"side": "respondent", "name": "李秀英", "phone": "13887654321"},
]


def _count(session: Session, table: str) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _register(client: Any, grid_code: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/disputes",
        json={
            "dispute_type": "邻里纠纷",
            "summary": "楼上漏水损坏楼下吊顶，双方就赔偿金额争执。",
            "grid_code": grid_code,
            "parties": PARTIES,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_dispute_goes_from_grid_to_community_and_ends_in_an_agreement(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "m_wrk", "grid_worker", g.grid_code))
    dispute = _register(worker, g.grid_code)
    assert (dispute["status"], dispute["level"]) == ("registered", "grid")
    assert dispute["code"].startswith(g.district_code + "-")
    url = f"/api/v1/disputes/{dispute['id']}"
    assert worker.post(url + "/transitions", json={"action": "start"}).status_code == 200
    held = datetime.now(UTC).isoformat()
    session = worker.post(
        url + "/sessions",
        json={"held_at": held, "outcome": "failed", "mediator": "网格员", "note": "金额差距大"},
    )
    assert session.status_code == 201, session.text
    # The community secretary cannot act while the grid mediates.
    secretary = client_for(
        add_account(db_session, "m_sec", "community_secretary", g.community_code)
    )
    early = secretary.post(url + "/transitions", json={"action": "agree", "terms": "x"})
    assert early.status_code == 403 and "grid" in early.json()["detail"]
    # Escalating needs a reason.
    assert worker.post(url + "/transitions", json={"action": "escalate"}).status_code == 400
    up = worker.post(url + "/transitions", json={"action": "escalate", "note": "网格调解不成"})
    assert up.status_code == 200, up.text
    assert (up.json()["level"], up.json()["status"]) == ("community", "mediating")
    # Now the grid only reads it.
    assert up.json()["allowed_actions"] == []
    assert (
        worker.post(url + "/transitions", json={"action": "fail", "note": "x"}).status_code == 403
    )
    assert (
        secretary.post(
            url + "/sessions",
            json={
                "held_at": datetime.now(UTC).isoformat(),
                "outcome": "agreed",
                "mediator": "社区调委会",
            },
        ).status_code
        == 201
    )
    agreed = secretary.post(
        url + "/transitions",
        json={
            "action": "agree",
            "terms": "楼上一次性赔偿楼下3000元，7日内付清。",
            "fulfil_by": "2026-12-31",
        },
    )
    assert agreed.status_code == 200, agreed.text
    followed = secretary.post(
        url + "/transitions", json={"action": "follow_up", "fulfilled": True, "note": "已付清"}
    )
    assert followed.status_code == 200, followed.text
    row = db_session.execute(
        text("SELECT status, level, outcome, closed_at FROM dispute WHERE id = :d"),
        {"d": dispute["id"]},
    ).one()
    assert (row.status, row.level, row.outcome) == ("followed_up", "community", "agreement")
    agreement = db_session.execute(
        text("SELECT level, terms, fulfil_by FROM dispute_agreement WHERE dispute_id = :d"),
        {"d": dispute["id"]},
    ).one()
    assert agreement.level == "community" and "3000" in agreement.terms
    levels = db_session.execute(
        text("SELECT level FROM dispute_session WHERE dispute_id = :d ORDER BY held_at"),
        {"d": dispute["id"]},
    ).scalars()
    assert list(levels) == ["grid", "community"]
    history = db_session.execute(
        text("SELECT action, level FROM dispute_transition WHERE dispute_id = :d ORDER BY id"),
        {"d": dispute["id"]},
    ).all()
    assert [tuple(h) for h in history] == [
        ("register", "grid"),
        ("start", "grid"),
        ("escalate", "community"),
        ("agree", "community"),
        ("follow_up", "community"),
    ]
    stats = secretary.get("/api/v1/disputes/statistics").json()
    by_level = {s["level"]: s for s in stats}
    assert by_level["community"]["settled"] >= 1
    assert by_level["grid"]["cases"] >= by_level["community"]["cases"] >= 1
    assert by_level["community"]["success_rate"] is not None


def test_parties_are_masked_and_an_unmasked_read_is_audited(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    chief = client_for(add_account(db_session, "m_chf", "grid_chief", g.grid_code))
    dispute = _register(chief, g.grid_code)
    names = {p["name"] for p in dispute["parties"]}
    assert "王建国" not in names and dispute["masked"] is True
    assert all(p["id_number"] is None or "*" in p["id_number"] for p in dispute["parties"])
    before = _count(db_session, "audit_log")
    exact = chief.get(f"/api/v1/disputes/{dispute['id']}?purpose=调解联系当事人").json()
    assert {p["name"] for p in exact["parties"]} == {"王建国", "李秀英"}
    assert _count(db_session, "audit_log") == before + 1
    subjects = db_session.execute(
        text("SELECT subjects FROM audit_log ORDER BY id DESC LIMIT 1")
    ).scalar_one()
    assert len(subjects) == 2 and all(s.startswith("dispute_party:") for s in subjects)
    # The list never shows parties; other areas and residents see nothing.
    listed = chief.get("/api/v1/disputes").json()["items"]
    assert dispute["code"] in [d["code"] for d in listed] and "parties" not in listed[0]
    other = grid_point(db_session, offset=1)
    outsider = client_for(add_account(db_session, "m_out", "grid_worker", other.grid_code))
    assert outsider.get(f"/api/v1/disputes/{dispute['id']}").status_code == 403
    resident = client_for(add_account(db_session, "m_res", "resident", g.grid_code))
    assert resident.get(f"/api/v1/disputes/{dispute['id']}").status_code == 403
    assert resident.get("/api/v1/disputes").status_code == 403


def test_bad_input_is_refused_and_nothing_is_written(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "m_wrk2", "grid_worker", g.grid_code))
    tables = ("dispute", "dispute_party", "dispute_transition")
    before = [_count(db_session, t) for t in tables]
    base = {
        "dispute_type": "邻里纠纷",
        "summary": "x",
        "grid_code": g.grid_code,
        "parties": PARTIES,
    }
    for bad in (
        {**base, "parties": [PARTIES[0], {**PARTIES[0], "name": "张三"}]},  # no respondent
        {**base, "dispute_type": "打架"},
        {**base, "grid_code": "999999999999999"},
        {**base, "parties": [{**PARTIES[0], "id_number": "123"}, PARTIES[1]]},
    ):
        response = worker.post("/api/v1/disputes", json=bad)
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert [_count(db_session, t) for t in tables] == before
    # A community secretary does not register at grid level.
    secretary = client_for(
        add_account(db_session, "m_sec2", "community_secretary", g.community_code)
    )
    assert secretary.post("/api/v1/disputes", json=base).status_code == 403
    dispute = _register(worker, g.grid_code)
    url = f"/api/v1/disputes/{dispute['id']}"
    # Sessions only while mediating; agreements need terms; no agreement before mediation.
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        worker.post(
            url + "/sessions", json={"held_at": future, "outcome": "agreed", "mediator": "x"}
        ).status_code
        == 409
    )
    assert (
        worker.post(url + "/transitions", json={"action": "agree", "terms": "x"}).status_code == 409
    )
    worker.post(url + "/transitions", json={"action": "start"})
    assert (
        worker.post(
            url + "/sessions", json={"held_at": future, "outcome": "agreed", "mediator": "x"}
        ).status_code
        == 400
    )
    assert worker.post(url + "/transitions", json={"action": "agree"}).status_code == 400
    assert (
        db_session.execute(
            text("SELECT count(*) FROM dispute_agreement WHERE dispute_id = :d"),
            {"d": dispute["id"]},
        ).scalar_one()
        == 0
    )
