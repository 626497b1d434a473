"""A case as a viewer may see it, and reading one case with its history.

A case is shown in full only inside the viewer's scope (its grid, community or street code
lies in the viewer's subtree); elsewhere only the public fields an Open311 client may see.
Reporter and assignee names and phones are masked unless the viewer may unmask and the case is
in scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import NotFound
from gis.incidents.duties import case_facts, extensions, work_deadlines
from gis.incidents.history import history_entry
from gis.incidents.timestamps import iso
from gis.incidents.vocabulary import LATE_STATUSES, STATUS_LABELS_ZH
from gis.incidents.workflow import INCIDENT_WORKFLOW, CaseFacts
from gis.masking import Exposure, exposure, show_name, show_phone
from gis.scope import Viewer

SELECT_TEMPLATE = """
    SELECT i.id, i.code, i.kind, i.category, i.description, i.source, i.status, i.resolution,
           i.reporter_name, i.reporter_phone, i.reporter_email, i.media_url, i.attributes,
           ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.address, i.district_code,
           i.street_id, i.community_id, i.grid_id,
           s.code AS street_code, s.name AS street_name,
           c.code AS community_code, c.name AS community_name,
           g.code AS grid_code, g.name AS grid_name, g.version AS grid_version,
           i.assignee_id, p.name AS assignee_name, p.phone AS assignee_phone,
           i.dispatched_to, i.rework_count, i.rating, i.escalation_level, i.escalated_at,
           i.reported_at, i.due_at, i.closed_at, i.updated_at, i.token,
           i.suspended_from, i.suspended_at, coalesce(r.verified_by, 'centre') AS verified_by,
           (i.status = ANY(:late) AND i.due_at < :now) AS overdue,
           d.duplicate_of
    FROM {source} i
    LEFT JOIN area s ON s.id = i.street_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area g ON g.id = i.grid_id
    LEFT JOIN person p ON p.id = i.assignee_id
    LEFT JOIN incident_duplicate d ON d.incident_id = i.id
    LEFT JOIN incident_deadline_rule r ON r.category = i.category
"""
# A case with the names of its areas and assignee (what present() shows).
SELECT_INCIDENT = SELECT_TEMPLATE.format(source="incident")


def scope_code(row: Any) -> str:
    """The code deciding whose scope a case is in: its grid, else community, street, district."""
    return str(row.grid_code or row.community_code or row.street_code or row.district_code)


def _public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "kind": row.kind,
        "category": row.category,
        "description": row.description,
        "status": row.status,
        "status_label": STATUS_LABELS_ZH[row.status],
        "resolution": row.resolution,
        "lon": row.lon,
        "lat": row.lat,
        "address": row.address,
        "district_code": row.district_code,
        "street_code": row.street_code,
        "community_code": row.community_code,
        "grid_code": row.grid_code,
        "grid_name": row.grid_name,
        "media_url": row.media_url,
        "reported_at": iso(row.reported_at),
        "due_at": iso(row.due_at),
        "closed_at": iso(row.closed_at),
        "updated_at": iso(row.updated_at),
        "duplicate_of": row.duplicate_of,
        "in_scope": False,
    }


def _full(row: Any, viewer: Viewer) -> dict[str, Any]:
    level = exposure(viewer, scope_code(row))
    unmask = level is Exposure.EXACT
    out = _public(row)
    out.update(
        in_scope=True,
        source=row.source,
        street_name=row.street_name,
        community_name=row.community_name,
        street_id=row.street_id,
        community_id=row.community_id,
        grid_id=row.grid_id,
        grid_version=row.grid_version,
        unassigned=row.grid_id is None,
        masked=not unmask,
        reporter={
            "name": show_name(row.reporter_name, level),
            "phone": show_phone(row.reporter_phone, level),
            "email": row.reporter_email if unmask else _mask_email(row.reporter_email),
        },
        assignee=None
        if row.assignee_id is None
        else {
            "id": row.assignee_id,
            "name": show_name(row.assignee_name, level),
            "phone": show_phone(row.assignee_phone, level),
        },
        dispatched_to=row.dispatched_to,
        rework_count=row.rework_count,
        rating=row.rating,
        escalation_level=row.escalation_level,
        escalated_at=iso(row.escalated_at),
        overdue=bool(row.overdue),
        attributes=row.attributes,
        token=str(row.token),
        suspended_at=iso(row.suspended_at),
        # Who verifies this category's cases (核查): the community or the centre.
        verified_by=row.verified_by,
        # In lists: the rule for this status and role; the case read (get_incident) applies the
        # case's own facts too (separation of duties, a pending extension).
        allowed_transitions=list(
            INCIDENT_WORKFLOW.actions(
                row.status, viewer.role, CaseFacts(suspended_from=row.suspended_from)
            )
        ),
    )
    return out


def _mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, _, domain = email.partition("@")
    return (local[:1] + "***@" + domain) if local else email


def present(row: Any, viewer: Viewer) -> dict[str, Any]:
    """A case as this viewer may see it."""
    return _full(row, viewer) if viewer.covers(scope_code(row)) else _public(row)


def disclosed_subjects(cases: Sequence[dict[str, Any]]) -> list[str]:
    """The people a list of presented cases shows unmasked (for ``gis.audit.disclose``): the
    reporter of each unmasked case and its assignee."""
    subjects: list[str] = []
    for case in cases:
        if case.get("in_scope") and not case.get("masked", True):
            if case["reporter"]["name"] or case["reporter"]["phone"]:
                subjects.append(audit.subject("incident", case["code"]))
            if case["assignee"] is not None:
                subjects.append(audit.subject("person", case["assignee"]["id"]))
    return subjects


def get_incident(
    session: Session, viewer: Viewer, incident_id: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """One case with its history (full history only in scope)."""
    row = session.execute(
        text(SELECT_INCIDENT + " WHERE i.id = :id"),
        {"id": incident_id, "late": list(LATE_STATUSES), "now": now or datetime.now(UTC)},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    out = present(row, viewer)
    history = session.execute(
        text(
            "SELECT id, at, actor, from_status, to_status, note, attachments, public_note,"
            " public_attachments, action FROM incident_transition WHERE incident_id = :id"
            " ORDER BY at, id"
        ),
        {"id": incident_id},
    ).all()
    full = out["in_scope"]
    unmasked = full and not out["masked"]
    out["history"] = [history_entry(h, full, unmasked) for h in history]
    if full:
        out["allowed_transitions"] = list(
            INCIDENT_WORKFLOW.actions(row.status, viewer.role, case_facts(session, viewer, row))
        )
        out["extensions"] = extensions(session, incident_id)
        out.update(work_deadlines(session, row, now or datetime.now(UTC)))
        out["escalations"] = [
            {"at": iso(e.at), "from": e.from_level, "to": e.to_level, "due_at": iso(e.due_at)}
            for e in session.execute(
                text(
                    "SELECT at, from_level, to_level, due_at FROM incident_escalation "
                    "WHERE incident_id = :id ORDER BY at, id"
                ),
                {"id": incident_id},
            ).all()
        ]
        out["duplicates"] = [
            int(r.incident_id)
            for r in session.execute(
                text(
                    "SELECT incident_id FROM incident_duplicate WHERE duplicate_of = :id "
                    "ORDER BY incident_id"
                ),
                {"id": incident_id},
            ).all()
        ]
    return out
