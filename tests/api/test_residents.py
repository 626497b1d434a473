"""/api/v1 serving residents: notices and receipts, services, volunteers and points, care —
who may do what, in which area, masking and audit, and bad input refused with nothing written."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import create_resident_account
from gis.incidents.deadlines import load_calendar
from gis.masking import mask_name, surname_only
from gis.residents import links
from tests.api.security_helpers import PASSWORD, add_account, token_for

API = "/api/v1"


@dataclass(frozen=True)
class Place:
    """A resident of a grid with residents, his community and street, and a stranger elsewhere."""

    resident_id: int
    name: str
    grid: str
    community: str
    street: str
    other_community: str


@pytest.fixture
def place(db_session: Session) -> Place:
    row = db_session.execute(
        text(
            "SELECT r.id, r.name, g.code FROM resident r JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " WHERE r.birth_year < 2000 ORDER BY g.code, r.id LIMIT 1"
        )
    ).one()
    other = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL"
            " AND code <> :c ORDER BY code DESC LIMIT 1"
        ),
        {"c": row.code[:12]},
    ).scalar_one()
    return Place(row.id, row.name, row.code, row.code[:12], row.code[:9] + "000", other)


def staff(session: Session, username: str, role: str, scope: str) -> dict[str, str]:
    add_account(session, username, role, scope)
    return {"Authorization": f"Bearer {token_for(session, username)}"}


def link(resident_id: int) -> str:
    return links.token(resident_id, datetime.datetime.now(datetime.UTC))


def count(session: Session, table: str) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def audit_rows(session: Session, target: str) -> list[Any]:
    return session.execute(
        text("SELECT action, subjects, purpose FROM audit_log WHERE target = :t ORDER BY id"),
        {"t": target},
    ).all()


# --- notices -----------------------------------------------------------------------------------


def test_a_notice_reaches_the_resident_who_confirms_it_and_staff_see_the_receipt(
    client: TestClient, db_session: Session, place: Place
) -> None:
    secretary = staff(db_session, "sec", "community_secretary", place.community)
    body = {"title": "停水通知", "body": "周三9点至12点停水。", "category": "general"}
    created = client.post(
        f"{API}/notices", json={**body, "area_code": place.community}, headers=secretary
    )
    assert created.status_code == 201, created.text
    notice = created.json()
    assert notice["households"] > 0 and notice["households_read"] == 0
    assert notice["published_by"] == "sec"

    credential = link(place.resident_id)
    mine = client.get(f"{API}/resident-link/{credential}").json()
    assert notice["id"] in [n["id"] for n in mine["notices"]]
    assert mine["resident"]["name"] == mask_name(place.name)
    read = client.post(f"{API}/resident-link/{credential}/notices/{notice['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"]
    again = client.post(f"{API}/resident-link/{credential}/notices/{notice['id']}/read")
    assert again.json()["read_at"] == read.json()["read_at"]
    stored = db_session.execute(
        text("SELECT via FROM notice_receipt WHERE notice_id = :n AND resident_id = :r"),
        {"n": notice["id"], "r": place.resident_id},
    ).scalar_one()
    assert stored == "link"

    masked = client.get(f"{API}/notices/{notice['id']}", headers=secretary).json()
    assert masked["households_read"] == 1
    assert [r["name"] for r in masked["read_by"]] == [mask_name(place.name)]
    assert audit_rows(db_session, f"notice:{notice['id']}") == []
    exact = client.get(
        f"{API}/notices/{notice['id']}", params={"purpose": "核对回执"}, headers=secretary
    ).json()
    assert [r["name"] for r in exact["read_by"]] == [place.name]
    (row,) = audit_rows(db_session, f"notice:{notice['id']}")
    assert row.action == "read.unmasked" and row.purpose == "核对回执"
    assert row.subjects == [f"resident:{place.resident_id}"]

    board = client.get(f"{API}/communities/{place.community}/notices").json()
    assert notice["id"] in [n["id"] for n in board["items"]]
    withdrawn = client.post(f"{API}/notices/{notice['id']}/withdraw", headers=secretary)
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    board = client.get(f"{API}/communities/{place.community}/notices").json()
    assert notice["id"] not in [n["id"] for n in board["items"]]


def test_a_resident_account_reads_and_confirms_as_its_own_resident(
    client: TestClient, db_session: Session, place: Place
) -> None:
    secretary = staff(db_session, "sec", "community_secretary", place.community)
    notice = client.post(
        f"{API}/notices",
        json={"title": "燃气检修", "body": "周五入户检修燃气。", "area_code": place.community},
        headers=secretary,
    ).json()
    household = db_session.execute(
        text(
            "SELECT h.code FROM resident r JOIN household h ON h.id = r.household_id"
            " WHERE r.id = :r"
        ),
        {"r": place.resident_id},
    ).scalar_one()
    create_resident_account(
        db_session, "own_account", PASSWORD, household, resident_id=place.resident_id
    )
    create_resident_account(db_session, "household_only", PASSWORD, household)
    db_session.flush()
    own = {"Authorization": f"Bearer {token_for(db_session, 'own_account')}"}

    mine = client.get(f"{API}/resident-self", headers=own)
    assert mine.status_code == 200, mine.text
    assert notice["id"] in [n["id"] for n in mine.json()["notices"]]
    assert mine.json()["resident"]["name"] == mask_name(place.name)
    read = client.post(f"{API}/resident-self/notices/{notice['id']}/read", headers=own)
    assert read.status_code == 200 and read.json()["read_at"]
    stored = db_session.execute(
        text("SELECT resident_id, via FROM notice_receipt WHERE notice_id = :n"),
        {"n": notice["id"]},
    ).all()
    assert [tuple(r) for r in stored] == [(place.resident_id, "account")]
    applied = client.post(
        f"{API}/resident-self/applications", json={"service_code": "senior_card"}, headers=own
    )
    assert applied.status_code == 201, applied.text
    assert (
        db_session.execute(
            text("SELECT resident_id FROM service_application WHERE id = :a"),
            {"a": applied.json()["id"]},
        ).scalar_one()
        == place.resident_id
    )

    # Only a resident's account tied to a person acts here; nothing is written otherwise.
    receipts = count(db_session, "notice_receipt")
    household_only = {"Authorization": f"Bearer {token_for(db_session, 'household_only')}"}
    refused = client.post(
        f"{API}/resident-self/notices/{notice['id']}/read", headers=household_only
    )
    assert refused.status_code == 403 and "names no person" in refused.json()["detail"]
    staff_try = client.get(f"{API}/resident-self", headers=secretary)
    assert staff_try.status_code == 403 and "resident's own account" in staff_try.json()["detail"]
    assert client.get(f"{API}/resident-self").status_code == 401
    assert count(db_session, "notice_receipt") == receipts


def test_a_group_notice_reaches_only_the_group_and_is_never_on_the_board(
    client: TestClient, db_session: Session, place: Place
) -> None:
    secretary = staff(db_session, "sec", "community_secretary", place.community)
    db_session.execute(
        text("UPDATE resident SET special_groups = '{}' WHERE id = :r"), {"r": place.resident_id}
    )
    member = db_session.execute(
        text(
            "SELECT r.id FROM resident r JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " WHERE g.code LIKE :c AND r.household_id <> (SELECT household_id FROM resident"
            " WHERE id = :r) ORDER BY r.id LIMIT 1"
        ),
        {"c": place.community + "%", "r": place.resident_id},
    ).scalar_one()
    db_session.execute(
        text("UPDATE resident SET special_groups = '{veteran}' WHERE id = :r"), {"r": member}
    )
    notice = client.post(
        f"{API}/notices",
        json={
            "title": "退役军人座谈会",
            "body": "周五下午座谈。",
            "area_code": place.community,
            "special_group": "veteran",
        },
        headers=secretary,
    ).json()
    ids = [n["id"] for n in client.get(f"{API}/resident-link/{link(member)}").json()["notices"]]
    assert notice["id"] in ids
    mine = client.get(f"{API}/resident-link/{link(place.resident_id)}").json()["notices"]
    assert notice["id"] not in [n["id"] for n in mine]
    refused = client.post(
        f"{API}/resident-link/{link(place.resident_id)}/notices/{notice['id']}/read"
    )
    assert refused.status_code == 404
    board = client.get(f"{API}/communities/{place.community}/notices").json()
    assert notice["id"] not in [n["id"] for n in board["items"]]


@pytest.mark.parametrize(
    ("role", "area", "change", "status"),
    [
        ("community_secretary", "other", {}, 403),  # another community
        ("grid_worker", "grid", {}, 403),  # not a publisher
        ("community_secretary", "community", {"category": "gossip"}, 422),
        ("community_secretary", "community", {"title": ""}, 422),
        ("community_secretary", "community", {"area_code": "620881"}, 422),  # a district
        ("community_secretary", "community", {"expires_on": "2020-01-01"}, 400),
    ],
)
def test_publishing_refuses_bad_notices_and_writes_nothing(
    client: TestClient,
    db_session: Session,
    place: Place,
    role: str,
    area: str,
    change: dict[str, Any],
    status: int,
) -> None:
    scope = place.grid if role == "grid_worker" else place.community
    headers = staff(db_session, "who", role, scope)
    target = {"other": place.other_community, "grid": place.grid}.get(area, place.community)
    before = count(db_session, "notice")
    response = client.post(
        f"{API}/notices",
        json={"title": "通知", "body": "内容", "area_code": target, **change},
        headers=headers,
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert count(db_session, "notice") == before


def test_links_are_signed_audited_and_expire(
    client: TestClient, db_session: Session, place: Place
) -> None:
    worker = staff(db_session, "worker", "grid_worker", place.grid)
    issued = client.post(f"{API}/residents/{place.resident_id}/link", headers=worker)
    assert issued.status_code == 201
    assert issued.json()["path"] == f"/r/{issued.json()['token']}"
    (row,) = audit_rows(db_session, f"resident:{place.resident_id}")
    assert row.action == links.ISSUE_ACTION
    assert client.get(f"{API}/resident-link/{issued.json()['token']}").status_code == 200
    outsider = staff(db_session, "outsider", "community_secretary", place.other_community)
    assert (
        client.post(f"{API}/residents/{place.resident_id}/link", headers=outsider).status_code
        == 403
    )
    forged = issued.json()["token"][:-2] + (
        "AA" if not issued.json()["token"].endswith("AA") else "BB"
    )
    assert client.get(f"{API}/resident-link/{forged}").status_code == 404
    old = links.token(place.resident_id, datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    assert client.get(f"{API}/resident-link/{old}").status_code == 403


# --- services ----------------------------------------------------------------------------------


def test_an_application_is_due_in_working_days_and_handled_by_the_community(
    client: TestClient, db_session: Session, place: Place
) -> None:
    credential = link(place.resident_id)
    catalogue = client.get(f"{API}/resident-services").json()["items"]
    senior = next(s for s in catalogue if s["code"] == "senior_card")
    assert "居民身份证" in senior["materials"]
    applied = client.post(
        f"{API}/resident-link/{credential}/applications",
        json={"service_code": "senior_card", "note": "办理公交优惠"},
    )
    assert applied.status_code == 201, applied.text
    app = applied.json()
    submitted = datetime.datetime.fromisoformat(app["submitted_at"])
    expected = load_calendar(db_session).add_working_days(submitted, senior["working_days"])
    assert datetime.datetime.fromisoformat(app["due_at"]) == expected
    assert [s["status"] for s in app["steps"]] == ["submitted"]
    twice = client.post(
        f"{API}/resident-link/{credential}/applications", json={"service_code": "senior_card"}
    )
    assert twice.status_code == 409

    clerk = staff(db_session, "clerk", "community_secretary", place.community)
    listed = client.get(f"{API}/service-applications", headers=clerk).json()
    mine = next(a for a in listed["items"] if a["id"] == app["id"])
    assert mine["applicant"]["name"] == mask_name(place.name) and mine["applicant"]["masked"]

    worker = staff(db_session, "worker", "grid_worker", place.grid)
    step = f"{API}/service-applications/{app['id']}/transitions"
    assert client.post(step, json={"action": "accept"}, headers=worker).status_code == 403
    outsider = staff(db_session, "outsider", "community_secretary", place.other_community)
    assert client.post(step, json={"action": "accept"}, headers=outsider).status_code == 404
    no_reason = client.post(step, json={"action": "reject"}, headers=clerk)
    assert no_reason.status_code == 400 and no_reason.json()["parameter"] == "note"
    assert client.post(step, json={"action": "accept"}, headers=clerk).status_code == 200
    assert client.post(step, json={"action": "accept"}, headers=clerk).status_code == 409
    done = client.post(step, json={"action": "complete", "note": "请到窗口领取"}, headers=clerk)
    assert done.status_code == 200
    assert done.json()["status"] == "completed" and done.json()["result"] == "请到窗口领取"
    steps = client.get(f"{API}/resident-link/{credential}").json()["applications"][0]["steps"]
    assert [s["status"] for s in steps] == ["submitted", "accepted", "completed"]
    assert steps[0]["by"] == "resident" and steps[1]["by"] == "clerk"
    detail = client.get(
        f"{API}/service-applications/{app['id']}", params={"purpose": "办理"}, headers=clerk
    ).json()
    assert detail["applicant"]["name"] == place.name
    assert audit_rows(db_session, f"service_application:{app['id']}")[0].purpose == "办理"


def test_an_unknown_service_is_refused_with_the_catalogue(
    client: TestClient, db_session: Session, place: Place
) -> None:
    before = count(db_session, "service_application")
    response = client.post(
        f"{API}/resident-link/{link(place.resident_id)}/applications",
        json={"service_code": "moon_visa"},
    )
    assert response.status_code == 400
    assert "residence_certificate" in response.json()["detail"]
    assert count(db_session, "service_application") == before


# --- volunteers and points ---------------------------------------------------------------------


def _activity(client: TestClient, headers: dict[str, str], team_id: int, **change: Any) -> Any:
    now = datetime.datetime.now(datetime.UTC)
    body = {
        "team_id": team_id,
        "title": "楼道清理",
        "place": "3号楼",
        "starts_at": (now - datetime.timedelta(minutes=10)).isoformat(),
        "ends_at": (now + datetime.timedelta(hours=2)).isoformat(),
        "capacity": 5,
        "hours": "2.0",
        **change,
    }
    return client.post(f"{API}/volunteer/activities", json=body, headers=headers)


def test_a_volunteer_signs_up_checks_in_earns_and_redeems(
    client: TestClient, db_session: Session, place: Place
) -> None:
    organiser = staff(db_session, "organiser", "community_secretary", place.community)
    team = client.post(
        f"{API}/volunteer/teams",
        json={"community_code": place.community, "name": "测试志愿队"},
        headers=organiser,
    ).json()
    created = _activity(client, organiser, team["id"])
    assert created.status_code == 201, created.text
    activity = created.json()
    assert activity["points"] == 20 and len(activity["checkin_code"]) == 6
    public = client.get(f"{API}/volunteer/activities", params={"within": place.community}).json()
    assert all("checkin_code" not in a for a in public["items"])

    credential = link(place.resident_id)
    before = client.get(f"{API}/resident-link/{credential}").json()["points"]["balance"]
    base = f"{API}/resident-link/{credential}/activities/{activity['id']}"
    assert (
        client.post(f"{base}/checkin", json={"code": activity["checkin_code"]}).status_code == 409
    )
    assert client.post(f"{base}/signup").status_code == 200
    wrong = "000000" if activity["checkin_code"] != "000000" else "111111"
    assert client.post(f"{base}/checkin", json={"code": wrong}).status_code == 400
    checked = client.post(f"{base}/checkin", json={"code": activity["checkin_code"]})
    assert checked.status_code == 200 and checked.json()["checked_in_at"]

    done = client.post(f"{API}/volunteer/activities/{activity['id']}/complete", headers=organiser)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["volunteers"][0]["checked_in_at"]
    again = client.post(f"{API}/volunteer/activities/{activity['id']}/complete", headers=organiser)
    assert again.status_code == 409
    earned = db_session.execute(
        text(
            "SELECT delta, hours, balance_after FROM points_ledger WHERE activity_id = :a"
            " AND resident_id = :r AND kind = 'earn'"
        ),
        {"a": activity["id"], "r": place.resident_id},
    ).one()
    assert (earned.delta, float(earned.hours), earned.balance_after) == (20, 2.0, before + 20)

    reward = client.post(
        f"{API}/points/rewards",
        json={
            "community_code": place.community,
            "name": "测试奖品",
            "points": before + 15,
            "stock": 1,
        },
        headers=organiser,
    ).json()
    redeemed = client.post(
        f"{API}/resident-link/{credential}/redemptions", json={"reward_id": reward["id"]}
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["balance"] == 5
    assert redeemed.json()["ledger"][0]["delta"] == -(before + 15)
    ledger_rows = count(db_session, "points_ledger")
    broke = client.post(
        f"{API}/points/rewards",
        json={"community_code": place.community, "name": "大奖", "points": 6},
        headers=organiser,
    ).json()
    refused = client.post(
        f"{API}/resident-link/{credential}/redemptions", json={"reward_id": broke["id"]}
    )
    assert refused.status_code == 409 and "you have 5" in refused.json()["detail"]
    assert count(db_session, "points_ledger") == ledger_rows
    assert (
        client.post(
            f"{API}/resident-link/{credential}/redemptions", json={"reward_id": reward["id"]}
        ).status_code
        == 409
    )  # out of stock

    ranking = client.get(f"{API}/communities/{place.community}/volunteer-ranking").json()
    names = [i["name"] for i in ranking["items"]]
    assert surname_only(place.name) in names and place.name not in names


def test_activity_input_is_checked_and_nothing_written(
    client: TestClient, db_session: Session, place: Place
) -> None:
    organiser = staff(db_session, "organiser", "community_secretary", place.community)
    team_id = db_session.execute(
        text("SELECT id FROM volunteer_team WHERE community_code = :c LIMIT 1"),
        {"c": place.community},
    ).scalar_one()
    other_team = db_session.execute(
        text("SELECT id FROM volunteer_team WHERE community_code = :c LIMIT 1"),
        {"c": place.other_community},
    ).scalar_one()
    before = count(db_session, "volunteer_activity")
    now = datetime.datetime.now(datetime.UTC)
    assert (
        _activity(
            client,
            organiser,
            team_id,
            ends_at=now.isoformat(),
            starts_at=(now + datetime.timedelta(hours=1)).isoformat(),
        ).status_code
        == 400
    )
    assert _activity(client, organiser, team_id, hours="0.3").status_code == 422
    assert _activity(client, organiser, other_team).status_code == 403
    party_member = staff(db_session, "pmember", "party_member", place.community)
    assert _activity(client, party_member, team_id).status_code == 403
    assert count(db_session, "volunteer_activity") == before


def test_the_ledger_is_append_only_and_never_negative_in_the_database(
    db_session: Session, place: Place
) -> None:
    from sqlalchemy.exc import DBAPIError, IntegrityError

    with pytest.raises(IntegrityError, match="balance_after"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO points_ledger (resident_id, community_code, kind, delta, reward_id,"
                " balance_after, recorded_by) VALUES (:r, :c, 'redeem', -100000, 1, 999999, 't')"
            ),
            {"r": place.resident_id, "c": place.community},
        )
    row = db_session.execute(
        text(
            "INSERT INTO points_ledger (resident_id, community_code, kind, delta, balance_after,"
            " recorded_by) VALUES (:r, :c, 'adjust', 7, 0, 't') RETURNING id, balance_after"
        ),
        {"r": 10**12, "c": place.community},
    ).one()
    assert row.balance_after == 7  # computed by the trigger, whatever the writer said
    for statement in (
        "UPDATE points_ledger SET delta = 1000 WHERE id = :id",
        "DELETE FROM points_ledger WHERE id = :id",
    ):
        refused = pytest.raises(DBAPIError, match=r"permission denied|append-only")
        with refused, db_session.begin_nested():
            db_session.execute(text(statement), {"id": row.id})


# --- care --------------------------------------------------------------------------------------


def test_care_marks_unvisited_group_households_overdue_until_a_field_visit(
    client: TestClient, db_session: Session, place: Place
) -> None:
    household = db_session.execute(
        text(
            "UPDATE resident SET special_groups = '{elderly_alone}' WHERE id = :r"
            " RETURNING household_id"
        ),
        {"r": place.resident_id},
    ).scalar_one()
    code = db_session.execute(
        text("SELECT code FROM household WHERE id = :h"), {"h": household}
    ).scalar_one()
    db_session.execute(
        text("DELETE FROM household_visit WHERE household_id = :h"), {"h": household}
    )
    worker = staff(db_session, "worker", "grid_worker", place.grid)
    found = client.get(f"{API}/care/visits", headers=worker).json()
    mine = next(h for h in found["items"] if h["household"] == code)
    assert (mine["state"], mine["interval_days"], mine["last_visit"]) == ("overdue", 7, None)
    assert found["totals"]["overdue"] >= 1
    assert {p["key"]: p["interval_days"] for p in found["plan"]}["elderly_alone"] == 7
    db_session.execute(
        text(
            "INSERT INTO household_visit (user_id, worker, building_id, household_id, grid_code,"
            " visited_at, purpose) SELECT u.id, 'worker', h.building_id, h.id, :g, now(),"
            " '关爱走访'"
            " FROM household h, app_user u WHERE h.id = :h AND u.username = 'worker'"
        ),
        {"h": household, "g": place.grid},
    )
    found = client.get(f"{API}/care/visits", headers=worker).json()
    mine = next(h for h in found["items"] if h["household"] == code)
    assert mine["state"] == "ok" and mine["visits"] == 1
    planner = staff(db_session, "planner1", "planner", place.grid)
    assert client.get(f"{API}/care/visits", headers=planner).status_code == 403
    assert (
        client.get(f"{API}/care/visits", params={"state": "late"}, headers=worker).status_code
        == 422
    )
