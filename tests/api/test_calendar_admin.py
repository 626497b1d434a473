"""``/api/v1/admin/calendar``: admins maintain the working-time calendar; changes are audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents import intake
from gis.incidents.holidays import shipped
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import grid_point
from tests.api.security_helpers import add_account, demo_areas, token_for

BASE = "/api/v1/admin/calendar"


@pytest.fixture
def admin(db_session: Session) -> dict[str, str]:
    add_account(db_session, "cal_admin", "admin", demo_areas(db_session).district)
    return {"Authorization": f"Bearer {token_for(db_session, 'cal_admin')}"}


@pytest.fixture
def operator(db_session: Session) -> dict[str, str]:
    add_account(db_session, "cal_operator", "command_operator", demo_areas(db_session).district)
    return {"Authorization": f"Bearer {token_for(db_session, 'cal_operator')}"}


def _audit(session: Session) -> list[tuple[str, str, dict[str, object]]]:
    return [
        (r.action, r.target, r.detail)
        for r in session.execute(
            text(
                "SELECT action, target, detail FROM audit_log WHERE username = 'cal_admin' "
                "ORDER BY id"
            )
        )
    ]


def test_a_year_lists_the_shipped_schedule_and_office_hours(
    client: TestClient, admin: dict[str, str]
) -> None:
    r = client.get(BASE, params={"year": 2026}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["office_hours"] == "08:30-12:00,14:00-17:30"
    assert body["timezone"] == "Asia/Shanghai" and body["working_day_hours"] == 7
    expected = [d.as_dict() for d in shipped() if d.day.year == 2026]
    assert body["days"] == expected
    assert {"day": "2026-10-10", "name": "国庆节调休上班", "is_workday": True} in body["days"]


def test_only_admins_may_read_or_change_it(
    client: TestClient, operator: dict[str, str], db_session: Session
) -> None:
    assert client.get(BASE).status_code == 401
    forbidden = client.put(f"{BASE}/days/2027-10-01", json={"name": "国庆节"}, headers=operator)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("application/problem+json")
    assert "admin" in forbidden.json()["detail"]
    assert (
        db_session.execute(
            text("SELECT count(*) FROM holiday WHERE day = '2027-10-01'")
        ).scalar_one()
        == 0
    )


def test_adding_a_holiday_moves_deadlines_and_is_audited(
    client: TestClient, admin: dict[str, str], db_session: Session
) -> None:
    added = client.put(f"{BASE}/days/2027-03-11", json={"name": "测试假日"}, headers=admin)
    assert added.status_code == 201, added.text
    assert added.json() == {
        "day": "2027-03-11",
        "name": "测试假日",
        "is_workday": False,
        "created": True,
    }
    # The next report sees it: Wednesday 10 March 2027 evening → Friday 09:30 (Beijing).
    g = grid_point(db_session, 40)
    case = intake.create_incident(
        db_session,
        ANONYMOUS,
        intake.IncidentInput("市容环境", "日历测试", g.lon, g.lat),
        now=datetime(2027, 3, 10, 12, tzinfo=UTC),
    ).incident
    assert datetime.fromisoformat(case["due_at"]) == datetime(2027, 3, 12, 1, 30, tzinfo=UTC)
    # The computed deadline says the same.
    d = client.get(
        f"{BASE}/deadline",
        params={"start": "2027-03-10T20:00:00", "minutes": 60},
        headers=admin,
    )
    assert d.status_code == 200
    assert d.json()["due_at"] == "2027-03-12T09:30:00+08:00"

    renamed = client.put(f"{BASE}/days/2027-03-11", json={"name": "改名"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["created"] is False
    assert client.delete(f"{BASE}/days/2027-03-11", headers=admin).status_code == 204
    missing = client.delete(f"{BASE}/days/2027-03-11", headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert [(a, t, dt["change"]) for a, t, dt in _audit(db_session)] == [
        ("calendar.change", "calendar:2027-03-11", "add"),
        ("calendar.change", "calendar:2027-03-11", "replace"),
        ("calendar.change", "calendar:2027-03-11", "remove"),
    ]


def test_a_make_up_day_must_be_a_weekend_day(
    client: TestClient, admin: dict[str, str], db_session: Session
) -> None:
    wrong = client.put(
        f"{BASE}/days/2027-03-10", json={"name": "调休", "is_workday": True}, headers=admin
    )
    assert wrong.status_code == 400
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert "Saturday or Sunday" in wrong.json()["detail"]
    ok = client.put(
        f"{BASE}/days/2027-03-13", json={"name": "调休上班", "is_workday": True}, headers=admin
    )
    assert ok.status_code == 201
    d = client.get(
        f"{BASE}/deadline", params={"start": "2027-03-12T17:00:00", "hours": 1}, headers=admin
    )
    assert d.json()["due_at"] == "2027-03-13T09:00:00+08:00"  # the Saturday is worked
    assert _audit(db_session) == [
        (
            "calendar.change",
            "calendar:2027-03-13",
            {"change": "add", "day": "2027-03-13", "name": "调休上班", "is_workday": True},
        )
    ]


def test_import_is_all_or_nothing_and_says_which_line_is_wrong(
    client: TestClient, admin: dict[str, str], db_session: Session
) -> None:
    bad = "day,name,is_workday\n2027-10-01,国庆节,false\n2027-10-02,国庆节,maybe\n"
    r = client.post(f"{BASE}/import", json={"csv": bad}, headers=admin)
    assert r.status_code == 400 and "line 3" in r.json()["detail"]
    count = "SELECT count(*) FROM holiday WHERE extract(year FROM day) = 2027"
    assert db_session.execute(text(count)).scalar_one() == 0

    good = "# 2027\nday,name,is_workday\n2027-10-01,国庆节,false\n2027-10-09,国庆节调休上班,true\n"
    r = client.post(f"{BASE}/import", json={"csv": good}, headers=admin)
    assert r.status_code == 200 and r.json() == {"imported": 2, "years": [2027]}
    assert db_session.execute(text(count)).scalar_one() == 2
    listed = client.get(BASE, params={"year": 2027}, headers=admin).json()
    assert [d["day"] for d in listed["days"]] == ["2027-10-01", "2027-10-09"]
    # Replacing the year drops what the file does not list.
    r = client.post(
        f"{BASE}/import",
        json={"csv": "day,name,is_workday\n2027-01-01,元旦,false\n", "replace": True},
        headers=admin,
    )
    assert r.status_code == 200
    assert db_session.execute(text(count)).scalar_one() == 1
    assert [dt["change"] for _, _, dt in _audit(db_session)] == ["import", "import"]


def test_bad_input_is_a_clear_400(client: TestClient, admin: dict[str, str]) -> None:
    for response in (
        client.put(f"{BASE}/days/not-a-day", json={"name": "x"}, headers=admin),
        client.put(f"{BASE}/days/2027-01-01", json={"name": ""}, headers=admin),
        client.put(f"{BASE}/days/1900-01-01", json={"name": "x"}, headers=admin),
        client.get(BASE, params={"year": 99999}, headers=admin),
        client.get(f"{BASE}/deadline", params={"start": "tomorrow"}, headers=admin),
    ):
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


def test_health_warns_of_years_without_holidays(client: TestClient, db_session: Session) -> None:
    this_year = datetime.now(UTC).year
    body = client.get("/api/v1/health").json()
    held = {
        int(y)
        for y in db_session.execute(
            text("SELECT DISTINCT extract(year FROM day)::int FROM holiday")
        ).scalars()
    }
    assert body["calendar_missing_years"] == [
        y for y in (this_year, this_year + 1) if y not in held
    ]
    db_session.execute(
        text(
            "INSERT INTO holiday (day, name) VALUES (make_date(:y, 1, 1), '元旦') "
            "ON CONFLICT DO NOTHING"
        ),
        {"y": this_year + 1},
    )
    db_session.execute(
        text(
            "INSERT INTO holiday (day, name) VALUES (make_date(:y, 1, 1), '元旦') "
            "ON CONFLICT DO NOTHING"
        ),
        {"y": this_year},
    )
    assert client.get("/api/v1/health").json()["calendar_missing_years"] == []
