"""Services residents apply for at their community (事项办理): catalogue, applications, steps.

The catalogue is the ``resident_service`` table (seeded by migration 0033 with the usual
services: 居住证明, 老年人优待证, 居住登记 …, each with its required materials and how many
working days the community has). An application is due that many working days after it was
submitted, on the case engine's working-day calendar (gis/incidents/workcalendar.py, loaded by
gis/incidents/deadlines.py: office hours, weekends, holidays and 调休 alike). The community's
office handles it: submitted → accepted (受理) → completed (办结), or rejected with a reason;
every step is kept (``service_application_step``) and the resident follows them on his link.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import Conflict, InvalidInput, NotFound
from gis.incidents.deadlines import load_calendar
from gis.masking import Exposure, show_phone
from gis.queries.households import effective_area, subtree_prefix
from gis.residents import vocabulary
from gis.residents.access import (
    SERVICE_HANDLERS,
    STAFF_READERS,
    ResidentActor,
    check_area,
    check_role,
    shown_name,
)
from gis.scope import Viewer

NOTE_MAX = 1000
MAX_LIMIT = 200


def catalogue(session: Session) -> list[dict[str, Any]]:
    """The services on offer, with their materials and working days."""
    rows = session.execute(
        text(
            "SELECT code, name, description, materials, working_days FROM resident_service"
            " WHERE active ORDER BY id"
        )
    ).all()
    return [
        {
            "code": r.code,
            "name": r.name,
            "description": r.description,
            "materials": list(r.materials),
            "working_days": r.working_days,
        }
        for r in rows
    ]


def _status(status: str, lang: str = "zh-CN") -> str:
    return vocabulary.label(vocabulary.APPLICATION_STATUSES, status, lang)


def _steps(session: Session, application_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT status, at, actor, note FROM service_application_step"
            " WHERE application_id = :id ORDER BY id"
        ),
        {"id": application_id},
    ).all()
    # Staff are named by account; the resident by how he acted, never by name.
    return [
        {
            "status": r.status,
            "status_label": _status(r.status),
            "at": r.at.isoformat(),
            "by": "resident" if r.actor.startswith("resident:") else r.actor,
            "note": r.note,
        }
        for r in rows
    ]


_APPLICATION_SQL = """
    SELECT a.*, s.code AS service_code, s.name AS service_name, s.materials,
           r.name AS applicant, r.phone, a.status IN ('submitted', 'accepted') AS open,
           a.status IN ('submitted', 'accepted') AND a.due_at < now() AS overdue,
           count(*) OVER () AS total
    FROM service_application a JOIN resident_service s ON s.id = a.service_id
    JOIN resident r ON r.id = a.resident_id
"""


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "service_code": row.service_code,
        "service_name": row.service_name,
        "materials": list(row.materials),
        "community_code": row.community_code,
        "grid_code": row.grid_code,
        "status": row.status,
        "status_label": _status(row.status),
        "note": row.note,
        "result": row.result,
        "submitted_at": row.submitted_at.isoformat(),
        "due_at": row.due_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "overdue": bool(row.overdue),
        "on_time": None if row.closed_at is None else row.closed_at <= row.due_at,
    }


def apply(
    session: Session,
    actor: ResidentActor,
    service_code: str,
    note: str = "",
    *,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """A resident applies for a service at his community; one open application per service."""
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"note may have at most {NOTE_MAX} characters", parameter="note")
    service = session.execute(
        text("SELECT id, working_days FROM resident_service WHERE code = :c AND active"),
        {"c": service_code},
    ).one_or_none()
    if service is None:
        codes = ", ".join(s["code"] for s in catalogue(session))
        raise InvalidInput(
            f"no service {service_code!r}; services: {codes}", parameter="service_code"
        )
    submitted = now or datetime.datetime.now(datetime.UTC)
    due = load_calendar(session).add_working_days(submitted, int(service.working_days))
    new_id = session.execute(
        text(
            "INSERT INTO service_application (service_id, resident_id, community_code, grid_code,"
            " note, submitted_at, due_at, via) VALUES (:s, :r, :c, :g, :note, :at, :due, :via)"
            " ON CONFLICT (resident_id, service_id) WHERE status IN ('submitted', 'accepted')"
            " DO NOTHING RETURNING id"
        ),
        {
            "s": service.id,
            "r": actor.resident_id,
            "c": actor.community_code,
            "g": actor.grid_code,
            "note": note.strip(),
            "at": submitted,
            "due": due,
            "via": actor.via,
        },
    ).scalar_one_or_none()
    if new_id is None:
        raise Conflict(
            "you already have an open application for this service; follow it on your page",
            parameter="service_code",
        )
    _step(session, int(new_id), "submitted", actor.label, note.strip(), submitted)
    return _for_resident_one(session, actor, int(new_id))


def _step(
    session: Session,
    application_id: int,
    status: str,
    actor: str,
    note: str,
    at: datetime.datetime | None = None,
) -> None:
    session.execute(
        text(
            "INSERT INTO service_application_step (application_id, status, actor, note, at)"
            " VALUES (:a, :s, :actor, :note, coalesce(CAST(:at AS timestamptz), clock_timestamp()))"
        ),
        {"a": application_id, "s": status, "actor": actor, "note": note, "at": at},
    )


def _for_resident_one(session: Session, actor: ResidentActor, application_id: int) -> Any:
    row = session.execute(
        text(_APPLICATION_SQL + " WHERE a.id = :id AND a.resident_id = :r"),
        {"id": application_id, "r": actor.resident_id},
    ).one()
    return {**_summary(row), "steps": _steps(session, application_id)}


def for_resident(session: Session, actor: ResidentActor) -> list[dict[str, Any]]:
    """A resident's own applications, newest first, with their steps."""
    ids = session.execute(
        text(
            "SELECT id FROM service_application WHERE resident_id = :r"
            " ORDER BY submitted_at DESC, id DESC LIMIT 50"
        ),
        {"r": actor.resident_id},
    ).scalars()
    return [_for_resident_one(session, actor, int(i)) for i in ids]


def _applicant(viewer: Viewer, row: Any, shown: list[str]) -> dict[str, Any]:
    name, level = shown_name(viewer, row.resident_id, row.applicant, row.grid_code, shown)
    return {
        "name": name,
        "phone": show_phone(row.phone, level),
        "masked": level is not Exposure.EXACT,
    }


def list_applications(
    session: Session,
    viewer: Viewer,
    *,
    within: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Applications of the viewer's area, open ones first and oldest due first."""
    check_role(viewer, STAFF_READERS, "read service applications")
    if status is not None and status not in vocabulary.APPLICATION_STATUSES:
        raise InvalidInput(
            "status must be one of " + ", ".join(vocabulary.APPLICATION_STATUSES),
            parameter="status",
        )
    area = effective_area(viewer, within)
    rows = session.execute(
        text(
            _APPLICATION_SQL + " WHERE a.grid_code LIKE :prefix AND (CAST(:status AS text) IS NULL"
            " OR a.status = :status) ORDER BY open DESC, a.due_at, a.id"
            " LIMIT :limit OFFSET :offset"
        ),
        {
            "prefix": subtree_prefix(area) + "%",
            "status": status,
            "limit": limit,
            "offset": offset,
        },
    ).all()
    shown: list[str] = []
    items = [{**_summary(r), "applicant": _applicant(viewer, r, shown)} for r in rows]
    audit.disclose(session, viewer, f"service_applications:{area}", subjects=shown, area_code=area)
    return {
        "within": area,
        "total": int(rows[0].total) if rows else 0,
        "limit": limit,
        "offset": offset,
        "items": items,
    }


def _in_scope(session: Session, viewer: Viewer, application_id: int) -> Any:
    row = session.execute(
        text(_APPLICATION_SQL + " WHERE a.id = :id"), {"id": application_id}
    ).one_or_none()
    if row is None or not viewer.covers(row.grid_code):
        raise NotFound(f"no application {application_id} in your scope", parameter="application_id")
    return row


def application(session: Session, viewer: Viewer, application_id: int) -> dict[str, Any]:
    """One application with its steps and the applicant (by the disclosure rule, audited)."""
    check_role(viewer, STAFF_READERS, "read service applications")
    row = _in_scope(session, viewer, application_id)
    shown: list[str] = []
    found = {
        **_summary(row),
        "applicant": _applicant(viewer, row, shown),
        "steps": _steps(session, application_id),
    }
    audit.disclose(
        session,
        viewer,
        f"service_application:{application_id}",
        subjects=shown,
        area_code=row.grid_code,
    )
    return found


def transition(
    session: Session, viewer: Viewer, application_id: int, action: str, note: str = ""
) -> dict[str, Any]:
    """A handling step by the community office: accept, complete, or reject (with a reason)."""
    check_role(viewer, SERVICE_HANDLERS, "handle service applications")
    if action not in vocabulary.APPLICATION_ACTIONS:
        raise InvalidInput(
            "action must be one of " + ", ".join(vocabulary.APPLICATION_ACTIONS),
            parameter="action",
        )
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"note may have at most {NOTE_MAX} characters", parameter="note")
    if action == "reject" and not note.strip():
        raise InvalidInput(
            "say why the application is rejected (which material is missing, or why the "
            "service does not apply) in note",
            parameter="note",
        )
    # Locked so two clerks cannot both move it.
    row = session.execute(
        text("SELECT grid_code, status FROM service_application WHERE id = :id FOR UPDATE"),
        {"id": application_id},
    ).one_or_none()
    if row is None or not viewer.covers(row.grid_code):
        raise NotFound(f"no application {application_id} in your scope", parameter="application_id")
    check_area(viewer, row.grid_code, "application_id")
    allowed, to = vocabulary.APPLICATION_ACTIONS[action]
    if row.status not in allowed:
        raise Conflict(
            f"the application is {_status(row.status)} ({row.status}); {action} needs it to be "
            + " or ".join(allowed),
            parameter="action",
        )
    closing = to in ("completed", "rejected")
    session.execute(
        text(
            "UPDATE service_application SET status = :to,"
            " closed_at = CASE WHEN :closing THEN now() ELSE closed_at END,"
            " result = CASE WHEN :closing THEN :note ELSE result END WHERE id = :id"
        ),
        {"to": to, "closing": closing, "note": note.strip(), "id": application_id},
    )
    _step(session, application_id, to, viewer.username or "?", note.strip())
    return application(session, viewer, application_id)
