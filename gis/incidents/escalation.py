"""Escalating overdue cases one level up the area tree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.events import append_event, event_payload
from gis.incidents.vocabulary import LATE_STATUSES
from gis.incidents.workflow import next_escalation_level


def escalate_overdue(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Escalate every overdue open case one level up (grid → community → street → district).

    A case escalates when its deadline has passed and it has not been escalated since, or when
    it stays overdue ``escalate_every_hours`` after its last escalation. Each escalation is a
    row of ``incident_escalation`` and an ``escalated`` event on the stream. Rows are locked
    with SKIP LOCKED so two runs (or a run and a transition) never escalate one case twice.
    """
    now = now or datetime.now(UTC)
    rows = session.execute(
        text(
            """
            SELECT i.id, i.status, i.escalation_level, i.due_at, i.district_code,
                   i.community_id, i.street_id, i.grid_id
            FROM incident i
            JOIN incident_deadline_rule r ON r.category = i.category
            WHERE i.status = ANY(:late) AND i.due_at < :now
              AND i.escalation_level <> 'district'
              AND (i.escalated_at IS NULL OR i.escalated_at < i.due_at
                   OR i.escalated_at <= :now - make_interval(hours => r.escalate_every_hours))
            ORDER BY i.due_at, i.id
            FOR UPDATE OF i SKIP LOCKED
            """
        ),
        {"late": list(LATE_STATUSES), "now": now},
    ).all()
    done = []
    for r in rows:
        to_level = next_escalation_level(r.escalation_level)
        if to_level is None:
            continue
        area_id = {"community": r.community_id, "street": r.street_id}.get(to_level)
        if to_level == "district":
            area_id = session.execute(
                text(
                    "SELECT id FROM area WHERE level = 'district' AND valid_to IS NULL "
                    "AND code = :c"
                ),
                {"c": r.district_code},
            ).scalar_one_or_none()
        session.execute(
            text(
                "INSERT INTO incident_escalation (incident_id, at, from_level, to_level, area_id, "
                "due_at) VALUES (:i, :at, :f, :t, :a, :due)"
            ),
            {
                "i": r.id,
                "at": now,
                "f": r.escalation_level,
                "t": to_level,
                "a": area_id,
                "due": r.due_at,
            },
        )
        session.execute(
            text(
                "UPDATE incident SET escalation_level = :t, escalated_at = :at, updated_at = :at "
                "WHERE id = :i"
            ),
            {"t": to_level, "at": now, "i": r.id},
        )
        payload = {**event_payload(session, r.id), "from_level": r.escalation_level}
        append_event(session, r.id, "escalated", r.status, payload, now)
        done.append(
            {"incident_id": r.id, "from": r.escalation_level, "to": to_level, "area_id": area_id}
        )
    return done
