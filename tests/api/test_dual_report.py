"""/api/v1/dual-report and the 双报到 steps of service orders: a community's need claimed by a
member or assigned to a unit by letter, finished with hours, rated twice; rankings, statistics,
scoping, masking with its audit row, and bad input refused with nothing written."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.masking import mask_name
from gis.orglife.meetings import local_today
from tests.api.incident_helpers import ClientFor, client_for, viewer
from tests.api.security_helpers import add_account

__all__ = ["client_for"]
NEEDS = "/api/v1/dual-report/needs"


def _reported_member(session: Session) -> Any:
    """An in-service member reported to a community, with his name."""
    return session.execute(
        text(
            "SELECT m.id, r.id AS resident_id, r.name, c.code AS community"
            " FROM party_member m JOIN resident r ON r.id = m.resident_id"
            " JOIN area c ON c.id = m.registered_community_id"
            " WHERE m.in_service ORDER BY m.id LIMIT 1"
        )
    ).one()


def _count(session: Session, table: str) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _need(client: Any, community: str, **extra: Any) -> Any:
    body = {
        "community_code": community,
        "origin": "need",
        "title": "独居老人探访",
        "service_type": "养老照护",
        "description": "每周探访一次独居老人",
        **extra,
    }
    return client.post(NEEDS, json=body)


def _step(client: Any, oid: int, **body: Any) -> Any:
    return client.post(f"/api/v1/service-orders/{oid}/transitions", json=body)


def test_a_member_claims_a_need_finishes_it_and_is_rated(
    db_session: Session, client_for: ClientFor
) -> None:
    m = _reported_member(db_session)
    secretary = client_for(viewer("community_secretary", m.community))
    # A party member's account acts as its linked member record (a claim is always his own).
    linked = add_account(db_session, "dual_member", "party_member", m.community)
    db_session.execute(
        text("UPDATE app_user SET member_id = NULL WHERE member_id = :m"), {"m": m.id}
    )
    db_session.execute(
        text("UPDATE app_user SET member_id = :m WHERE username = 'dual_member'"), {"m": m.id}
    )
    member = client_for(linked)
    created = _need(secretary, m.community)
    assert created.status_code == 201, created.text
    need = created.json()
    assert (need["status"], need["origin"], need["title"]) == ("published", "need", "独居老人探访")
    open_needs = member.get(
        "/api/v1/service-orders",
        params={"community": m.community, "origin": "need", "status": "published"},
    ).json()
    assert need["id"] in [o["id"] for o in open_needs]
    assert _step(member, need["id"], to="claimed", member_id=m.id).status_code == 200
    no_hours = _step(member, need["id"], to="done")
    assert no_hours.status_code == 400 and "hours" in no_hours.json()["detail"]
    assert (
        db_session.execute(
            text("SELECT status FROM service_order WHERE id = :i"), {"i": need["id"]}
        ).scalar_one()
        == "claimed"
    )
    assert _step(member, need["id"], to="done", hours=2.5).status_code == 200
    one_rating = _step(secretary, need["id"], to="rated", rating=5)
    assert one_rating.status_code == 400 and "community_rating" in one_rating.json()["detail"]
    rated = _step(secretary, need["id"], to="rated", rating=5, community_rating=4)
    assert rated.status_code == 200, rated.text
    row = db_session.execute(
        text("SELECT status, hours, rating, community_rating FROM service_order WHERE id = :i"),
        {"i": need["id"]},
    ).one()
    assert (row.status, float(row.hours), row.rating, row.community_rating) == ("rated", 2.5, 5, 4)
    year = local_today().year
    # The ranking's stars for this member: every rated order of his this year, counted here.
    expected = db_session.execute(
        text(
            "SELECT sum(rating + coalesce(community_rating, 0)), coalesce(sum(hours), 0)"
            " FROM service_order WHERE member_id = :m AND status = 'rated'"
            " AND rated_at >= make_timestamptz(:y, 1, 1, 0, 0, 0, 'Asia/Shanghai')"
        ),
        {"m": m.id, "y": year},
    ).one()
    ranking = secretary.get(
        "/api/v1/dual-report/ranking", params={"year": year, "limit": 100}
    ).json()
    mine = next(r for r in ranking if r["id"] == m.id)
    assert mine["stars"] == int(expected[0]) and mine["hours"] == float(expected[1])
    assert mine["name"] == mask_name(m.name)  # no purpose: masked even for the secretary
    stars = [r["stars"] for r in ranking]
    assert stars == sorted(stars, reverse=True)


def test_a_need_assigned_to_a_unit_by_letter(db_session: Session, client_for: ClientFor) -> None:
    unit = db_session.execute(
        text(
            "SELECT u.id, u.code, c.code AS community FROM regional_unit u"
            " JOIN area c ON c.id = u.registered_community_id ORDER BY u.code LIMIT 1"
        )
    ).one()
    secretary = client_for(viewer("community_secretary", unit.community))
    member = client_for(viewer("party_member", unit.community))
    need = _need(secretary, unit.community, title="楼道照明维修", service_type="维修").json()
    assigned = _step(secretary, need["id"], to="claimed", action="assign", unit_id=unit.id)
    assert assigned.status_code == 200, assigned.text
    body = assigned.json()
    assert body["unit"]["code"] == unit.code and body["letter_code"].startswith("HZ")
    refused = _step(member, need["id"], to="done", hours=3)
    assert refused.status_code == 403
    assert _step(secretary, need["id"], to="done", action="unit_done", hours=6).status_code == 200
    assert _step(secretary, need["id"], to="rated", rating=4, community_rating=5).status_code == 200
    stored = db_session.execute(
        text("SELECT unit_id, letter_code, hours FROM service_order WHERE id = :i"),
        {"i": need["id"]},
    ).one()
    assert (stored.unit_id, stored.letter_code, float(stored.hours)) == (
        unit.id,
        body["letter_code"],
        6.0,
    )
    units = secretary.get(
        "/api/v1/dual-report/ranking",
        params={"year": local_today().year, "doer": "unit", "limit": 100},
    ).json()
    assert any(r["code"] == unit.code and r["stars"] >= 9 for r in units)
    lists = secretary.get(f"/api/v1/regional/communities/{unit.community}/lists").json()
    assert any(p["letter_code"] == body["letter_code"] for p in lists["projects"])
    # A letter is sent once: its number cannot be reused for another need.
    second = _need(secretary, unit.community, title="助老服务").json()
    reused = _step(
        secretary,
        second["id"],
        to="claimed",
        action="assign",
        unit_id=unit.id,
        letter_code=body["letter_code"],
    )
    assert reused.status_code == 409
    assert db_session.execute(
        text("SELECT status, unit_id FROM service_order WHERE id = :i"), {"i": second["id"]}
    ).one() == ("published", None)


def test_bad_input_is_refused_and_nothing_is_written(
    db_session: Session, client_for: ClientFor
) -> None:
    m = _reported_member(db_session)
    secretary = client_for(viewer("community_secretary", m.community))
    before = _count(db_session, "service_order")
    for bad in ({"title": "   "}, {"origin": "order"}, {"service_type": "x"}):
        answer = _need(secretary, m.community, **bad)
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"].startswith("application/problem+json")
    other = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL"
            " AND code <> :c ORDER BY code LIMIT 1"
        ),
        {"c": m.community},
    ).scalar_one()
    assert _need(secretary, other).status_code == 403
    assert _need(client_for(viewer("party_member", m.community)), m.community).status_code == 403
    assert _count(db_session, "service_order") == before
    # A unit neither reporting to nor building with the community cannot be assigned.
    stranger = db_session.execute(
        text(
            "SELECT u.id FROM regional_unit u WHERE u.registered_community_id IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM joint_agreement ja WHERE ja.unit_id = u.id)"
            " ORDER BY u.id LIMIT 1"
        )
    ).scalar_one()
    need = _need(secretary, m.community).json()
    refused = _step(secretary, need["id"], to="claimed", action="assign", unit_id=stranger)
    assert refused.status_code == 400 and "共建协议" in refused.json()["detail"]
    assert db_session.execute(
        text("SELECT status, unit_id FROM service_order WHERE id = :i"), {"i": need["id"]}
    ).one() == ("published", None)
    # Registration: only an in-service member, never dated in the future.
    idle = db_session.execute(
        text("SELECT id, registered_community_id FROM party_member WHERE NOT in_service LIMIT 1")
    ).one()
    reg = f"/api/v1/dual-report/members/{idle.id}/registration"
    today = local_today()
    answer = secretary.post(reg, json={"community_code": m.community, "registered_on": str(today)})
    assert answer.status_code == 400 and "在职党员" in answer.json()["detail"]
    future = str(today + datetime.timedelta(days=3))
    reg_m = f"/api/v1/dual-report/members/{m.id}/registration"
    assert (
        secretary.post(reg_m, json={"community_code": m.community, "registered_on": future})
    ).status_code == 400
    assert (
        db_session.execute(
            text("SELECT registered_community_id FROM party_member WHERE id = :i"), {"i": idle.id}
        ).scalar_one()
        == idle.registered_community_id
    )


def test_registration_of_a_member_and_a_unit(db_session: Session, client_for: ClientFor) -> None:
    row = db_session.execute(
        text(
            "SELECT m.id, g.parent_id, c.code AS community FROM party_member m"
            " JOIN resident r ON r.id = m.resident_id JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " JOIN area c ON c.id = g.parent_id"
            " WHERE m.in_service AND m.registered_community_id IS NULL ORDER BY m.id LIMIT 1"
        )
    ).one_or_none()
    target = row or _reported_member(db_session)
    community = target.community
    secretary = client_for(viewer("community_secretary", community))
    day = str(local_today() - datetime.timedelta(days=1))
    answer = secretary.post(
        f"/api/v1/dual-report/members/{target.id}/registration",
        json={"community_code": community, "registered_on": day},
    )
    assert answer.status_code == 200, answer.text
    stored = db_session.execute(
        text(
            "SELECT c.code, m.registered_on FROM party_member m"
            " JOIN area c ON c.id = m.registered_community_id WHERE m.id = :i"
        ),
        {"i": target.id},
    ).one()
    assert (stored[0], str(stored[1])) == (community, day)
    unit = db_session.execute(
        text(
            "SELECT code FROM regional_unit WHERE party_org_name IS NOT NULL"
            " AND registered_community_id IS NULL ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    answer = secretary.post(
        f"/api/v1/dual-report/units/{unit}/registration",
        json={"community_code": community, "registered_on": day},
    )
    assert answer.status_code == 200, answer.text
    stats = secretary.get("/api/v1/dual-report/statistics", params={"within": community}).json()
    (mine,) = stats["communities"]
    counted = db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM party_member m JOIN area c"
            " ON c.id = m.registered_community_id WHERE c.code = :c),"
            " (SELECT count(*) FROM regional_unit u JOIN area c"
            " ON c.id = u.registered_community_id WHERE c.code = :c)"
        ),
        {"c": community},
    ).one()
    assert (mine["reported_members"], mine["reported_units"]) == tuple(counted)
    assert unit in [
        u["code"]
        for u in secretary.get(f"/api/v1/dual-report/communities/{community}/reported").json()[
            "units"
        ]
    ]


def test_reported_members_are_masked_unless_a_purpose_is_stated_and_then_audited(
    db_session: Session, client_for: ClientFor
) -> None:
    m = _reported_member(db_session)
    secretary = client_for(viewer("community_secretary", m.community))
    url = f"/api/v1/dual-report/communities/{m.community}/reported"
    masked = secretary.get(url).json()
    names = {r["id"]: r["name"] for r in masked["members"]}
    assert masked["masked"] and names[m.id] == mask_name(m.name)
    assert _count(db_session, "audit_log WHERE action = 'read.unmasked'") == 0
    shown = secretary.get(url, params={"purpose": "双报到考核"}).json()
    assert {r["id"]: r["name"] for r in shown["members"]}[m.id] == m.name
    audit = db_session.execute(
        text(
            "SELECT purpose, subjects FROM audit_log WHERE action = 'read.unmasked' AND target = :t"
        ),
        {"t": f"dual_reported:{m.community}"},
    ).one()
    assert audit.purpose == "双报到考核" and f"resident:{m.resident_id}" in audit.subjects


def test_scoping_of_statistics_and_lists(db_session: Session, client_for: ClientFor) -> None:
    m = _reported_member(db_session)
    other = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL"
            " AND code <> :c ORDER BY code LIMIT 1"
        ),
        {"c": m.community},
    ).scalar_one()
    secretary = client_for(viewer("community_secretary", m.community))
    for url in (
        f"/api/v1/dual-report/communities/{other}/reported",
        f"/api/v1/regional/communities/{other}/lists",
        f"/api/v1/regional/areas/{other}/panel",
    ):
        assert secretary.get(url).status_code == 403, url
    assert (
        secretary.get("/api/v1/dual-report/statistics", params={"within": other}).status_code == 403
    )
    worker = client_for(viewer("grid_worker", m.community + "001"))
    assert worker.get("/api/v1/dual-report/statistics").status_code == 403
    from gis.scope import ANONYMOUS

    assert client_for(ANONYMOUS).get("/api/v1/dual-report/statistics").status_code == 401
    district = client_for(viewer("district_secretary", m.community[:6]))
    stats = district.get("/api/v1/dual-report/statistics").json()
    assert len(stats["communities"]) == _count(
        db_session, "area WHERE level = 'community' AND valid_to IS NULL"
    )
