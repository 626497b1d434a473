"""/api/v1/party: the member register — the chain's rules in the database, scoping, masking
and audit, 组织关系转接 with history, 流动党员, care, learning, member accounts as themselves."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis.masking import mask_name
from gis.orglife.meetings import local_today
from gis.party import vocabulary as v
from gis.queries.households import subtree_prefix
from tests.api.security_helpers import add_account, token_for

MEMBERS = "/api/v1/party/members"
YESTERDAY = (local_today() - datetime.timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class Case:
    """A member of a grid branch with a 党小组 whose community has a second grid branch."""

    member_id: int
    resident_id: int
    name: str
    grid: str
    community: str
    branch_id: int
    branch_code: str
    other_branch: str
    other_group: str | None


def pick(session: Session) -> Case:
    row = session.execute(
        text(
            """
            SELECT m.id, r.id AS resident_id, r.name, g.code AS grid, br.id AS branch_id,
                   br.code AS branch_code, ba.code AS branch_area, o.code AS other_branch,
                   (SELECT x.code FROM party_org x WHERE x.parent_id = o.id
                     AND x.org_type = '党小组' ORDER BY x.code LIMIT 1) AS other_group
            FROM party_member m
            JOIN resident r ON r.id = m.resident_id
            JOIN household h ON h.id = r.household_id
            JOIN building b ON b.id = h.building_id
            JOIN area g ON g.id = b.grid_id
            JOIN party_org br ON br.id = m.org_id AND br.level = 'grid'
            JOIN area ba ON ba.id = br.area_id AND ba.code = g.code
            JOIN party_org o ON o.level = 'grid' AND o.parent_id = br.parent_id AND o.id <> br.id
            WHERE m.group_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM party_member_away a WHERE a.member_id = m.id)
              AND NOT EXISTS (SELECT 1 FROM party_central_household c WHERE c.member_id = m.id)
            ORDER BY m.id LIMIT 1
            """
        )
    ).one()
    return Case(
        row.id,
        row.resident_id,
        row.name,
        row.grid,
        row.grid[:12],
        row.branch_id,
        row.branch_code,
        row.other_branch,
        row.other_group,
    )


@pytest.fixture
def case(db_session: Session) -> Case:
    return pick(db_session)


def headers(session: Session, username: str, role: str, scope: str) -> dict[str, str]:
    add_account(session, username, role, scope)
    return {"Authorization": f"Bearer {token_for(session, username)}"}


@pytest.fixture
def secretary(db_session: Session, case: Case) -> dict[str, str]:
    return headers(db_session, "csec", "community_secretary", case.community)


def history_count(session: Session) -> dict[str, int]:
    return {
        t: int(session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
        for t in (
            "party_member_transfer",
            "party_member_away",
            "party_care_record",
            "party_learning_record",
            "party_member",
            "audit_log",
        )
    }


def member_row(session: Session, member_id: int) -> Any:
    return session.execute(
        text("SELECT org_id, group_id, external_org, care_flags FROM party_member WHERE id = :m"),
        {"m": member_id},
    ).one()


# --- the chain's rules, held by the database ---------------------------------------------------


def test_the_demo_chain_follows_the_rules(db_session: Session) -> None:
    s = db_session
    # No 党员中心户 is an organisation any more; each is a member's household with neighbours.
    assert s.execute(text("SELECT count(*) FROM party_org WHERE level = 'household'")).scalar() == 0
    centrals = s.execute(
        text(
            "SELECT c.id, c.household_id, r.household_id AS host_home,"
            " array(SELECT household_id FROM party_central_household_served x"
            "       WHERE x.central_household_id = c.id) AS served"
            " FROM party_central_household c JOIN party_member m ON m.id = c.member_id"
            " JOIN resident r ON r.id = m.resident_id"
        )
    ).all()
    assert centrals and all(c.household_id == c.host_home for c in centrals)
    assert all(c.served and c.household_id not in c.served for c in centrals)
    # Streets have a 党工委, towns a 党委 (the demo city has 东华镇).
    kinds = dict(
        s.execute(
            text(
                "SELECT a.kind, array_agg(DISTINCT o.org_type) FROM party_org o"
                " JOIN area a ON a.id = o.area_id WHERE o.level = 'street' GROUP BY a.kind"
            )
        ).all()
    )
    assert kinds == {"街道": ["党工委"], "镇": ["党委"]}
    # Every member of the register is in exactly one 支部, his group one of that 支部's.
    wrong = s.execute(
        text(
            "SELECT count(*) FROM party_member m LEFT JOIN party_org b ON b.id = m.org_id"
            " LEFT JOIN party_org g ON g.id = m.group_id"
            " WHERE (m.org_id IS NOT NULL AND b.org_type <> '党支部')"
            "    OR (m.group_id IS NOT NULL"
            "        AND (g.org_type <> '党小组' OR g.parent_id <> m.org_id))"
            "    OR ((m.org_id IS NULL) <> (m.external_org IS NOT NULL))"
        )
    ).scalar()
    assert wrong == 0
    assert s.execute(text("SELECT count(*) FROM party_member WHERE group_id IS NOT NULL")).scalar()
    assert s.execute(text("SELECT count(*) FROM party_member WHERE org_id IS NULL")).scalar()


def test_the_database_refuses_a_broken_chain(db_session: Session, case: Case) -> None:
    s = db_session
    group = s.execute(
        text("SELECT group_id FROM party_member WHERE id = :m"), {"m": case.member_id}
    ).scalar_one()
    attempts = [
        # a member attached to a 党小组 as his organisation
        ("UPDATE party_member SET org_id = :g, group_id = NULL WHERE id = :m", "党支部"),
        # a group that is not his branch's
        (
            "UPDATE party_member SET group_id = (SELECT id FROM party_org WHERE org_type = '党小组'"
            " AND parent_id <> :b LIMIT 1) WHERE id = :m",
            "党小组",
        ),
        # a street typed against its area (a 街道 with a 党委)
        (
            "UPDATE party_org SET org_type = '党委' WHERE level = 'street' AND area_id IN"
            " (SELECT id FROM area WHERE kind = '街道')",
            "街道",
        ),
        # a group moved under a committee
        (
            "UPDATE party_org SET parent_id = (SELECT parent_id FROM party_org WHERE id = :b)"
            " WHERE id = :g",
            "党小组",
        ),
        # history is append-only
        ("UPDATE party_member_transfer SET reason = 'other'", "append-only"),
        # only a foreign key's SET NULL (a dissolved organisation: test_plan_browser's merge)
        # may clear an organisation, never a direct update
        ("UPDATE party_member_transfer SET from_org_id = NULL", "append-only"),
        ("DELETE FROM party_member_transfer", "append-only"),
        # at most one grid branch per grid (migration 0024, kept)
        (
            "INSERT INTO party_org (code, name, level, org_type, parent_id, area_id,"
            " district_code, geom) SELECT 'DZX' || code, name, level, org_type, parent_id,"
            " area_id, district_code, geom FROM party_org WHERE id = :b",
            "one_branch_per_grid",
        ),
    ]
    for sql, needle in attempts:
        nested = s.begin_nested()
        s.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        with pytest.raises(DBAPIError) as refused:
            s.execute(text(sql), {"m": case.member_id, "g": group, "b": case.branch_id})
        nested.rollback()
        assert needle in str(refused.value), sql
    assert member_row(s, case.member_id).group_id == group


def test_vocabulary_matches_the_migration() -> None:
    from pathlib import Path

    up = Path("gis/sql/0034_party_members_up.sql").read_text(encoding="utf-8")
    for keys in (
        v.CARE_FLAGS,
        v.CARE_KINDS,
        v.TRANSFER_REASONS,
        v.AWAY_REASONS,
        v.COURSE_CATEGORIES,
    ):
        assert "(" + ", ".join(f"'{k}'" for k in keys) + ")" in up or all(
            f"'{k}'" in up for k in keys
        )
    assert "IN ('党工委', '党委', '党总支', '党支部', '党小组')" in up
    assert sorted(v.TOWN_KINDS) == ["乡", "镇"] and "IN ('镇', '乡')" in up


# --- reading: scope, masking, audit -------------------------------------------------------------


def test_the_list_is_scoped_masked_and_audited_with_a_purpose(
    client: TestClient, db_session: Session, case: Case, secretary: dict[str, str]
) -> None:
    prefix = subtree_prefix(case.community)
    before = history_count(db_session)
    masked = client.get(MEMBERS, params={"limit": 200}, headers=secretary)
    assert masked.status_code == 200, masked.text
    body = masked.json()
    assert body["within"] == case.community and body["total"] >= len(body["items"]) > 0
    for item in body["items"]:
        in_branch = item["branch"] and item["branch"]["area_code"].startswith(prefix)
        assert item["grid_code"].startswith(prefix) or in_branch
        assert item["masked"] is True and "*" in item["name"]
    assert history_count(db_session)["audit_log"] == before["audit_log"]
    mine = next(i for i in body["items"] if i["id"] == case.member_id)
    assert mine["name"] == mask_name(case.name)

    exact = client.get(
        MEMBERS, params={"limit": 200, "purpose": "党员教育管理"}, headers=secretary
    ).json()
    assert next(i for i in exact["items"] if i["id"] == case.member_id)["name"] == case.name
    audit = db_session.execute(
        text(
            "SELECT target, purpose, subjects FROM audit_log WHERE username = 'csec'"
            " AND action = 'read.unmasked' ORDER BY id DESC LIMIT 1"
        )
    ).one()
    assert audit.target == f"party_members:{case.community}"
    assert audit.purpose == "党员教育管理"
    assert f"resident:{case.resident_id}" in audit.subjects


def test_filters_narrow_the_list(
    client: TestClient, db_session: Session, case: Case, secretary: dict[str, str]
) -> None:
    by_branch = client.get(MEMBERS, params={"branch": case.branch_code}, headers=secretary).json()
    expected = db_session.execute(
        text("SELECT count(*) FROM party_member WHERE org_id = :b"), {"b": case.branch_id}
    ).scalar_one()
    assert by_branch["total"] == expected
    assert {i["branch"]["code"] for i in by_branch["items"]} == {case.branch_code}
    veterans = client.get(
        MEMBERS, params={"flag": "veteran", "within": case.community[:6]}, headers=secretary
    ).json()
    assert all("veteran" in i["care_flags"] for i in veterans["items"])


def test_who_may_read(client: TestClient, db_session: Session, case: Case) -> None:
    assert client.get(MEMBERS).status_code == 401
    worker = headers(db_session, "gworker", "grid_worker", case.grid)
    refused = client.get(MEMBERS, headers=worker)
    assert refused.status_code == 403 and "member register" in refused.json()["detail"]
    assert refused.headers["content-type"].startswith("application/problem+json")
    other = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL"
            " AND code NOT LIKE :p ORDER BY code LIMIT 1"
        ),
        {"p": case.community[:9] + "%"},
    ).scalar_one()
    outsider = headers(db_session, "osec", "community_secretary", other)
    assert client.get(f"{MEMBERS}/{case.member_id}", headers=outsider).status_code == 404
    listed = client.get(MEMBERS, params={"limit": 200}, headers=outsider).json()["items"]
    assert case.member_id not in {i["id"] for i in listed}


def test_the_profile_shows_the_chain_and_the_central_household(
    client: TestClient, db_session: Session
) -> None:
    host = db_session.execute(
        text(
            "SELECT c.member_id, c.code, g.code AS grid,"
            " (SELECT count(*) FROM party_central_household_served s"
            "   WHERE s.central_household_id = c.id) AS serves"
            " FROM party_central_household c JOIN party_member m ON m.id = c.member_id"
            " JOIN party_org o ON o.id = m.org_id AND o.level = 'grid'"
            " JOIN area g ON g.id = o.area_id WHERE m.group_id IS NOT NULL ORDER BY c.id LIMIT 1"
        )
    ).one()
    chief = headers(db_session, "pinstr", "party_instructor", host.grid)
    got = client.get(f"{MEMBERS}/{host.member_id}", headers=chief)
    assert got.status_code == 200, got.text
    body = got.json()
    assert [c["level"] for c in body["chain"]] == ["street", "community", "grid", "building"]
    assert body["chain"][2]["kind"] == "网格党支部" and body["chain"][3]["kind"] == "楼栋党小组"
    hosts = body["central_household"]["hosts"]
    assert hosts["code"] == host.code and len(hosts["serves"]) == host.serves
    assert all(s["household_code"] is None for s in hosts["serves"])  # masked: no flat
    assert body["masked"] is True  # an instructor in scope, without a purpose
    assert body["phone"] is None or "*" in body["phone"]
    assert "*" in body["id_number"] and body["household_code"] is None
    assert body["may_change"] is False  # an instructor reads, secretaries change


def test_the_chain_tree_goes_from_street_to_central_household(
    client: TestClient, db_session: Session, case: Case
) -> None:
    got = client.get("/api/v1/party/chain", params={"within": case.community})
    assert got.status_code == 200, got.text
    (street,) = got.json()["items"]
    assert street["level"] == "street"
    (community,) = street["children"]
    assert community["area_code"] == case.community
    levels: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        levels.add(node["level"])
        for child in node["children"]:
            walk(child)

    walk(community)
    assert {"community", "grid", "building", "household"} <= levels
    assert client.get("/api/v1/party/chain", params={"within": "999999"}).status_code == 404


# --- 组织关系转接 ------------------------------------------------------------------------------


def test_a_transfer_within_then_out_keeps_the_history(
    client: TestClient, db_session: Session, case: Case, secretary: dict[str, str]
) -> None:
    path = f"{MEMBERS}/{case.member_id}/transfers"
    body = {
        "direction": "within",
        "to_branch_code": case.other_branch,
        "to_group_code": case.other_group,
        "reason": "moved",
        "letter_no": "ZJ2026-001",
        "transferred_on": YESTERDAY,
    }
    moved = client.post(path, json=body, headers=secretary)
    assert moved.status_code == 201, moved.text
    assert moved.headers["Location"] == f"{MEMBERS}/{case.member_id}"
    row = member_row(db_session, case.member_id)
    target = db_session.execute(
        text("SELECT id FROM party_org WHERE code = :c"), {"c": case.other_branch}
    ).scalar_one()
    assert row.org_id == target and row.external_org is None
    assert moved.json()["member"]["branch"]["code"] == case.other_branch

    out = client.post(
        path,
        json={
            "direction": "out",
            "to_org_name": "兰州市城关区张掖路街道党工委",
            "reason": "work",
            "transferred_on": YESTERDAY,
        },
        headers=secretary,
    )
    assert out.status_code == 201, out.text
    row = member_row(db_session, case.member_id)
    assert row.org_id is None and row.group_id is None
    assert row.external_org == "兰州市城关区张掖路街道党工委"
    history = db_session.execute(
        text(
            "SELECT direction, from_org_id, to_org_id, to_org_name, recorded_by"
            " FROM party_member_transfer WHERE member_id = :m ORDER BY id"
        ),
        {"m": case.member_id},
    ).all()
    assert [(h.direction, h.from_org_id, h.to_org_id) for h in history[-2:]] == [
        ("within", case.branch_id, target),
        ("out", target, None),
    ]
    assert {h.recorded_by for h in history[-2:]} == {"csec"}
    shown = out.json()["member"]
    assert shown["relation"] == "out" and [t["direction"] for t in shown["transfers"]][-2:] == [
        "within",
        "out",
    ]
    # Out already: a second transfer out is a conflict, and nothing is written.
    before = history_count(db_session)
    again = client.post(
        path,
        json=body
        | {"direction": "out", "to_branch_code": None, "to_group_code": None, "to_org_name": "x"},
        headers=secretary,
    )
    assert again.status_code == 409 and "transfer in" in again.json()["detail"]
    assert history_count(db_session) == before
    # ... and he comes back with a transfer in.
    back = client.post(
        "/api/v1/party/transfers-in",
        json={
            "resident_id": case.resident_id,
            "branch_code": case.branch_code,
            "from_org_name": "兰州市城关区张掖路街道党工委",
            "reason": "moved",
            "transferred_on": YESTERDAY,
        },
        headers=secretary,
    )
    assert back.status_code == 201, back.text
    row = member_row(db_session, case.member_id)
    assert row.org_id == case.branch_id and row.external_org is None


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"transferred_on": "2999-01-01"}, 400, "future"),
        ({"to_branch_code": "DZ999999999999"}, 400, "not a party branch"),
        ({"to_branch_code": None}, 400, "to_branch_code"),
        ({"to_org_name": "某单位"}, 400, "to_org_name"),
        ({"direction": "out", "to_branch_code": None}, 400, "to_org_name"),
        ({"reason": "whim"}, 422, "reason"),
        ({"letter_no": "x" * 61}, 422, "letter_no"),
    ],
)
def test_a_bad_transfer_is_refused_and_writes_nothing(
    client: TestClient,
    db_session: Session,
    case: Case,
    secretary: dict[str, str],
    change: dict[str, Any],
    status: int,
    needle: str,
) -> None:
    body = {
        "direction": "within",
        "to_branch_code": case.other_branch,
        "reason": "moved",
        "transferred_on": YESTERDAY,
    } | change
    before = history_count(db_session)
    got = client.post(f"{MEMBERS}/{case.member_id}/transfers", json=body, headers=secretary)
    assert got.status_code == status, got.text
    assert got.headers["content-type"].startswith("application/problem+json")
    assert needle in got.text
    assert history_count(db_session) == before
    assert member_row(db_session, case.member_id).org_id == case.branch_id


def test_only_secretaries_change_a_member(
    client: TestClient, db_session: Session, case: Case
) -> None:
    body = {
        "direction": "out",
        "to_org_name": "某党委",
        "reason": "moved",
        "transferred_on": YESTERDAY,
    }
    before = history_count(db_session)
    for who in (
        headers(db_session, "gchief", "grid_chief", case.grid),  # not the branch's secretary
        headers(db_session, "adm", "admin", case.grid[:6]),
    ):
        got = client.post(f"{MEMBERS}/{case.member_id}/transfers", json=body, headers=who)
        assert got.status_code == 403, got.text
        assert "secretary" in got.json()["detail"]
    assert history_count(db_session) == before
    # The branch's own secretary (its secretary_id is his person) may.
    person = db_session.execute(
        text("SELECT secretary_id FROM party_org WHERE id = :b"), {"b": case.branch_id}
    ).scalar_one()
    own = headers(db_session, "bsec", "grid_chief", case.grid)
    db_session.execute(
        text("UPDATE app_user SET person_id = :p WHERE username = 'bsec'"), {"p": person}
    )
    assert (
        client.post(f"{MEMBERS}/{case.member_id}/transfers", json=body, headers=own).status_code
        == 201
    )


def test_a_resident_transfers_in_as_a_new_member(
    client: TestClient, db_session: Session, case: Case, secretary: dict[str, str]
) -> None:
    resident = db_session.execute(
        text(
            "SELECT r.id FROM resident r JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " WHERE g.code = :g AND r.birth_year < 1990"
            " AND NOT EXISTS (SELECT 1 FROM party_member m WHERE m.resident_id = r.id)"
            " ORDER BY r.id LIMIT 1"
        ),
        {"g": case.grid},
    ).scalar_one()
    body = {
        "resident_id": resident,
        "branch_code": case.branch_code,
        "from_org_name": "平凉市崆峒区西郊街道党工委",
        "reason": "moved",
        "transferred_on": YESTERDAY,
    }
    before = history_count(db_session)
    missing = client.post("/api/v1/party/transfers-in", json=body, headers=secretary)
    assert missing.status_code == 400 and "joined_on" in missing.json()["detail"]
    assert history_count(db_session) == before
    made = client.post(
        "/api/v1/party/transfers-in",
        json=body | {"joined_on": "2008-07-01", "status": "正式党员"},
        headers=secretary,
    )
    assert made.status_code == 201, made.text
    member = db_session.execute(
        text("SELECT id, org_id FROM party_member WHERE resident_id = :r"), {"r": resident}
    ).one()
    assert member.org_id == case.branch_id
    assert made.headers["Location"] == f"{MEMBERS}/{member.id}"
    assert made.json()["member"]["transfers"][0]["direction"] == "in"
    again = client.post(
        "/api/v1/party/transfers-in",
        json=body | {"joined_on": "2008-07-01", "status": "正式党员"},
        headers=secretary,
    )
    assert again.status_code == 409


# --- 流动党员, care, learning ----------------------------------------------------------------


def test_a_member_away_and_back(
    client: TestClient, db_session: Session, case: Case, secretary: dict[str, str]
) -> None:
    path = f"{MEMBERS}/{case.member_id}/away"
    since = (local_today() - datetime.timedelta(days=60)).isoformat()
    body = {
        "since": since,
        "place": "广东省深圳市",
        "reason": "work",
        "host_org": "深圳市龙华区流动党员党支部",
    }
    got = client.post(path, json=body, headers=secretary)
    assert got.status_code == 201, got.text
    assert got.json()["away"]["host_org"] == "深圳市龙华区流动党员党支部"
    away = client.get(MEMBERS, params={"away": "true", "limit": 200}, headers=secretary).json()
    assert case.member_id in {i["id"] for i in away["items"]}
    assert all(i["away"] for i in away["items"])
    before = history_count(db_session)
    assert client.post(path, json=body, headers=secretary).status_code == 409
    early = client.post(f"{path}/return", json={"until": "2000-01-01"}, headers=secretary)
    assert early.status_code == 400 and "before" in early.json()["detail"]
    assert history_count(db_session) == before
    back = client.post(f"{path}/return", json={"until": YESTERDAY}, headers=secretary)
    assert back.status_code == 200 and back.json()["away"] is None
    until = db_session.execute(
        text("SELECT until FROM party_member_away WHERE member_id = :m ORDER BY id DESC LIMIT 1"),
        {"m": case.member_id},
    ).scalar_one()
    assert until.isoformat() == YESTERDAY


def test_care_flags_and_records(
    client: TestClient, db_session: Session, case: Case, secretary: dict[str, str]
) -> None:
    flagged = client.put(
        f"{MEMBERS}/{case.member_id}/care-flags",
        json={"flags": ["veteran", "hardship"]},
        headers=secretary,
    )
    assert flagged.status_code == 200, flagged.text
    assert member_row(db_session, case.member_id).care_flags == ["hardship", "veteran"]
    before = history_count(db_session)
    twice = client.put(
        f"{MEMBERS}/{case.member_id}/care-flags",
        json={"flags": ["veteran", "veteran"]},
        headers=secretary,
    )
    assert twice.status_code == 400
    bad = client.post(
        f"{MEMBERS}/{case.member_id}/care",
        json={"kind": "visit", "cared_on": YESTERDAY, "note": "   "},
        headers=secretary,
    )
    assert bad.status_code == 400 and "note" in bad.json()["detail"]
    assert history_count(db_session) == before
    cared = client.post(
        f"{MEMBERS}/{case.member_id}/care",
        json={
            "kind": "hardship_aid",
            "cared_on": YESTERDAY,
            "note": "临时救助",
            "amount_yuan": "500",
        },
        headers=secretary,
    )
    assert cared.status_code == 201, cared.text
    last = cared.json()["care_records"][-1]
    assert (last["kind"], last["amount_yuan"], last["recorded_by"]) == (
        "hardship_aid",
        "500.00",
        "csec",
    )


def test_learning_records_add_up_per_branch(
    client: TestClient, db_session: Session, case: Case, secretary: dict[str, str]
) -> None:
    courses = client.get("/api/v1/party/courses").json()["items"]
    assert courses
    done = set(
        db_session.execute(
            text(
                "SELECT c.code FROM party_learning_record l JOIN party_course c"
                " ON c.id = l.course_id WHERE l.member_id = :m"
            ),
            {"m": case.member_id},
        ).scalars()
    )
    course = next((c for c in courses if c["code"] not in done), None)
    if course is None:
        db_session.execute(
            text(
                "INSERT INTO party_course (code, title, category, hours, published_on)"
                " VALUES ('T-NEW-1', '测试课程', 'policy', 2.5, :d)"
            ),
            {"d": local_today() - datetime.timedelta(days=10)},
        )
        course = {"code": "T-NEW-1", "hours": "2.5"}
    year = local_today().year
    totals = "/api/v1/party/learning/branches"
    before = {
        i["code"]: i
        for i in client.get(totals, params={"year": year}, headers=secretary).json()["items"]
    }[case.branch_code]
    too_many = client.post(
        f"{MEMBERS}/{case.member_id}/learning",
        json={"course_code": course["code"], "finished_on": YESTERDAY, "hours": "39"},
        headers=secretary,
    )
    assert too_many.status_code == 400 and "hours" in too_many.json()["detail"]
    got = client.post(
        f"{MEMBERS}/{case.member_id}/learning",
        json={"course_code": course["code"], "finished_on": YESTERDAY},
        headers=secretary,
    )
    assert got.status_code == 201, got.text
    after = {
        i["code"]: i
        for i in client.get(totals, params={"year": year}, headers=secretary).json()["items"]
    }[case.branch_code]
    from decimal import Decimal

    assert Decimal(after["hours"]) - Decimal(before["hours"]) == Decimal(course["hours"])
    dup = client.post(
        f"{MEMBERS}/{case.member_id}/learning",
        json={"course_code": course["code"], "finished_on": YESTERDAY},
        headers=secretary,
    )
    assert dup.status_code == 409


# --- member accounts ---------------------------------------------------------------------------


def test_a_member_account_reads_and_acts_only_as_himself(
    client: TestClient, db_session: Session, case: Case
) -> None:
    add_account(db_session, "pmember", "party_member", case.community)
    token = {"Authorization": f"Bearer {token_for(db_session, 'pmember')}"}
    unlinked = client.get(f"{MEMBERS}/me", headers=token)
    assert unlinked.status_code == 404 and "not linked" in unlinked.json()["detail"]
    db_session.execute(
        text("UPDATE app_user SET member_id = :m WHERE username = 'pmember'"), {"m": case.member_id}
    )
    me = client.get(f"{MEMBERS}/me", headers=token)
    assert me.status_code == 200 and me.json()["id"] == case.member_id
    assert me.json()["name"] == case.name
    assert client.get(MEMBERS, headers=token).status_code == 403  # not the register
