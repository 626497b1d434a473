"""Moving a case one step of its workflow, with the row locked.

The step is named by its ``action`` (gis/incidents/workflow.py) or, for the steps that change
the status, by its target ``to``. Which steps are open for this viewer on this case is decided by
the workflow with the case's facts (gis/incidents/duties.py: separation of duties, a pending
extension, where a suspended case resumes) — the same rule the case's ``allowed_transitions``
shows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, NotFound
from gis.incidents.deadlines import deadline_rule, load_calendar, stage_deadline
from gis.incidents.duties import case_facts
from gis.incidents.events import append_event, event_payload
from gis.incidents.history import actor_of, record_history
from gis.incidents.presentation import get_incident, scope_code
from gis.incidents.routing import route_to_grid
from gis.incidents.timestamps import iso
from gis.incidents.vocabulary import OPEN_STATUSES, REJECT_RESOLUTIONS
from gis.incidents.workcalendar import deadline
from gis.incidents.workflow import INCIDENT_WORKFLOW, REASON_REQUIRED
from gis.media import records as media_records
from gis.media.urls import media_url
from gis.scope import Viewer

# Steps that take a deadline (``due_at``): a dispatch may shorten the category's handling limit;
# an extension request names the deadline it asks for.
_TAKES_DEADLINE = frozenset({"dispatch", "request_extension"})
_DISPATCHES = frozenset({"dispatch", "redispatch"})
_REFUSALS = frozenset({"refuse", "reject"})
# An area a case can be dispatched to besides a grid: its community or street office.
_AREA_LEVELS = ("community", "street")
# What each step takes besides its name (the page's form for it: web/command_page.py hands this
# to command.js). ``reason`` is the note, required; ``target`` is grid_code / area_code /
# dispatched_to; ``due_at`` is the deadline (see _TAKES_DEADLINE).
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "accept": ("note",),
    "refuse": ("resolution", "duplicate_of", "note"),
    "register": ("note",),
    "reject": ("resolution", "duplicate_of", "note"),
    "dispatch": ("target", "due_at", "note"),
    "redispatch": ("target", "note"),
    "start": ("note",),
    "report_back": ("photos", "note"),
    "verify": ("note",),
    "rework": ("reason",),
    "close": ("note",),
    "request_extension": ("due_at", "reason"),
    "approve_extension": ("note",),
    "refuse_extension": ("reason",),
    "suspend": ("reason",),
    "resume": ("note",),
    "evaluate": ("rating", "note"),
}


@dataclass
class TransitionInput:
    to: str | None = None
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
    action: str | None = None
    area_code: str | None = None  # dispatch to a community or street (12 digits)
    due_at: datetime | None = None  # dispatch: a shorter handling deadline; extension: asked for

    def fingerprint(self, incident_id: int) -> str:
        """A hash of the step as asked for: a reused Idempotency-Key must name the same step."""
        body = json.dumps(
            {"incident_id": incident_id, **asdict(self)},
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


# The endpoint name of a step's Idempotency-Key in ``idempotency_key`` (the intake's table).
IDEMPOTENCY_ENDPOINT = "incident_transition"


def transition(
    session: Session,
    viewer: Viewer,
    incident_id: int,
    step: TransitionInput,
    *,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Move a case one step; the row is locked so two concurrent steps cannot both win.

    With ``idempotency_key`` (a phone's outbox replaying a step it queued offline) a repeat of
    the same step returns the case as it is now instead of a 409 for a step already taken; the
    key reused for another step is refused.

    Raises Forbidden (403) for anonymous or out-of-scope viewers, roles the step does not allow
    and the person or grid that handled a case trying to verify it;
    :class:`~gis.incidents.workflow.IllegalTransition` (409, listing the allowed steps) for a
    step the current status does not allow, :class:`~gis.incidents.workflow.StepNotOpen` (409)
    for one the case's facts close (an extension already pending …), InvalidInput for missing or
    wrong step data.
    """
    now = now or datetime.now(UTC)
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in with a role that works cases to change an incident")
    if step.to is None and step.action is None:
        raise InvalidInput("name the step: its action (or the status it goes to)", parameter="to")
    row = session.execute(
        text(
            """
            SELECT i.id, i.status, i.category, i.rework_count, i.due_at, i.district_code,
                   i.suspended_from, i.suspended_at,
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
    if idempotency_key is not None and _repeat(session, incident_id, step, idempotency_key):
        return get_incident(session, viewer, incident_id)
    facts = case_facts(session, viewer, row)
    wf_step = INCIDENT_WORKFLOW.check(row.status, step.to, viewer.role, facts, step.action)
    action = wf_step.name
    actor = actor_of(viewer)
    _check_step_data(step, action, incident_id)
    sets: dict[str, Any] = {"status": wf_step.to_status, "updated_at": now}
    rule = deadline_rule(session, row.category)
    calendar = load_calendar(session)
    note = step.note.strip() if step.note else None
    if action in REASON_REQUIRED and not note:
        raise InvalidInput(f"{wf_step.label} needs a reason: write it in note", parameter="note")
    if action == "register":
        sets["due_at"] = stage_deadline(rule, calendar, "registered", now)
    elif action in _DISPATCHES:
        sets.update(_dispatch_target(session, step, row))
        if action == "dispatch":
            # The handling clock starts at the first dispatch; re-dispatch does not reset it.
            limit = stage_deadline(rule, calendar, "dispatched", now)
            if step.due_at is not None:
                if not now < step.due_at <= (limit or step.due_at):
                    raise InvalidInput(
                        "due_at may shorten the category's handling limit, not extend it: "
                        f"between now and {iso(limit)}",
                        parameter="due_at",
                    )
                limit = step.due_at
            sets["due_at"] = limit
    elif wf_step.rework:
        sets["rework_count"] = row.rework_count + 1
    elif action == "close":
        sets["closed_at"] = now
    elif action == "evaluate":
        if step.rating is None or not 1 <= step.rating <= 5:
            raise InvalidInput("an evaluation needs a rating from 1 to 5", parameter="rating")
        sets["rating"] = step.rating
    elif action in _REFUSALS:
        if step.resolution not in REJECT_RESOLUTIONS:
            raise InvalidInput(
                f"refusing a case needs a resolution: one of {', '.join(REJECT_RESOLUTIONS)}",
                parameter="resolution",
            )
        sets["resolution"] = step.resolution
        sets["due_at"] = None
    elif action == "suspend":
        sets.update(suspended_from=row.status, suspended_at=now)
    elif action == "resume":
        sets.update(suspended_from=None, suspended_at=None)
        if row.due_at is not None:
            # The clock was paused: the deadline moves by the working time the case was
            # suspended (wall-clock time for the categories counted on the clock).
            paused = (
                now - row.suspended_at
                if rule.calendar_time
                else calendar.working_time_between(row.suspended_at, now)
            )
            sets["due_at"] = deadline(
                row.due_at, paused, calendar, calendar_time=rule.calendar_time
            )
    elif action == "request_extension":
        current = row.due_at or now
        if step.due_at is None or step.due_at <= max(current, now):
            raise InvalidInput(
                f"an extension asks for a later deadline: due_at after {iso(max(current, now))}",
                parameter="due_at",
            )
        session.execute(
            text(
                "INSERT INTO incident_extension (incident_id, requested_at, requested_by, reason,"
                " previous_due_at, requested_due_at) VALUES (:i, :now, :by, :reason, :prev, :due)"
            ),
            {
                "i": incident_id,
                "now": now,
                "by": actor,
                "reason": note,
                "prev": row.due_at,
                "due": step.due_at,
            },
        )
        note = f"{note}（申请延期至 {iso(step.due_at)}）"
    elif action in ("approve_extension", "refuse_extension"):
        decision = "approved" if action == "approve_extension" else "refused"
        requested = session.execute(
            text(
                "UPDATE incident_extension SET decision = :d, decided_at = :now, decided_by = :by,"
                " decision_note = :note WHERE incident_id = :i AND decision IS NULL"
                " RETURNING requested_due_at"
            ),
            {"d": decision, "now": now, "by": actor, "note": note, "i": incident_id},
        ).scalar_one()
        if decision == "approved":
            sets["due_at"] = requested
    if step.resolution is not None and action not in _REFUSALS:
        raise InvalidInput("resolution applies only when refusing a case", parameter="resolution")
    if set(step.media) & set(step.public_media):
        raise InvalidInput(
            "a photo is either internal (media) or public (public_media), not both",
            parameter="public_media",
        )
    internal_photos = media_records.claim(session, viewer, step.media, "media")
    public_photos = media_records.claim(session, viewer, step.public_media, "public_media")
    if action in _REFUSALS and step.resolution == "duplicate":
        _link_duplicate(session, incident_id, step.duplicate_of, actor, now)
    assignments = ", ".join(f"{k} = :{k}" for k in sets)  # keys are ours, values bound
    session.execute(
        text(f"UPDATE incident SET {assignments} WHERE id = :id"), {**sets, "id": incident_id}
    )
    step_id = record_history(
        session,
        incident_id,
        now,
        actor,
        row.status,
        wf_step.to_status,
        note,
        [*step.attachments, *map(media_url, internal_photos)],
        step.public_note,
        [*step.public_attachments, *map(media_url, public_photos)],
        action=action,
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
    if idempotency_key is not None:
        # Claimed with the step it names: a step refused above leaves its key unused.
        session.execute(
            text(
                "INSERT INTO idempotency_key (endpoint, key, fingerprint, incident_id)"
                " VALUES (:e, :k, :f, :i)"
            ),
            {
                "e": IDEMPOTENCY_ENDPOINT,
                "k": idempotency_key,
                "f": step.fingerprint(incident_id),
                "i": incident_id,
            },
        )
    append_event(
        session,
        incident_id,
        "transition",
        wf_step.to_status,
        event_payload(session, incident_id),
        now,
    )
    return get_incident(session, viewer, incident_id)


def _repeat(session: Session, incident_id: int, step: TransitionInput, key: str) -> bool:
    """Whether ``key`` already took this very step (a replay); refused for another step.

    Read with the case's row locked, so a concurrent replay waits for the first to commit.
    """
    if not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key needs 1 to 200 characters", parameter="Idempotency-Key")
    earlier = session.execute(
        text("SELECT fingerprint FROM idempotency_key WHERE endpoint = :e AND key = :k"),
        {"e": IDEMPOTENCY_ENDPOINT, "k": key},
    ).scalar_one_or_none()
    if earlier is None:
        return False
    if earlier != step.fingerprint(incident_id):
        raise InvalidInput(
            "this Idempotency-Key was already used for a different step; use a new key",
            parameter="Idempotency-Key",
        )
    return True


def _check_step_data(step: TransitionInput, action: str, incident_id: int) -> None:
    """Refuse data the step does not take (so nothing is silently ignored)."""
    if step.due_at is not None and action not in _TAKES_DEADLINE:
        raise InvalidInput(
            "due_at applies to a dispatch (a shorter deadline) or an extension request"
            " (a re-dispatch keeps the handling deadline)",
            parameter="due_at",
        )
    if step.due_at is not None and step.due_at.tzinfo is None:
        raise InvalidInput("due_at needs a time zone (e.g. +08:00)", parameter="due_at")
    if step.area_code is not None and action not in _DISPATCHES:
        raise InvalidInput("area_code applies to a dispatch", parameter="area_code")
    for url in [*step.attachments, *step.public_attachments]:
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise InvalidInput("attachments must be http(s) URLs", parameter="attachments")
    if step.duplicate_of is not None and step.duplicate_of == incident_id:
        raise InvalidInput("a case cannot duplicate itself", parameter="duplicate_of")


def _dispatch_target(session: Session, step: TransitionInput, row: Any) -> dict[str, Any]:
    """Where a (re-)dispatch sends the case: a grid (by its 15-digit code), a community or street
    office (``area_code``), a functional department (``dispatched_to``), or the case's own grid."""
    sets: dict[str, Any] = {}
    if step.grid_code is not None and step.area_code is not None:
        raise InvalidInput(
            "dispatch to a grid or to an area office, not both", parameter="area_code"
        )
    if step.grid_code is not None:
        routing = route_to_grid(session, step.grid_code)
        sets.update(
            grid_id=routing.grid_id,
            community_id=routing.community_id,
            street_id=routing.street_id,
            assignee_id=routing.assignee_id,
            escalation_level="grid",
        )
    if step.area_code is not None:
        area = session.execute(
            text(
                "SELECT id, level, name FROM area WHERE code = :c AND valid_to IS NULL"
                " AND level = ANY(:levels)"
            ),
            {"c": step.area_code, "levels": list(_AREA_LEVELS)},
        ).one_or_none()
        if area is None:
            raise InvalidInput(
                f"no current community or street has code {step.area_code}",
                parameter="area_code",
            )
        # The case stays where it lies; the office of that level answers for it.
        sets.update(escalation_level=area.level, assignee_id=None)
        if step.dispatched_to is None:
            sets["dispatched_to"] = area.name
    if step.dispatched_to is not None:
        if not (1 <= len(step.dispatched_to) <= 200):
            raise InvalidInput("dispatched_to needs 1 to 200 characters", parameter="dispatched_to")
        sets["dispatched_to"] = step.dispatched_to
    if step.assignee_id is not None:
        sets["assignee_id"] = step.assignee_id
    if not sets and row.grid_code is None:
        raise InvalidInput(
            "the case lies outside every grid: dispatch it to a grid (grid_code), a community or "
            "street (area_code) or a department (dispatched_to)",
            parameter="grid_code",
        )
    return sets


def _link_duplicate(
    session: Session, incident_id: int, duplicate_of: int | None, actor: str, now: datetime
) -> None:
    if duplicate_of is None:
        raise InvalidInput(
            "a duplicate needs duplicate_of: the id of the open case it repeats",
            parameter="duplicate_of",
        )
    original = session.execute(
        text("SELECT id, status FROM incident WHERE id = :d"), {"d": duplicate_of}
    ).one_or_none()
    if original is None or original.status not in OPEN_STATUSES:
        raise InvalidInput(f"incident {duplicate_of} is not an open case", parameter="duplicate_of")
    session.execute(
        text(
            "INSERT INTO incident_duplicate (incident_id, duplicate_of, linked_at, linked_by) "
            "VALUES (:i, :d, :now, :by)"
        ),
        {"i": incident_id, "d": duplicate_of, "now": now, "by": actor},
    )
