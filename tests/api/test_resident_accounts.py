"""Residents' accounts against PostGIS: opened by staff for a household of their area, or by
the resident with a code sent to his phone (the development sender keeps it); a resident's
sign-in sees himself and his household, never an area."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import accounts, phone_codes
from tests.api.incident_helpers import ClientFor, client_for, grid_point
from tests.api.security_helpers import add_account

__all__ = ["client_for"]
PASSWORD = "correct-horse-battery-staple"


def _household(session: Session, grid_code: str) -> tuple[str, int, str | None]:
    row = session.execute(
        text(
            "SELECT h.code, r.id, r.phone FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id JOIN resident r ON r.household_id = h.id"
            " WHERE g.code = :g AND r.phone IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM resident o WHERE o.phone = r.phone AND o.id <> r.id)"
            " ORDER BY h.code, r.id LIMIT 1"
        ),
        {"g": grid_code},
    ).one()
    return row.code, row.id, row.phone


def test_staff_open_a_resident_account_for_a_household_of_their_area(
    db_session: Session, client_for: ClientFor, client: TestClient
) -> None:
    g = grid_point(db_session)
    other = grid_point(db_session, offset=1)
    household, resident_id, _ = _household(db_session, g.grid_code)
    worker = client_for(add_account(db_session, "r_wrk", "grid_worker", g.grid_code))
    body = {
        "username": "r_zhang",
        "password": PASSWORD,
        "household_code": household,
        "resident_id": resident_id,
    }
    created = worker.post("/api/v1/resident-accounts", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "resident"
    stored = db_session.execute(
        text(
            "SELECT role, scope_code, h.code FROM app_user u JOIN household h"
            " ON h.id = u.household_id WHERE username = 'r_zhang'"
        )
    ).one()
    assert tuple(stored) == ("resident", g.grid_code, household)
    # Another grid's worker may not; a planner may not; a second account name is a 409.
    outsider = client_for(add_account(db_session, "r_out", "grid_worker", other.grid_code))
    assert (
        outsider.post("/api/v1/resident-accounts", json={**body, "username": "r_li"}).status_code
        == 403
    )
    planner = client_for(add_account(db_session, "r_pln", "planner", g.district_code))
    assert (
        planner.post("/api/v1/resident-accounts", json={**body, "username": "r_li"}).status_code
        == 403
    )
    assert worker.post("/api/v1/resident-accounts", json=body).status_code == 409
    # The generic account path refuses the role: a resident needs a household.
    bad = worker.post(
        "/api/v1/resident-accounts",
        json={**body, "username": "r_x", "household_code": "620881H999999999"},
    )
    assert bad.status_code == 400 and "household" in bad.text

    # Signed in for real, the resident has no area scope and sees his household only.
    token = client.post("/api/v1/auth/token", data={"username": "r_zhang", "password": PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert (me["role"], me["scope_code"], me["may_unmask"]) == ("resident", None, False)
    home = client.get("/api/v1/resident-accounts/me", headers=headers).json()
    assert (home["grid_code"], home["community_code"]) == (g.grid_code, g.community_code)
    households = client.get("/api/v1/households", headers=headers)
    assert households.status_code in (403, 401) or households.json()["items"] == []
    found = accounts.resident_household(db_session, created_id(db_session, "r_zhang"))
    assert found is not None and found.household_code == household
    assert accounts.resident_household(db_session, created_id(db_session, "r_wrk")) is None


def created_id(session: Session, username: str) -> int:
    return int(
        session.execute(
            text("SELECT id FROM app_user WHERE username = :u"), {"u": username}
        ).scalar_one()
    )


def test_a_resident_registers_with_the_code_sent_to_his_phone(
    db_session: Session, client: TestClient
) -> None:
    g = grid_point(db_session)
    household, resident_id, phone = _household(db_session, g.grid_code)
    assert phone is not None
    sender = phone_codes.DevSender()
    phone_codes.set_sender(sender)
    try:
        asked = client.post("/api/v1/resident-accounts/register/code", json={"phone": phone})
        assert asked.status_code == 202, asked.text
        code = sender.sent[phone]
        # Asking again at once is refused; an unknown phone gets the same answer and no code.
        assert (
            client.post(
                "/api/v1/resident-accounts/register/code", json={"phone": phone}
            ).status_code
            == 409
        )
        unknown = client.post(
            "/api/v1/resident-accounts/register/code", json={"phone": "19900000000"}
        )
        assert unknown.status_code == 202 and "19900000000" not in sender.sent
        wrong = "000000" if code != "000000" else "111111"
        body = {"phone": phone, "code": wrong, "username": "r_self", "password": PASSWORD}
        refused = client.post("/api/v1/resident-accounts/register", json=body)
        assert refused.status_code == 400 and "code" in refused.json()["detail"]
        attempts = db_session.execute(
            text(
                "SELECT attempts, code_hash FROM phone_verification WHERE phone = :p"
                " ORDER BY id DESC LIMIT 1"
            ),
            {"p": phone},
        ).one()
        assert attempts.attempts == 1 and code not in attempts.code_hash
        done = client.post("/api/v1/resident-accounts/register", json={**body, "code": code})
        assert done.status_code == 201, done.text
        row = db_session.execute(
            text(
                "SELECT u.role, u.resident_id, h.code FROM app_user u JOIN household h"
                " ON h.id = u.household_id WHERE u.username = 'r_self'"
            )
        ).one()
        assert tuple(row) == ("resident", resident_id, household)
        # The code is used up.
        again = client.post(
            "/api/v1/resident-accounts/register", json={**body, "code": code, "username": "r_self2"}
        )
        assert again.status_code == 400
    finally:
        phone_codes.set_sender(phone_codes.DevSender())
