"""/api/v1/org-life: 三会一课 records — who records, who sees, masking, validation, completeness."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.masking import mask_name
from gis.orglife import rules
from gis.orglife.meetings import local_today
from gis.queries.households import subtree_prefix
from tests.api.security_helpers import add_account, token_for

MEETINGS = "/api/v1/org-life/meetings"


@dataclass(frozen=True)
class BranchCase:
    id: int
    code: str
    area_code: str
    community: str
    street: str
    secretary_id: int
    groups: list[str]


def pick_branch(session: Session) -> BranchCase:
    """A grid branch with a committee (≥ 7 full members) and at least one 党小组."""
    row = session.execute(
        text(
            """
            SELECT o.id, o.code, a.code AS area_code, o.secretary_id,
                   array(SELECT g.code FROM party_org g WHERE g.parent_id = o.id
                         AND g.org_type = '党小组' ORDER BY g.code) AS groups
            FROM party_org o JOIN area a ON a.id = o.area_id
            WHERE o.level = 'grid' AND o.secretary_id IS NOT NULL
              AND EXISTS (SELECT 1 FROM party_org g WHERE g.parent_id = o.id
                          AND g.org_type = '党小组')
              AND (SELECT count(*) FROM party_member m WHERE m.status = '正式党员'
                   AND m.org_id = o.id) >= 7
            ORDER BY o.code LIMIT 1
            """
        )
    ).one()
    return BranchCase(
        row.id,
        row.code,
        row.area_code,
        row.area_code[:12],
        row.area_code[:9] + "000",
        row.secretary_id,
        list(row.groups),
    )


def members_of(session: Session, org_id: int) -> list[Any]:
    """Members of a 支部 (its org_id) or of a 党小组 (its group_id), read straight off the columns
    migration 0030 gave them."""
    return session.execute(
        text(
            "SELECT m.id, m.status, r.id AS resident_id, r.name FROM party_member m"
            " JOIN resident r ON r.id = m.resident_id"
            " WHERE m.org_id = :o OR m.group_id = :o ORDER BY m.id"
        ),
        {"o": org_id},
    ).all()


def headers_for(
    session: Session, username: str, role: str, scope: str, person_id: int | None = None
) -> dict[str, str]:
    add_account(session, username, role, scope)
    if person_id is not None:
        session.execute(
            text("UPDATE app_user SET person_id = :p WHERE username = :u"),
            {"p": person_id, "u": username},
        )
    return {"Authorization": f"Bearer {token_for(session, username)}"}


@pytest.fixture
def branch(db_session: Session) -> BranchCase:
    return pick_branch(db_session)


@pytest.fixture
def secretary(db_session: Session, branch: BranchCase) -> dict[str, str]:
    return headers_for(db_session, "sec", "grid_chief", branch.area_code, branch.secretary_id)


def meeting_body(session: Session, branch: BranchCase, **changes: Any) -> dict[str, Any]:
    roster = members_of(session, branch.id)
    body = {
        "branch_code": branch.code,
        "kind": "theme_day",
        "held_on": (local_today() - datetime.timedelta(days=1)).isoformat(),
        "place": "党群服务中心",
        "topic": "重温入党誓词",
        "minutes": "全体党员重温入党誓词。",
        "attendance": [
            {"member_id": m.id, "status": ("present", "leave", "absent")[i % 3]}
            for i, m in enumerate(roster)
        ],
    }
    return body | changes


def count_meetings(session: Session) -> tuple[int, int]:
    return session.execute(
        text(
            "SELECT (SELECT count(*) FROM org_meeting),"
            " (SELECT count(*) FROM org_meeting_attendance)"
        )
    ).one()


# --- recording ----------------------------------------------------------------------------------


def test_the_secretary_records_a_meeting_with_attendance(
    client: TestClient, db_session: Session, branch: BranchCase, secretary: dict[str, str]
) -> None:
    body = meeting_body(db_session, branch)
    response = client.post(MEETINGS, json=body, headers=secretary | {"Idempotency-Key": "m-1"})
    assert response.status_code == 201, response.text
    made = response.json()
    assert response.headers["Location"] == f"{MEETINGS}/{made['id']}"
    stored = db_session.execute(
        text(
            "SELECT branch_id, org_code, kind, held_on, place, topic, minutes, recorded_by"
            " FROM org_meeting WHERE id = :i"
        ),
        {"i": made["id"]},
    ).one()
    assert stored.branch_id == branch.id and stored.org_code == branch.code
    assert (stored.kind, stored.held_on.isoformat()) == ("theme_day", body["held_on"])
    assert (stored.place, stored.topic, stored.minutes) == (
        "党群服务中心",
        "重温入党誓词",
        body["minutes"],
    )
    assert stored.recorded_by == "sec"
    marks = dict(
        db_session.execute(
            text("SELECT member_id, status FROM org_meeting_attendance WHERE meeting_id = :i"),
            {"i": made["id"]},
        ).all()
    )
    assert marks == {a["member_id"]: a["status"] for a in body["attendance"]}
    statuses = [a["status"] for a in body["attendance"]]
    assert made["attendance"] == {s: statuses.count(s) for s in ("present", "absent", "leave")}
    # Without a purpose the names in the answer are masked.
    assert all(m["masked"] for m in made["members"])


def test_a_retry_with_the_same_key_returns_the_first_meeting(
    client: TestClient, db_session: Session, branch: BranchCase, secretary: dict[str, str]
) -> None:
    body = meeting_body(db_session, branch)
    headers = secretary | {"Idempotency-Key": "retry-1"}
    first = client.post(MEETINGS, json=body, headers=headers)
    before = count_meetings(db_session)
    again = client.post(MEETINGS, json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = client.post(MEETINGS, json=body | {"topic": "另一个议题"}, headers=headers)
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]
    assert count_meetings(db_session) == before


def test_only_the_branch_secretary_records(
    client: TestClient, db_session: Session, branch: BranchCase
) -> None:
    body = meeting_body(db_session, branch)
    before = count_meetings(db_session)
    others = [
        headers_for(db_session, "chief2", "grid_chief", branch.area_code),
        headers_for(db_session, "comm", "community_secretary", branch.community),
        headers_for(db_session, "adm", "admin", branch.area_code[:6]),
    ]
    for headers in others:
        response = client.post(MEETINGS, json=body, headers=headers)
        assert response.status_code == 403, response.text
        assert "secretary" in response.json()["detail"]
    assert client.post(MEETINGS, json=body).status_code == 401
    assert count_meetings(db_session) == before


def test_a_group_meeting_lists_only_the_groups_members(
    client: TestClient, db_session: Session, branch: BranchCase, secretary: dict[str, str]
) -> None:
    group = branch.groups[0]
    group_id = db_session.execute(
        text("SELECT id FROM party_org WHERE code = :c"), {"c": group}
    ).scalar_one()
    in_group = members_of(db_session, group_id)
    body = meeting_body(
        db_session,
        branch,
        kind="group_meeting",
        group_code=group,
        attendance=[{"member_id": m.id, "status": "present"} for m in in_group],
    )
    response = client.post(MEETINGS, json=body, headers=secretary)
    assert response.status_code == 201, response.text
    assert response.json()["org_code"] == group
    outsider = next(
        m.id for m in members_of(db_session, branch.id) if m.id not in {x.id for x in in_group}
    )
    bad = body | {"attendance": [*body["attendance"], {"member_id": outsider, "status": "absent"}]}
    refused = client.post(MEETINGS, json=bad, headers=secretary)
    assert refused.status_code == 400 and str(outsider) in refused.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"held_on": "2099-01-01"}, 400, "future"),
        ({"kind": "group_meeting"}, 400, "group_code"),
        ({"group_code": "DZ999999999999999"}, 400, "group_code"),
        ({"attendance": []}, 422, "attendance"),
        ({"place": "   "}, 400, "place"),
        ({"topic": "x" * 201}, 422, "topic"),
        ({"kind": "annual_party"}, 422, "kind"),
        ({"held_on": "2026-02-30"}, 422, "held_on"),
        ({"branch_code": "DZ000000000000000"}, 404, "DZ000000000000000"),
    ],
)
def test_bad_input_is_refused_with_what_to_fix(
    client: TestClient,
    db_session: Session,
    branch: BranchCase,
    secretary: dict[str, str],
    change: dict[str, Any],
    status: int,
    words: str,
) -> None:
    before = count_meetings(db_session)
    response = client.post(
        MEETINGS, json=meeting_body(db_session, branch, **change), headers=secretary
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.text
    assert count_meetings(db_session) == before


def test_attendance_must_mark_someone_present_and_each_member_once(
    client: TestClient, db_session: Session, branch: BranchCase, secretary: dict[str, str]
) -> None:
    roster = members_of(db_session, branch.id)
    before = count_meetings(db_session)
    nobody = [{"member_id": m.id, "status": "absent"} for m in roster]
    twice = [{"member_id": roster[0].id, "status": "present"}] * 2
    for attendance, words in ((nobody, "present"), (twice, "twice")):
        body = meeting_body(db_session, branch, attendance=attendance)
        response = client.post(MEETINGS, json=body, headers=secretary)
        assert response.status_code == 400 and words in response.json()["detail"]
    assert count_meetings(db_session) == before


def test_a_branch_without_a_committee_records_no_committee_meeting(
    client: TestClient, db_session: Session, branch: BranchCase, secretary: dict[str, str]
) -> None:
    body = meeting_body(db_session, branch, kind="committee_meeting")
    assert client.post(MEETINGS, json=body, headers=secretary).status_code == 201
    # Six full members left (the others probationary): the branch has no committee (党章 §30).
    full = [m.id for m in members_of(db_session, branch.id) if m.status == "正式党员"]
    db_session.execute(
        text("UPDATE party_member SET status = '预备党员' WHERE id = ANY(:ids)"),
        {"ids": full[rules.COMMITTEE_MIN_FULL_MEMBERS - 1 :]},
    )
    before = count_meetings(db_session)
    response = client.post(MEETINGS, json=body | {"topic": "再议"}, headers=secretary)
    assert response.status_code == 400 and "支委会" in response.json()["detail"]
    assert count_meetings(db_session) == before
    quarter = rules.Quarter.of(local_today())
    answer = client.get(
        "/api/v1/org-life/completeness",
        params={"quarter": str(quarter), "within": branch.area_code},
        headers=secretary,
    ).json()
    mine = next(b for b in answer["branches"] if b["code"] == branch.code)
    assert mine["kinds"]["committee_meeting"] == {
        "applies": False,
        "required": 0,
        "met": 0,
        "missed": 0,
        "open": 0,
    }


# --- who sees what ------------------------------------------------------------------------------


def _branches_under(session: Session, prefix: str) -> list[str]:
    return list(
        session.execute(
            text(
                "SELECT o.code FROM party_org o JOIN area a ON a.id = o.area_id"
                " WHERE o.org_type = '党支部' AND a.code LIKE :p ORDER BY a.code, o.code"
            ),
            {"p": subtree_prefix(prefix) + "%"},
        ).scalars()
    )


def test_secretaries_see_the_branches_of_their_area(
    client: TestClient, db_session: Session, branch: BranchCase
) -> None:
    for username, role, scope in (
        ("comm1", "community_secretary", branch.community),
        ("street1", "street_secretary", branch.street),
    ):
        headers = headers_for(db_session, username, role, scope)
        page = client.get("/api/v1/org-life/branches", headers=headers).json()
        assert [b["code"] for b in page["items"]] == _branches_under(db_session, scope)
        assert not any(b["may_record"] for b in page["items"])
        listed = client.get(MEETINGS, params={"limit": 200}, headers=headers).json()
        expected = db_session.execute(
            text(
                "SELECT count(*) FROM org_meeting m JOIN party_org o ON o.id = m.branch_id"
                " JOIN area a ON a.id = o.area_id WHERE a.code LIKE :p"
            ),
            {"p": subtree_prefix(scope) + "%"},
        ).scalar_one()
        assert listed["total"] == expected > 0
        assert all(i["area_code"].startswith(subtree_prefix(scope)) for i in listed["items"])
    other = headers_for(db_session, "comm2", "community_secretary", branch.community)
    outside = client.get(MEETINGS, params={"within": "620881999000"}, headers=other)
    assert outside.status_code == 403


def test_roles_without_party_work_are_refused(
    client: TestClient, db_session: Session, branch: BranchCase
) -> None:
    for role in ("grid_worker", "planner", "command_operator", "party_member"):
        headers = headers_for(db_session, f"r_{role}", role, branch.community)
        for path in ("/api/v1/org-life/branches", MEETINGS, "/api/v1/org-life/completeness"):
            assert client.get(path, headers=headers).status_code == 403, (role, path)
    assert client.get(MEETINGS).status_code == 401
    assert client.get("/api/v1/org-life/rules").json()["kinds"][0]["label"] == "支部党员大会"


def test_member_names_are_masked_unless_a_purpose_is_stated_and_then_audited(
    client: TestClient, db_session: Session, branch: BranchCase, secretary: dict[str, str]
) -> None:
    roster = {m.id: m for m in members_of(db_session, branch.id)}
    path = f"/api/v1/org-life/branches/{branch.code}/members"
    masked = client.get(path, headers=secretary).json()
    assert {m["member_id"] for m in masked["members"]} == set(roster)
    for m in masked["members"]:
        assert m["masked"] and m["name"] == mask_name(roster[m["member_id"]].name)
    assert masked["branch"]["may_record"] is True
    audited = "SELECT count(*) FROM audit_log WHERE username = 'sec' AND action = 'read.unmasked'"
    assert db_session.execute(text(audited)).scalar_one() == 0
    exact = client.get(path, params={"purpose": "三会一课考勤"}, headers=secretary).json()
    names = {m["member_id"]: m["name"] for m in exact["members"] if not m["masked"]}
    assert names and all(names[i] == roster[i].name for i in names)
    row = db_session.execute(
        text(
            "SELECT target, purpose, subjects FROM audit_log WHERE username = 'sec'"
            " AND action = 'read.unmasked' ORDER BY id DESC LIMIT 1"
        )
    ).one()
    assert (row.target, row.purpose) == (f"party_branch:{branch.code}", "三会一课考勤")
    shown = {f"resident:{roster[i].resident_id}" for i in names}
    assert set(row.subjects) == shown
    # A street secretary outside the branch's street sees no branch there.
    far = headers_for(db_session, "far", "street_secretary", "620881999000")
    assert client.get(path, headers=far).status_code in (403, 404)


def test_a_meeting_shows_attendance_masked_to_the_community_secretary(
    client: TestClient, db_session: Session, branch: BranchCase, secretary: dict[str, str]
) -> None:
    made = client.post(MEETINGS, json=meeting_body(db_session, branch), headers=secretary).json()
    community = headers_for(db_session, "comm3", "community_secretary", branch.community)
    shown = client.get(f"{MEETINGS}/{made['id']}", headers=community).json()
    assert shown["minutes"] == "全体党员重温入党誓词。"
    assert all(m["masked"] and "*" in m["name"] for m in shown["members"])
    sibling = headers_for(db_session, "chief4", "grid_chief", branch.community + "999")
    assert client.get(f"{MEETINGS}/{made['id']}", headers=sibling).status_code == 404


# --- completeness -------------------------------------------------------------------------------


def brute_force(
    session: Session, prefix: str, quarter: rules.Quarter, today: datetime.date
) -> dict[str, dict[str, tuple[int, int, int]]]:
    """(met, missed, open) per branch and kind, counted one period at a time."""
    result: dict[str, dict[str, tuple[int, int, int]]] = {}
    for code in _branches_under(session, prefix):
        org_id = session.execute(
            text("SELECT id FROM party_org WHERE code = :c"), {"c": code}
        ).scalar_one()
        full = sum(1 for m in members_of(session, org_id) if m.status == "正式党员")
        groups = list(
            session.execute(
                text(
                    "SELECT code FROM party_org WHERE parent_id = :i AND org_type = '党小组'"
                    " ORDER BY code"
                ),
                {"i": org_id},
            ).scalars()
        )
        kinds = {}
        for key, monthly, by_group in (
            ("general_meeting", False, False),
            ("committee_meeting", True, False),
            ("group_meeting", True, True),
            ("party_lecture", False, False),
            ("theme_day", True, False),
        ):
            if (key == "committee_meeting" and full < 7) or (by_group and not groups):
                kinds[key] = (0, 0, 0)
                continue
            months = [(quarter.q - 1) * 3 + i for i in (1, 2, 3)]
            spans = (
                [
                    (
                        datetime.date(quarter.year, m, 1),
                        datetime.date(quarter.year + m // 12, m % 12 + 1, 1)
                        - datetime.timedelta(days=1),
                    )
                    for m in months
                ]
                if monthly
                else [
                    (
                        datetime.date(quarter.year, months[0], 1),
                        datetime.date(quarter.year + months[2] // 12, months[2] % 12 + 1, 1)
                        - datetime.timedelta(days=1),
                    )
                ]
            )
            met = missed = still_open = 0
            for unit in groups if by_group else [code]:
                for start, end in spans:
                    n = session.execute(
                        text(
                            "SELECT count(*) FROM org_meeting WHERE branch_code = :b"
                            " AND org_code = :u AND kind = :k AND held_on BETWEEN :s AND :e"
                        ),
                        {"b": code, "u": unit, "k": key, "s": start, "e": end},
                    ).scalar_one()
                    if n:
                        met += 1
                    elif end < today:
                        missed += 1
                    else:
                        still_open += 1
            kinds[key] = (met, missed, still_open)
        result[code] = kinds
    return result


def _as_tuples(answer: dict[str, Any]) -> dict[str, dict[str, tuple[int, int, int]]]:
    return {
        b["code"]: {k: (v["met"], v["missed"], v["open"]) for k, v in b["kinds"].items()}
        for b in answer["branches"]
    }


def test_completeness_matches_a_brute_force_count(
    client: TestClient, db_session: Session, branch: BranchCase
) -> None:
    headers = headers_for(db_session, "street2", "street_secretary", branch.street)
    today = local_today()
    for quarter in (rules.Quarter.of(today), rules.Quarter.of(today).previous()):
        answer = client.get(
            "/api/v1/org-life/completeness", params={"quarter": str(quarter)}, headers=headers
        ).json()
        expected = brute_force(db_session, branch.street, quarter, today)
        assert _as_tuples(answer) == expected
        missed = sum(v[1] for kinds in expected.values() for v in kinds.values())
        met = sum(v[0] for kinds in expected.values() for v in kinds.values())
        assert (answer["totals"]["met"], answer["totals"]["missed"]) == (met, missed)
        # Per community: the sums of its branches.
        for area in answer["areas"]:
            mine = [
                c
                for c in expected
                if any(
                    b["code"] == c and b["area_code"].startswith(area["code"])
                    for b in answer["branches"]
                )
            ]
            assert area["branches"] == len(mine)
            assert area["missed"] == sum(v[1] for c in mine for v in expected[c].values())
    # The demo city has gaps to show in a finished quarter, and most periods met.
    last = client.get(
        "/api/v1/org-life/completeness",
        params={"quarter": str(rules.Quarter.of(today).previous())},
        headers=headers,
    ).json()["totals"]
    assert 0 < last["missed"] < last["met"]


def test_recording_a_missed_meeting_updates_completeness(
    client: TestClient, db_session: Session, branch: BranchCase, secretary: dict[str, str]
) -> None:
    quarter = rules.Quarter.of(local_today()).previous()
    params = {"quarter": str(quarter), "within": branch.area_code}
    before = client.get("/api/v1/org-life/completeness", params=params, headers=secretary).json()
    mine = next(b for b in before["branches"] if b["code"] == branch.code)
    kind = next(
        (
            k
            for k in ("theme_day", "party_lecture", "general_meeting")
            if mine["kinds"][k]["missed"]
        ),
        None,
    )
    if kind is None:  # a diligent branch: make a gap to fill
        db_session.execute(
            text(
                "DELETE FROM org_meeting WHERE branch_code = :b AND kind = 'party_lecture'"
                " AND held_on BETWEEN :s AND :e"
            ),
            {"b": branch.code, "s": quarter.start, "e": quarter.end},
        )
        kind = "party_lecture"
        before = client.get(
            "/api/v1/org-life/completeness", params=params, headers=secretary
        ).json()
        mine = next(b for b in before["branches"] if b["code"] == branch.code)
    held = rules.periods(rules.KINDS[kind], quarter)
    days = set(
        db_session.execute(
            text("SELECT held_on FROM org_meeting WHERE branch_code = :b AND kind = :k"),
            {"b": branch.code, "k": kind},
        ).scalars()
    )
    gap = next(p for p in held if not any(p.start <= d <= p.end for d in days))
    body = meeting_body(db_session, branch, kind=kind, held_on=gap.start.isoformat())
    assert client.post(MEETINGS, json=body, headers=secretary).status_code == 201
    after = client.get("/api/v1/org-life/completeness", params=params, headers=secretary).json()
    now = next(b for b in after["branches"] if b["code"] == branch.code)
    assert now["kinds"][kind]["missed"] == mine["kinds"][kind]["missed"] - 1
    assert now["kinds"][kind]["met"] == mine["kinds"][kind]["met"] + 1


def test_the_migration_lists_the_vocabulary_of_the_rules(db_session: Session) -> None:
    checks = " ".join(
        db_session.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid IN ('org_meeting'::regclass, 'org_meeting_attendance'::regclass)"
                " AND contype = 'c'"
            )
        ).scalars()
    )
    for key in (*rules.KIND_KEYS, *rules.ATTENDANCE):
        assert f"'{key}'" in checks
