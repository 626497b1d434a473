"""Moving a case one step of its workflow, with the row locked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, NotFound
from gis.incidents.deadlines import deadline_rule, load_calendar, stage_deadline
from gis.incidents.events import append_event, event_payload
from gis.incidents.history import actor_of, record_history
from gis.incidents.presentation import get_incident, scope_code
from gis.incidents.routing import route_to_grid
from gis.incidents.vocabulary import OPEN_STATUSES, REJECT_RESOLUTIONS
from gis.incidents.workflow import INCIDENT_WORKFLOW
from gis.media import records as media_records
from gis.media.urls import media_url
from gis.scope import Viewer


@dataclass
class TransitionInput:
    to: str
    note: str | None = None  # internal: staff only, never published
    attachments: list[str] = field(default_factory=list)
    public_note: str | None = None  # what the reporter and Open311 readers see
    public_attachments: list[str] = field(default_factory=list)
    # Ids of the viewer's stored uploads (POST /api/v1/media) to attach to this step: internal
    # (seen in the case's scope) and public (published with the case).
    media: list[int] = field(default_factory=list)
    public_media: list[int] = field(default_factory=list)
    resolution: str | None = None
    duplicate_of: int | None = None
    dispatched_to: str | None = None
    grid_code: str | None = None
    assignee_id: int | None = None
    rating: int | None = None


def transition(
    session: Session,
    viewer: Viewer,
    incident_id: int,
    step: TransitionInput,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a case one step; the row is locked so two concurrent steps cannot both win.

    Raises Forbidden (403) for anonymous or out-of-scope viewers and roles the step does not
    allow, :class:`~gis.incidents.workflow.IllegalTransition` (409, listing the allowed steps)
    for a step the current status does not allow, InvalidInput for missing step data.
    """
    now = now or datetime.now(UTC)
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in with a role that works cases to change an incident")
    row = session.execute(
        text(
            """
            SELECT i.id, i.status, i.category, i.rework_count, i.due_at, i.district_code,
                   g.code AS grid_code, c.code AS community_code, s.code AS street_code
            FROM incident i
            LEFT JOIN area g ON g.id = i.grid_id
            LEFT JOIN area c ON c.id = i.community_id
            LEFT JOIN area s ON s.id = i.street_id
            WHERE i.id = :id
            FOR UPDATE OF i
            """
        ),
        {"id": incident_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if not viewer.covers(scope_code(row)):
        raise Forbidden(f"incident {incident_id} lies outside your area {viewer.scope_code}")
    wf_step = INCIDENT_WORKFLOW.check(row.status, step.to, viewer.role)
    sets: dict[str, Any] = {"status": step.to, "updated_at": now}
    rule = deadline_rule(session, row.category)
    calendar = load_calendar(session)
    note = step.note
    if step.to == "registered":
        sets["due_at"] = stage_deadline(rule, calendar, "registered", now)
    elif step.to == "dispatched":
        if step.grid_code is not None:
            routing = route_to_grid(session, step.grid_code)
            sets.update(
                grid_id=routing.grid_id,
                community_id=routing.community_id,
                street_id=routing.street_id,
                assignee_id=routing.assignee_id,
                escalation_level="grid",
            )
        if step.dispatched_to is not None:
            if not (1 <= len(step.dispatched_to) <= 200):
                raise InvalidInput(
                    "dispatched_to needs 1 to 200 characters", parameter="dispatched_to"
                )
            sets["dispatched_to"] = step.dispatched_to
        if step.assignee_id is not None:
            sets["assignee_id"] = step.assignee_id
        if row.status == "registered":
            # The handling clock starts at the first dispatch; re-dispatch does not reset it.
            sets["due_at"] = stage_deadline(rule, calendar, "dispatched", now)
    elif step.to == "in_progress" and wf_step.rework:
        sets["rework_count"] = row.rework_count + 1
        note = note or "核查未通过，返工"
    elif step.to == "closed":
        sets["closed_at"] = now
    elif step.to == "evaluated":
        if step.rating is None or not 1 <= step.rating <= 5:
            raise InvalidInput("an evaluation needs a rating from 1 to 5", parameter="rating")
        sets["rating"] = step.rating
    elif step.to == "rejected":
        if step.resolution not in REJECT_RESOLUTIONS:
            raise InvalidInput(
                f"refusing a case needs a resolution: one of {', '.join(REJECT_RESOLUTIONS)}",
                parameter="resolution",
            )
        sets["resolution"] = step.resolution
        sets["due_at"] = None
    if step.resolution is not None and step.to != "rejected":
        raise InvalidInput("resolution applies only when refusing a case", parameter="resolution")
    for url in [*step.attachments, *step.public_attachments]:
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise InvalidInput("attachments must be http(s) URLs", parameter="attachments")
    if set(step.media) & set(step.public_media):
        raise InvalidInput(
            "a photo is either internal (media) or public (public_media), not both",
            parameter="public_media",
        )
    internal_photos = media_records.claim(session, viewer, step.media, "media")
    public_photos = media_records.claim(session, viewer, step.public_media, "public_media")
    if step.to == "rejected" and step.resolution == "duplicate":
        if step.duplicate_of is None or step.duplicate_of == incident_id:
            raise InvalidInput(
                "a duplicate needs duplicate_of: the id of the open case it repeats",
                parameter="duplicate_of",
            )
        original = session.execute(
            text("SELECT id, status FROM incident WHERE id = :d"), {"d": step.duplicate_of}
        ).one_or_none()
        if original is None or original.status not in OPEN_STATUSES:
            raise InvalidInput(
                f"incident {step.duplicate_of} is not an open case", parameter="duplicate_of"
            )
        session.execute(
            text(
                "INSERT INTO incident_duplicate (incident_id, duplicate_of, linked_at, linked_by) "
                "VALUES (:i, :d, :now, :by)"
            ),
            {"i": incident_id, "d": step.duplicate_of, "now": now, "by": actor_of(viewer)},
        )
    assignments = ", ".join(f"{k} = :{k}" for k in sets)  # keys are ours, values bound
    session.execute(
        text(f"UPDATE incident SET {assignments} WHERE id = :id"), {**sets, "id": incident_id}
    )
    step_id = record_history(
        session,
        incident_id,
        now,
        actor_of(viewer),
        row.status,
        step.to,
        note,
        [*step.attachments, *map(media_url, internal_photos)],
        step.public_note,
        [*step.public_attachments, *map(media_url, public_photos)],
    )
    for photos, public in ((internal_photos, False), (public_photos, True)):
        media_records.attach(
            session,
            photos,
            incident_id=incident_id,
            transition_id=step_id,
            public=public,
            now=now,
        )
    append_event(
        session, incident_id, "transition", step.to, event_payload(session, incident_id), now
    )
    return get_incident(session, viewer, incident_id)
