"""``POST /api/v1/incidents/escalations``: the runner's sweep on demand, for cron users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.incidents import intake
from gis.incidents.escalation_runner import LOCK_KEY
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import ClientFor, client_for, grid_point, viewer

__all__ = ["client_for"]


def _overdue_case(session: Session) -> int:
    g = grid_point(session, 41)
    case = intake.create_incident(
        session,
        ANONYMOUS,
        intake.IncidentInput("市容环境", "清扫不到位", g.lon, g.lat),
        now=datetime.now(UTC) - timedelta(days=30),
    ).incident
    return int(case["id"])


def test_the_sweep_escalates_and_reports_what_it_did(
    db_session: Session, client_for: ClientFor
) -> None:
    iid = _overdue_case(db_session)
    operator = client_for(viewer("command_operator", grid_point(db_session, 41).district_code))
    r = operator.post("/api/v1/incidents/escalations")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["busy"] is False
    assert {"incident_id": iid, "from": "grid", "to": "community"}.items() <= next(
        e for e in body["escalated"] if e["incident_id"] == iid
    ).items()
    again = operator.post("/api/v1/incidents/escalations").json()
    assert all(e["incident_id"] != iid for e in again["escalated"])  # idempotent


def test_a_sweep_already_at_work_makes_this_one_do_nothing(
    db_session: Session, client_for: ClientFor, demo_engine: Engine
) -> None:
    iid = _overdue_case(db_session)
    operator = client_for(viewer("command_operator", grid_point(db_session, 41).district_code))
    with demo_engine.connect() as other, other.begin():
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        r = operator.post("/api/v1/incidents/escalations")
        assert r.status_code == 200 and r.json()["busy"] is True
        assert r.json()["escalated"] == []
    level = db_session.execute(
        text("SELECT escalation_level FROM incident WHERE id = :i"), {"i": iid}
    ).scalar_one()
    assert level == "grid"
