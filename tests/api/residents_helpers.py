"""Objects of serving residents for the commit-before-response walk (committed for real)."""

from __future__ import annotations

import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import create_resident_account
from gis.residents import links
from tests.api.security_helpers import PASSWORD, token_for


def residents_objects(
    client: TestClient, session: Session, headers: dict[str, dict[str, str]], community: str
) -> dict[str, Any]:
    """In the community secretary's community: a resident with points and his link, a notice
    to him, an open application, a completed-able activity he signed up for, a reward."""
    secretary = headers["community_secretary"]
    resident = session.execute(
        text(
            "SELECT l.resident_id FROM points_ledger l WHERE l.community_code = :c"
            " ORDER BY l.balance_after DESC, l.id LIMIT 1"
        ),
        {"c": community},
    ).scalar_one()
    credential = links.token(int(resident), datetime.datetime.now(datetime.UTC))
    summary = client.get(f"/api/v1/resident-link/{credential}").json()
    # A notice to the community itself (the secretary may withdraw it), not read yet.
    notice = next(
        n["id"] for n in summary["notices"] if n["read_at"] is None and n["area_code"] == community
    )
    reward = client.post(
        "/api/v1/points/rewards",
        json={"community_code": community, "name": "提交探针奖品", "points": 5},
        headers=secretary,
    ).json()
    assert summary["points"]["balance"] >= reward["points"], summary["points"]
    team = session.execute(
        text("SELECT id FROM volunteer_team WHERE community_code = :c ORDER BY id LIMIT 1"),
        {"c": community},
    ).scalar_one()
    now = datetime.datetime.now(datetime.UTC)
    activity = client.post(
        "/api/v1/volunteer/activities",
        json={
            "team_id": team,
            "title": "提交探针",
            "place": "服务中心",
            "starts_at": (now - datetime.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + datetime.timedelta(hours=3)).isoformat(),
            "capacity": 10,
            "hours": "1.0",
        },
        headers=secretary,
    ).json()
    signed = client.post(f"/api/v1/resident-link/{credential}/activities/{activity['id']}/signup")
    assert signed.status_code == 200, signed.text
    # Another activity he has not signed up for (his account signs up in the probe).
    second = client.post(
        "/api/v1/volunteer/activities",
        json={
            "team_id": team,
            "title": "提交探针（账号）",
            "place": "服务中心",
            "starts_at": (now + datetime.timedelta(days=1)).isoformat(),
            "ends_at": (now + datetime.timedelta(days=1, hours=2)).isoformat(),
            "capacity": 10,
            "hours": "1.0",
        },
        headers=secretary,
    ).json()
    # The same resident with his own account: /api/v1/resident-self acts as him.
    household = session.execute(
        text(
            "SELECT h.code FROM resident r JOIN household h ON h.id = r.household_id"
            " WHERE r.id = :r"
        ),
        {"r": resident},
    ).scalar_one()
    create_resident_account(
        session, "t_resident_self", PASSWORD, household, resident_id=int(resident)
    )
    session.flush()
    headers["resident_self"] = {"Authorization": f"Bearer {token_for(session, 't_resident_self')}"}
    application = client.post(
        f"/api/v1/resident-link/{credential}/applications",
        json={"service_code": "hardship_certificate"},
    )
    assert application.status_code == 201, application.text
    # A second resident (no open application) to apply in the probe.
    applicant = session.execute(
        text(
            "SELECT r.id FROM resident r JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " WHERE g.code LIKE :c AND NOT EXISTS (SELECT 1 FROM service_application a"
            " WHERE a.resident_id = r.id) ORDER BY r.id LIMIT 1"
        ),
        {"c": community + "%"},
    ).scalar_one()
    session.commit()
    return {
        "res_community": community,
        "res_resident": int(resident),
        "res_credential": credential,
        "res_applicant": links.token(int(applicant), now),
        "res_notice": notice,
        "res_reward": reward["id"],
        "res_team": team,
        "res_activity": activity,
        "res_activity_unsigned": second["id"],
        "res_application": application.json()["id"],
    }
