"""A case in the demo city with the people around it, for the notification tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.incidents import intake
from gis.incidents.events import append_event, event_payload
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
    step(session, c.operator, case["id"], "accepted")
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


# --- committed: for the live server and the sender ------------------------------------------

SCENE_PASSWORD = "bell-e2e-Password-73!"
WORKER = "bell_worker"
OPERATOR = "bell_operator"


@dataclass
class Scene:
    grid: str
    incident_id: int
    code: str


@pytest.fixture
def scene(demo_engine: Engine) -> Iterator[Scene]:
    with Session(demo_engine) as session:
        g = session.execute(
            text(
                "SELECT g.code, g.district_code, ST_X(ST_PointOnSurface(g.geom)) AS lon, "
                "ST_Y(ST_PointOnSurface(g.geom)) AS lat FROM area g "
                "WHERE g.level = 'grid' AND g.valid_to IS NULL ORDER BY g.code DESC LIMIT 1"
            )
        ).one()
        create_user(session, WORKER, SCENE_PASSWORD, "grid_worker", g.code)
        create_user(session, OPERATOR, SCENE_PASSWORD, "command_operator", g.district_code)
        operator = Viewer(OPERATOR, "command_operator", g.district_code)
        case = intake.create_incident(
            session,
            operator,
            intake.IncidentInput(
                category="市容环境",
                description="提醒测试：垃圾桶满溢",
                lon=g.lon,
                lat=g.lat,
                source="hotline",
                reporter_name="张三丰",
                reporter_phone="13912345678",
            ),
        ).incident
        for to in ("accepted", "registered"):
            transition(session, operator, int(case["id"]), TransitionInput(to=to))
        session.commit()
    yield Scene(g.code, int(case["id"]), str(case["code"]))
    with demo_engine.begin() as conn:
        conn.execute(text("DELETE FROM incident WHERE id = :i"), {"i": case["id"]})
        conn.execute(
            text("DELETE FROM app_user WHERE username = ANY(:u)"), {"u": [WORKER, OPERATOR]}
        )


def dispatch_through_api(server_url: str, scene: Scene) -> None:
    """The command centre dispatches the scene's case to its grid over HTTP."""
    token = httpx.post(
        f"{server_url}/api/v1/auth/token",
        data={"username": OPERATOR, "password": SCENE_PASSWORD},
        timeout=30,
    ).json()["access_token"]
    dispatched = httpx.post(
        f"{server_url}/api/v1/incidents/{scene.incident_id}/transitions",
        json={"to": "dispatched", "grid_code": scene.grid},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert dispatched.status_code == 200, dispatched.text


def committed_notifications(engine: Engine, incident_id: int) -> list[Any]:
    """(username, trigger, read_at) of the committed notifications of a case."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT u.username, n.trigger, n.read_at FROM notification n "
                    "JOIN app_user u ON u.id = n.recipient_id WHERE n.incident_id = :i"
                ),
                {"i": incident_id},
            ).all()
        )


Commit = Callable[[], int]


@pytest.fixture
def commit_event(demo_engine: Engine) -> Iterator[Commit]:
    """``commit_event()``: a committed ``due_soon`` event of an open case; its id."""
    created: list[int] = []

    def make() -> int:
        with Session(demo_engine) as session:
            incident_id = session.execute(
                text(
                    "SELECT id FROM incident WHERE status = 'dispatched' AND grid_id IS NOT NULL "
                    "ORDER BY id LIMIT 1"
                )
            ).scalar_one()
            event_id = append_event(
                session,
                incident_id,
                "due_soon",
                "dispatched",
                event_payload(session, incident_id),
                datetime.now(UTC),
            )
            session.commit()
        created.append(event_id)
        return event_id

    yield make
    with demo_engine.begin() as conn:
        conn.execute(text("DELETE FROM incident_event WHERE id = ANY(:ids)"), {"ids": created})
