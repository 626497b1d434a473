"""A case in the demo city with the people around it, for the notification tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents import intake
from gis.incidents.transitions import TransitionInput, transition
from gis.scope import Viewer
from gis.settings import get_settings
from tests.api.incident_helpers import grid_point
from tests.api.security_helpers import add_account

# The reporter: these must never appear in a notification or a delivery.
REPORTER_NAME = "张三丰"
REPORTER_PHONE = "13912345678"


@dataclass
class Cast:
    """A grid and everybody who may be told about its case."""

    grid: Any
    worker: Viewer
    chief: Viewer
    other_worker: Viewer  # a worker of another grid
    community: Viewer
    street: Viewer
    operator: Viewer
    staff_account: Viewer  # an account standing for a person of the grid's staff
    staff_person: int


def cast(session: Session, prefix: str = "n", offset: int = 3) -> Cast:
    g = grid_point(session, offset)
    other = grid_point(session, offset + 1)
    staff_person = session.execute(
        text(
            "SELECT person_id FROM grid_staff WHERE area_id = :g AND role = 'worker' "
            "ORDER BY person_id LIMIT 1"
        ),
        {"g": g.grid_id},
    ).scalar_one()
    staff = add_account(session, f"{prefix}_staff", "party_member", g.community_code)
    session.execute(
        text("UPDATE app_user SET person_id = :p WHERE username = :u"),
        {"p": staff_person, "u": staff.username},
    )
    return Cast(
        grid=g,
        worker=add_account(session, f"{prefix}_worker", "grid_worker", g.grid_code),
        chief=add_account(session, f"{prefix}_chief", "grid_chief", g.grid_code),
        other_worker=add_account(session, f"{prefix}_other", "grid_worker", other.grid_code),
        community=add_account(
            session, f"{prefix}_community", "community_secretary", g.community_code
        ),
        street=add_account(session, f"{prefix}_street", "street_secretary", g.street_code),
        operator=add_account(session, f"{prefix}_operator", "command_operator", g.district_code),
        staff_account=staff,
        staff_person=staff_person,
    )


def report(session: Session, c: Cast, now: datetime | None = None) -> dict[str, Any]:
    result = intake.create_incident(
        session,
        c.operator,
        intake.IncidentInput(
            category="市容环境",
            description="路边垃圾堆积",
            lon=c.grid.lon,
            lat=c.grid.lat,
            source="hotline",
            reporter_name=REPORTER_NAME,
            reporter_phone=REPORTER_PHONE,
        ),
        now=now,
    )
    return dict(result.incident)


def step(session: Session, who: Viewer, incident_id: int, to: str, **extra: Any) -> Any:
    return transition(session, who, incident_id, TransitionInput(to=to, **extra))


def dispatched(session: Session, c: Cast, **extra: Any) -> dict[str, Any]:
    case = report(session, c)
    step(session, c.operator, case["id"], "registered")
    step(session, c.operator, case["id"], "dispatched", grid_code=c.grid.grid_code, **extra)
    return case


def told(session: Session, incident_id: int, trigger: str) -> dict[str, dict[str, Any]]:
    """username → data of the notifications of ``trigger`` about the case."""
    rows = session.execute(
        text(
            "SELECT u.username, n.data FROM notification n JOIN app_user u ON u.id = "
            "n.recipient_id WHERE n.incident_id = :i AND n.trigger = :t"
        ),
        {"i": incident_id, "t": trigger},
    ).all()
    return {r.username: r.data for r in rows}


def assert_no_personal_data(value: Any) -> None:
    dumped = json.dumps(value, ensure_ascii=False)
    assert REPORTER_NAME not in dumped and REPORTER_PHONE not in dumped


def use_channels(
    monkeypatch: pytest.MonkeyPatch, channels: list[dict[str, Any]], **env: str
) -> None:
    monkeypatch.setenv("GRIDGOV_NOTIFY_CHANNELS", json.dumps(channels, ensure_ascii=False))
    for key, value in env.items():
        monkeypatch.setenv(f"GRIDGOV_{key.upper()}", value)
    get_settings.cache_clear()


def now() -> datetime:
    return datetime.now(UTC)
