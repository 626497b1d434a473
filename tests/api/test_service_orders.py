"""Service orders: order → publish → claim → done → rate, and the yearly 服务之星 ranking."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.deadlines import load_calendar
from gis.queries import service_orders as so
from gis.scope import Viewer
from tests.api.incident_helpers import ClientFor, client_for, viewer
from tests.api.security_helpers import add_account

__all__ = ["client_for"]
CST = timezone(timedelta(hours=8))


def _community_with_member(session: Session) -> Any:
    return session.execute(
        text(
            """
            SELECT c.code AS community_code, c.district_code, m.id AS member_id, r.name
            FROM party_member m JOIN resident r ON r.id = m.resident_id
            JOIN area c ON c.id = m.registered_community_id AND c.valid_to IS NULL
            ORDER BY m.id LIMIT 2
            """
        )
    ).all()


def linked_member(session: Session, username: str, row: Any) -> Viewer:
    """A party member's account linked to the member record ``row.member_id`` acts as."""
    account = add_account(session, username, "party_member", row.community_code)
    session.execute(
        text("UPDATE app_user SET member_id = :m WHERE username = :u"),
        {"m": row.member_id, "u": username},
    )
    return account


def test_a_member_claims_only_as_himself(db_session: Session, client_for: ClientFor) -> None:
    """The demo account once claimed an order in member 3's name: a claim is always the
    account's own member record, whatever member_id the request names."""
    rows = _community_with_member(db_session)
    c = rows[0]
    other = db_session.execute(
        text("SELECT id FROM party_member WHERE id <> :m ORDER BY id LIMIT 1"),
        {"m": c.member_id},
    ).scalar_one()
    o = so.create_order(
        db_session,
        viewer("community_secretary", c.community_code),
        service_type="维修",
        description="修水龙头",
        requester_name="张三",
        requester_phone=None,
        community_code=c.community_code,
        lon=None,
        lat=None,
    )
    so.step_order(db_session, viewer("community_secretary", c.community_code), o["id"], "published")
    unlinked = client_for(add_account(db_session, "unlinked_pm", "party_member", c.community_code))
    step = f"/api/v1/service-orders/{o['id']}/transitions"
    refused = unlinked.post(step, json={"to": "claimed"})
    assert refused.status_code == 403 and "not linked" in refused.json()["detail"]
    member = client_for(linked_member(db_session, "linked_pm", c))
    posing = member.post(step, json={"to": "claimed", "member_id": other})
    assert posing.status_code == 403 and "as yourself" in posing.json()["detail"]
    status = db_session.execute(
        text("SELECT status, member_id FROM service_order WHERE id = :i"), {"i": o["id"]}
    ).one()
    assert (status.status, status.member_id) == ("published", None)
    claimed = member.post(step, json={"to": "claimed"})
    assert claimed.status_code == 200, claimed.text
    assert (
        db_session.execute(
            text("SELECT member_id FROM service_order WHERE id = :i"), {"i": o["id"]}
        ).scalar_one()
        == c.member_id
    )
    # Another member may not report his order done.
    stranger = db_session.execute(
        text(
            "SELECT id FROM party_member WHERE id <> :m AND org_id IS NOT NULL ORDER BY id LIMIT 1"
        ),
        {"m": c.member_id},
    ).scalar_one()
    db_session.execute(
        text("UPDATE app_user SET member_id = :m WHERE username = 'unlinked_pm'"), {"m": stranger}
    )
    assert unlinked.post(step, json={"to": "done"}).status_code == 403


def test_the_order_loop_over_http(db_session: Session, client_for: ClientFor) -> None:
    rows = _community_with_member(db_session)
    assert rows, "the demo city has members registered with communities"
    c = rows[0]
    resident = client_for(viewer("planner", "999999"))
    created = resident.post(
        "/api/v1/service-orders",
        json={
            "service_type": "养老照护",
            "description": "帮老人买药",
            "requester_name": "李大爷",
            "requester_phone": "13712345678",
            "community_code": c.community_code,
        },
    )
    assert created.status_code == 201, created.text
    oid = created.json()["id"]
    secretary = client_for(viewer("community_secretary", c.community_code))
    member = client_for(linked_member(db_session, "order_member", c))
    step = lambda who, **b: who.post(f"/api/v1/service-orders/{oid}/transitions", json=b)  # noqa: E731
    assert step(member, to="claimed", member_id=c.member_id).status_code == 409  # not published
    assert step(secretary, to="published").status_code == 200
    assert step(secretary, to="claimed", member_id=c.member_id).status_code == 403
    claimed = step(member, to="claimed", member_id=c.member_id)
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    got_due = datetime.fromisoformat(body["due_at"])
    expected = load_calendar(db_session).add_working_days(
        datetime.fromisoformat(body["claimed_at"]), 3
    )
    assert got_due == expected
    assert step(member, to="done").json()["on_time"] is True
    assert step(secretary, to="rated").status_code == 400
    rated = step(secretary, to="rated", rating=5, comment="很好").json()
    assert rated["rating"] == 5 and rated["status"] == "rated"
    assert rated["requester"]["name"] == "李*爷"  # no purpose: masked, even in scope
    seen = secretary.get(f"/api/v1/service-orders/{oid}", params={"purpose": "电话回访"}).json()
    assert seen["requester"]["name"] == "李大爷"  # the secretary may unmask in scope
    audited = db_session.execute(
        text(
            "SELECT purpose, subjects FROM audit_log WHERE username = 't_community_secretary'"
            " AND action = 'read.unmasked'"
        )
    ).one()
    assert audited.purpose == "电话回访"
    assert f"service_order:{seen['code']}" in audited.subjects
    outsider = client_for(viewer("planner", "999999")).get(f"/api/v1/service-orders/{oid}").json()
    assert outsider["requester"]["name"] == "李*爷" and outsider["description"] is None
    history = (
        db_session.execute(
            text(
                "SELECT to_status FROM service_order_transition WHERE service_order_id = :o "
                "ORDER BY at, id"
            ),
            {"o": oid},
        )
        .scalars()
        .all()
    )
    assert list(history) == ["ordered", "published", "claimed", "done", "rated"]


def test_star_ranking(db_session: Session) -> None:
    rows = _community_with_member(db_session)
    a, b = rows[0], rows[1]
    sec_a = viewer("community_secretary", a.community_code)
    sec_b = viewer("community_secretary", b.community_code)
    mem_a = linked_member(db_session, "member_a", a)
    mem_b = linked_member(db_session, "member_b", b) if b.member_id != a.member_id else mem_a
    t0 = datetime(2031, 5, 1, 9, tzinfo=CST)

    def order(sec: Any, mem: Any, row: Any, stars: int, when: datetime) -> None:
        o = so.create_order(
            db_session,
            sec,
            service_type="维修",
            description="修水龙头",
            requester_name="张三",
            requester_phone=None,
            community_code=row.community_code,
            lon=None,
            lat=None,
            now=when,
        )
        so.step_order(db_session, sec, o["id"], "published", now=when)
        so.step_order(db_session, mem, o["id"], "claimed", member_id=row.member_id, now=when)
        so.step_order(db_session, mem, o["id"], "done", now=when + timedelta(hours=5))
        so.step_order(
            db_session, sec, o["id"], "rated", rating=stars, now=when + timedelta(hours=6)
        )

    order(sec_a, mem_a, a, 5, t0)
    order(sec_a, mem_a, a, 3, t0 + timedelta(days=1))  # a: 8 stars, 2 orders
    order(sec_b, mem_b, b, 5, t0)
    order(sec_b, mem_b, b, 4, t0 + timedelta(days=2))  # b: 9 stars, 2 orders
    order(sec_a, mem_a, a, 5, datetime(2032, 1, 2, tzinfo=CST))  # next year: not counted
    ranking = so.star_ranking(db_session, viewer("admin", "620881").with_purpose("评选"), 2031)
    if a.member_id == b.member_id:
        return
    assert [(r["member_id"], r["stars"], r["orders"]) for r in ranking[:2]] == [
        (b.member_id, 9, 2),
        (a.member_id, 8, 2),
    ]
    assert ranking[0]["mean_rating"] == 4.5 and ranking[0]["rank"] == 1
    assert ranking[0]["name"] == b.name
