"""``/api/v1/audit/disclosures``: who saw this person's data, when and why."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.security_helpers import add_account, demo_areas, token_for


def _as(session: Session, username: str, role: str, scope: str) -> dict[str, str]:
    add_account(session, username, role, scope)
    return {"Authorization": f"Bearer {token_for(session, username)}"}


def _resident(session: Session, grid: str) -> Any:
    return session.execute(
        text(
            "SELECT h.code AS household, r.id, r.id_number, r.phone FROM household h"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " JOIN resident r ON r.household_id = h.id"
            " WHERE g.code = :g AND r.id_number IS NOT NULL AND r.phone IS NOT NULL"
            " ORDER BY h.code, r.id LIMIT 1"
        ),
        {"g": grid},
    ).one()


def test_an_admin_sees_who_read_a_person_by_id_number_phone_or_subject(
    client: TestClient, db_session: Session
) -> None:
    areas = demo_areas(db_session)
    person = _resident(db_session, areas.grid)
    chief = _as(db_session, "aud_chief", "grid_chief", areas.grid)
    read = client.get(
        f"/api/v1/households/{person.household}", params={"purpose": "入户走访"}, headers=chief
    )
    assert read.status_code == 200 and read.json()["masked"] is False
    # A masked page of the planner's is a bulk read of the area holding the person.
    planner = _as(db_session, "aud_planner", "planner", areas.district)
    assert client.get(
        "/api/v1/households", params={"within": areas.grid}, headers=planner
    ).is_success
    admin = _as(db_session, "aud_admin", "admin", areas.district)
    for subject in (person.id_number, person.phone, f"resident:{person.id}"):
        answer = client.get("/api/v1/audit/disclosures", params={"subject": subject}, headers=admin)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["found"] is True
        assert f"resident:{person.id}" in body["keys"]
        seen = {(i["username"], i["action"], i["purpose"], i["target"]) for i in body["items"]}
        assert ("aud_chief", "read.unmasked", "入户走访", f"household:{person.household}") in seen
        assert ("aud_planner", "read.masked_bulk", None, f"households:{areas.grid}") in seen
    # Asking is itself audited.
    asked = db_session.execute(
        text(
            "SELECT count(*) FROM audit_log WHERE username = 'aud_admin' AND action = 'audit.query'"
        )
    ).scalar_one()
    assert asked == 3


def test_the_audit_api_refuses_others_and_bad_subjects(
    client: TestClient, db_session: Session
) -> None:
    areas = demo_areas(db_session)
    person = _resident(db_session, areas.grid)
    chief = _as(db_session, "aud_chief2", "grid_chief", areas.grid)
    params = {"subject": person.id_number}
    assert client.get("/api/v1/audit/disclosures", params=params).status_code == 401
    assert client.get("/api/v1/audit/disclosures", params=params, headers=chief).status_code == 403
    admin = _as(db_session, "aud_admin2", "admin", areas.district)
    bad = client.get("/api/v1/audit/disclosures", params={"subject": "张三丰"}, headers=admin)
    assert bad.status_code == 400 and "subject" in bad.json()["detail"]
    # An admin of another district does not learn about this person.
    elsewhere = _as(db_session, "aud_admin3", "admin", "620882")
    other = client.get("/api/v1/audit/disclosures", params=params, headers=elsewhere).json()
    assert other == {"subject": person.id_number, "found": False, "keys": [], "items": []}
