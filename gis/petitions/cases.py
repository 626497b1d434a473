"""Petitions (诉求): submit, read, list, step, escalate, convert to an incident, statistics.

A petition is a case kind on the incident engine, not a copy of it: its steps are
``PETITION_WORKFLOW`` (gis/incidents/workflow.py, the same :class:`Workflow` that checks every
incident step, 403/409 alike), its deadline is counted in working time by the incident calendar
(gis/incidents/deadlines.py, workcalendar.py), it climbs the same escalation levels when overdue,
and its code is the one case code (``case_code``; petitions draw their numbers from the incident
sequence, so no two cases of any kind share a code). What differs is the data: no point on the
map, a subject instead of a category, an answer and the resident's rating of it.

Who sees what: a resident sees the petitions of his own household (and nothing else: another
household's is "not found"); staff see those of their area subtree (the petition's grid, else its
community). The petitioner's name and phone follow the disclosure rule (gis/masking.py): exact
only for a role that needs them, in scope, with a stated purpose — and then audited here, in the
request's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.accounts import household_by_code, resident_household
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.incidents.deadlines import WORKING_DAY_HOURS, load_calendar
from gis.incidents.history import actor_of, record_history
from gis.incidents.intake import IncidentInput, case_code, create_incident
from gis.incidents.rating import COMMENT_MAX, STARS
from gis.incidents.timestamps import iso
from gis.incidents.vocabulary import (
    ESCALATION_LEVELS,
    PETITION_ANSWER_DAYS,
    PETITION_OPEN_STATUSES,
    PETITION_STATUS_LABELS_ZH,
    PETITION_SUBJECTS,
    PETITION_TYPE_LABELS_ZH,
    PETITION_TYPES,
)
from gis.incidents.workcalendar import deadline
from gis.incidents.workflow import PETITION_WORKFLOW, next_escalation_level
from gis.masking import Exposure, exposure, show_name, show_phone
from gis.scope import Viewer

TITLE_MAX = 100
TEXT_MAX = 4000
ASSIGNEE_MAX = 100
# Steps that need words: a refusal says why, an answer is the answer.
_NEEDS_NOTE = frozenset({"refuse"})


@dataclass
class PetitionInput:
    petition_type: str
    subject: str
    title: str
    description: str
    # Staff entering a petition received at the counter or by phone (代办): the household it
    # comes from, or the community, and who petitions.
    household_code: str | None = None
    community_code: str | None = None
    petitioner_name: str | None = None
    petitioner_phone: str | None = None

    def validate(self) -> None:
        if self.petition_type not in PETITION_TYPES:
            raise InvalidInput(
                f"petition_type must be one of {', '.join(PETITION_TYPES)}",
                parameter="petition_type",
            )
        if self.subject not in PETITION_SUBJECTS:
            raise InvalidInput(
                f"subject must be one of {', '.join(PETITION_SUBJECTS)}", parameter="subject"
            )
        self.title = self.title.strip()
        self.description = self.description.strip()
        if not 1 <= len(self.title) <= TITLE_MAX:
            raise InvalidInput(f"title needs 1 to {TITLE_MAX} characters", parameter="title")
        if not 1 <= len(self.description) <= TEXT_MAX:
            raise InvalidInput(
                f"description needs 1 to {TEXT_MAX} characters", parameter="description"
            )


@dataclass
class PetitionStep:
    action: str
    note: str | None = None  # internal: staff only
    public_note: str | None = None  # what the resident sees
    assigned_to: str | None = None  # assign / reassign: who answers (a person or an office)
    level: str | None = None  # assign / reassign: the level that answers (grid … district)
    answer: str | None = None
    rating: int | None = None
    comment: str | None = None
    # convert: where the incident lies and its category
    category: str | None = None
    lon: float | None = None
    lat: float | None = None


_AREAS_OF_GRID = text(
    """
    SELECT g.id AS grid_id, c.id AS community_id, s.id AS street_id, s.code AS street_code,
           c.code AS community_code, g.code AS grid_code
    FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id
    WHERE g.code = :code AND g.valid_to IS NULL AND g.level = 'grid'
    """
)
_AREAS_OF_COMMUNITY = text(
    """
    SELECT NULL::bigint AS grid_id, c.id AS community_id, s.id AS street_id,
           s.code AS street_code, c.code AS community_code, NULL::text AS grid_code
    FROM area c JOIN area s ON s.id = c.parent_id
    WHERE c.code = :code AND c.valid_to IS NULL AND c.level = 'community'
    """
)

_SELECT = """
    SELECT p.*, g.code AS grid_code, c.code AS community_code, c.name AS community_name,
           s.code AS street_code, i.code AS incident_code
    FROM petition p
    LEFT JOIN area g ON g.id = p.grid_id
    JOIN area c ON c.id = p.community_id
    JOIN area s ON s.id = p.street_id
    LEFT JOIN incident i ON i.id = p.incident_id
"""


def _scope_code(row: Any) -> str:
    return str(row.grid_code or row.community_code)


def answer_deadline(session: Session, petition_type: str, start: datetime) -> datetime:
    """When a petition of this type must be answered: its working days, in working time."""
    hours = PETITION_ANSWER_DAYS[petition_type] * WORKING_DAY_HOURS
    return deadline(start, timedelta(hours=hours), load_calendar(session))


def submit(
    session: Session, viewer: Viewer, data: PetitionInput, *, now: datetime | None = None
) -> dict[str, Any]:
    """A resident submits a petition (or staff enter one for him); it is due within its type's
    working days and lands at the community."""
    now = now or datetime.now(UTC)
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in to submit a petition (a resident's account, or staff)")
    data.validate()
    household_id: int | None
    areas: Any
    if viewer.is_resident:
        if data.household_code or data.community_code or data.petitioner_name:
            raise InvalidInput(
                "a resident petitions for his own household: leave household_code, "
                "community_code and petitioner_name out",
                parameter="household_code",
            )
        home = resident_household(session, viewer.user_id)
        if home is None or home.grid_code is None:
            raise Forbidden("your account is not tied to a household in a grid")
        areas = session.execute(_AREAS_OF_GRID, {"code": home.grid_code}).one()
        household_id = home.household_id
        name, phone = _resident_contact(session, home.resident_id)
    else:
        if data.household_code is not None:
            home = household_by_code(session, data.household_code)
            if home.grid_code is None:
                raise InvalidInput("that household lies in no grid", parameter="household_code")
            areas = session.execute(_AREAS_OF_GRID, {"code": home.grid_code}).one()
            household_id = home.household_id
        elif data.community_code is not None:
            areas = session.execute(
                _AREAS_OF_COMMUNITY, {"code": data.community_code}
            ).one_or_none()
            if areas is None:
                raise InvalidInput(
                    f"no current community has code {data.community_code}",
                    parameter="community_code",
                )
            household_id = None
        else:
            raise InvalidInput(
                "say where the petition comes from: household_code or community_code",
                parameter="household_code",
            )
        if not viewer.covers(areas.grid_code or areas.community_code):
            raise Forbidden(f"that household or community is outside your area {viewer.scope_code}")
        name, phone = data.petitioner_name, data.petitioner_phone
        if name is None or not 1 <= len(name.strip()) <= 50:
            raise InvalidInput(
                "petitioner_name needs 1 to 50 characters", parameter="petitioner_name"
            )
        name = name.strip()
    number = int(session.execute(text("SELECT nextval('incident_id_seq')")).scalar_one())
    district = str(areas.street_code)[:6]
    code = case_code(district, now, number)
    due = answer_deadline(session, data.petition_type, now)
    session.execute(
        text(
            """
            INSERT INTO petition (id, code, petition_type, subject, title, description,
                submitted_by, household_id, petitioner_name, petitioner_phone, grid_id,
                community_id, street_id, district_code, status, escalation_level, submitted_at,
                due_at, updated_at)
            VALUES (:id, :code, :type, :subject, :title, :description, :by, :household, :name,
                :phone, :grid, :community, :street, :district, 'submitted', 'community', :now,
                :due, :now)
            """
        ),
        {
            "id": number,
            "code": code,
            "type": data.petition_type,
            "subject": data.subject,
            "title": data.title,
            "description": data.description,
            "by": viewer.user_id,
            "household": household_id,
            "name": name,
            "phone": phone,
            "grid": areas.grid_id,
            "community": areas.community_id,
            "street": areas.street_id,
            "district": district,
            "now": now,
            "due": due,
        },
    )
    _history(session, number, now, actor_of(viewer), None, "submitted", "submit", None, "已提交")
    return get_petition(session, viewer, number)


def _resident_contact(session: Session, resident_id: int | None) -> tuple[str | None, str | None]:
    if resident_id is None:
        return None, None
    row = session.execute(
        text("SELECT name, phone FROM resident WHERE id = :r"), {"r": resident_id}
    ).one_or_none()
    return (row.name, row.phone) if row is not None else (None, None)


def _history(
    session: Session,
    petition_id: int,
    at: datetime,
    actor: str,
    frm: str | None,
    to: str,
    action: str,
    note: str | None,
    public_note: str | None,
) -> None:
    session.execute(
        text(
            "INSERT INTO petition_transition (petition_id, at, actor, from_status, to_status,"
            " action, note, public_note) VALUES (:p, :at, :actor, :frm, :to, :action, :note,"
            " :public_note)"
        ),
        {
            "p": petition_id,
            "at": at,
            "actor": actor,
            "frm": frm,
            "to": to,
            "action": action,
            "note": note,
            "public_note": public_note,
        },
    )


def _load(session: Session, petition_id: int, *, lock: bool = False) -> Any:
    row = session.execute(
        text(_SELECT + " WHERE p.id = :id" + (" FOR UPDATE OF p" if lock else "")),
        {"id": petition_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no petition {petition_id}")
    return row


def _check_access(viewer: Viewer, row: Any) -> None:
    if viewer.is_resident:
        if viewer.household_id is None or row.household_id != viewer.household_id:
            # Another household's petition does not exist for him (no probing).
            raise NotFound(f"no petition {row.id}")
        return
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in to read petitions")
    if not viewer.covers(_scope_code(row)):
        raise Forbidden(f"petition {row.id} lies outside your area {viewer.scope_code}")


def _present(row: Any, viewer: Viewer, level: Exposure, *, full: bool) -> dict[str, Any]:
    own = viewer.is_resident
    item: dict[str, Any] = {
        "id": row.id,
        "code": row.code,
        "case_kind": "petition",
        "petition_type": row.petition_type,
        "petition_type_label": PETITION_TYPE_LABELS_ZH[row.petition_type],
        "subject": row.subject,
        "title": row.title,
        "status": row.status,
        "status_label": PETITION_STATUS_LABELS_ZH[row.status],
        "community_code": row.community_code,
        "community_name": row.community_name,
        "grid_code": row.grid_code,
        "escalation_level": row.escalation_level,
        "submitted_at": iso(row.submitted_at),
        "due_at": iso(row.due_at),
        "overdue": row.status in PETITION_OPEN_STATUSES
        and row.due_at is not None
        and row.due_at < datetime.now(UTC),
        "answered_at": iso(row.answered_at),
        "rating": row.rating,
        "incident_code": row.incident_code,
    }
    # His own name and phone are his; staff get them as the disclosure rule says.
    item["petitioner_name"] = row.petitioner_name if own else show_name(row.petitioner_name, level)
    item["petitioner_phone"] = (
        row.petitioner_phone if own else show_phone(row.petitioner_phone, level)
    )
    item["masked"] = not own and level is not Exposure.EXACT
    if full:
        item.update(
            description=row.description,
            answer=row.answer,
            rating_comment=row.rating_comment,
            rated_at=iso(row.rated_at),
            closed_at=iso(row.closed_at),
        )
        if not own:
            item["assigned_to"] = row.assigned_to
            item["answered_by"] = row.answered_by
    return item


def _history_rows(session: Session, petition_id: int, staff: bool) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT at, actor, from_status, to_status, action, note, public_note"
            " FROM petition_transition WHERE petition_id = :p ORDER BY at, id"
        ),
        {"p": petition_id},
    ).all()
    out = []
    for h in rows:
        entry: dict[str, Any] = {
            "at": iso(h.at),
            "from": h.from_status,
            "to": h.to_status,
            "status_label": PETITION_STATUS_LABELS_ZH[h.to_status],
            "action": h.action,
            "public_note": h.public_note,
        }
        if staff:
            entry.update(actor=h.actor, note=h.note)
        out.append(entry)
    return out


def get_petition(session: Session, viewer: Viewer, petition_id: int) -> dict[str, Any]:
    """One petition as the viewer may see it, with its history and the viewer's next steps."""
    row = _load(session, petition_id)
    _check_access(viewer, row)
    level = exposure(viewer, _scope_code(row))
    item = _present(row, viewer, level, full=True)
    if level is Exposure.EXACT and (row.petitioner_name or row.petitioner_phone):
        audit.disclose(
            session,
            viewer,
            f"petition:{row.code}",
            subjects=[audit.subject("petition", row.code)],
            area_code=_scope_code(row),
        )
    item["history"] = _history_rows(session, petition_id, staff=not viewer.is_resident)
    item["allowed_actions"] = list(_actions(viewer, row))
    return item


def _actions(viewer: Viewer, row: Any) -> tuple[str, ...]:
    """The steps the viewer's role may take now (a resident's household is checked by
    _check_access, the step's area by the step itself)."""
    return tuple(PETITION_WORKFLOW.actions(row.status, viewer.role))


def list_petitions(
    session: Session,
    viewer: Viewer,
    *,
    status: str | None = None,
    subject: str | None = None,
    within: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """A resident's household's petitions, or the petitions in a staff member's area (newest
    first); names and phones masked (a list never unmasks: open one petition with a purpose)."""
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in to list petitions")
    if status is not None and status not in PETITION_STATUS_LABELS_ZH:
        raise InvalidInput(
            f"status must be one of {', '.join(PETITION_STATUS_LABELS_ZH)}", parameter="status"
        )
    if subject is not None and subject not in PETITION_SUBJECTS:
        raise InvalidInput(
            f"subject must be one of {', '.join(PETITION_SUBJECTS)}", parameter="subject"
        )
    clauses = [
        "(CAST(:status AS text) IS NULL OR p.status = :status)",
        "(CAST(:subject AS text) IS NULL OR p.subject = :subject)",
    ]
    params: dict[str, Any] = {
        "status": status,
        "subject": subject,
        "limit": limit,
        "offset": offset,
    }
    if viewer.is_resident:
        clauses.append("p.household_id = :household")
        params["household"] = viewer.household_id
    else:
        clauses.append("coalesce(g.code, c.code) LIKE :scope")
        params["scope"] = viewer.scope_like
        if within is not None:
            if not viewer.covers(within):
                raise Forbidden(f"the area {within} is outside your scope {viewer.scope_code}")
            clauses.append("coalesce(g.code, c.code) LIKE :within")
            params["within"] = _subtree_like(within)
    where = " AND ".join(clauses)
    rows = session.execute(
        text(
            _SELECT + f" WHERE {where} ORDER BY p.submitted_at DESC, p.id DESC"
            " LIMIT :limit OFFSET :offset"
        ),
        params,
    ).all()
    total = session.execute(
        text(
            "SELECT count(*) FROM petition p LEFT JOIN area g ON g.id = p.grid_id"
            f" JOIN area c ON c.id = p.community_id WHERE {where}"
        ),
        params,
    ).scalar_one()
    items = []
    for row in rows:
        level = exposure(viewer.with_purpose(None), _scope_code(row))
        item = _present(row, viewer, level, full=False)
        item["allowed_actions"] = list(_actions(viewer, row))
        items.append(item)
    return {"total": int(total), "items": items}


def _subtree_like(code: str) -> str:
    from gis.scope import subtree_code_prefix

    return subtree_code_prefix(code) + "%"


def step(
    session: Session,
    viewer: Viewer,
    petition_id: int,
    data: PetitionStep,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Take one step of the petition workflow, the row locked (409 lists the open steps)."""
    now = now or datetime.now(UTC)
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in to work on a petition")
    row = _load(session, petition_id, lock=True)
    _check_access(viewer, row)
    wf_step = PETITION_WORKFLOW.check(row.status, None, viewer.role, action=data.action)
    action = wf_step.name
    _refuse_foreign_fields(data, action)
    note = data.note.strip() if data.note else None
    public_note = data.public_note.strip() if data.public_note else None
    for value, name in ((note, "note"), (public_note, "public_note")):
        if value is not None and len(value) > TEXT_MAX:
            raise InvalidInput(f"{name} has more than {TEXT_MAX} characters", parameter=name)
    if action in _NEEDS_NOTE and not (note or public_note):
        raise InvalidInput(
            f"{wf_step.label} needs a reason: write it in public_note", parameter="public_note"
        )
    sets: dict[str, Any] = {"status": wf_step.to_status, "updated_at": now}
    if action in ("assign", "reassign"):
        who = (data.assigned_to or "").strip()
        if not 1 <= len(who) <= ASSIGNEE_MAX:
            raise InvalidInput(
                f"assigned_to needs 1 to {ASSIGNEE_MAX} characters: the person or office that "
                "answers",
                parameter="assigned_to",
            )
        sets["assigned_to"] = who
        if data.level is not None:
            if data.level not in ESCALATION_LEVELS:
                raise InvalidInput(
                    f"level must be one of {', '.join(ESCALATION_LEVELS)}", parameter="level"
                )
            sets["escalation_level"] = data.level
        public_note = public_note or f"已交办：{who}"
    elif action == "answer":
        answer = (data.answer or "").strip()
        if not 1 <= len(answer) <= TEXT_MAX:
            raise InvalidInput(f"answer needs 1 to {TEXT_MAX} characters", parameter="answer")
        sets.update(answer=answer, answered_at=now, answered_by=actor_of(viewer))
        public_note = public_note or "已答复"
    elif action == "rate":
        if data.rating not in STARS:
            raise InvalidInput(
                "rating must be a whole number of stars from 1 to 5", parameter="rating"
            )
        comment = (data.comment or "").strip() or None
        if comment is not None and len(comment) > COMMENT_MAX:
            raise InvalidInput(
                f"comment has more than {COMMENT_MAX} characters", parameter="comment"
            )
        sets.update(rating=data.rating, rating_comment=comment, rated_at=now, closed_at=now)
        public_note = f"评价：{data.rating}星"
        note = comment
    elif action == "refuse":
        sets["closed_at"] = now
    elif action == "convert":
        incident = _convert(session, viewer, row, data, now)
        sets.update(incident_id=incident["id"], closed_at=now)
        public_note = public_note or f"已转为事件 {incident['code']}"
    assignments = ", ".join(f"{k} = :{k}" for k in sets)  # keys are ours, values bound
    session.execute(
        text(f"UPDATE petition SET {assignments} WHERE id = :id"), {**sets, "id": petition_id}
    )
    _history(
        session,
        petition_id,
        now,
        actor_of(viewer),
        row.status,
        wf_step.to_status,
        action,
        note,
        public_note,
    )
    if action == "convert":
        _copy_history(session, petition_id, sets["incident_id"])
    return get_petition(session, viewer, petition_id)


_FIELDS_OF = {
    "assign": {"assigned_to", "level"},
    "reassign": {"assigned_to", "level"},
    "answer": {"answer"},
    "rate": {"rating", "comment"},
    "convert": {"category", "lon", "lat"},
}


def _refuse_foreign_fields(data: PetitionStep, action: str) -> None:
    """Data a step does not take is refused, so nothing is silently ignored."""
    allowed = _FIELDS_OF.get(action, set())
    for name in ("assigned_to", "level", "answer", "rating", "comment", "category", "lon", "lat"):
        if getattr(data, name) is not None and name not in allowed:
            raise InvalidInput(f"{name} does not apply to {action}", parameter=name)


def _convert(
    session: Session, viewer: Viewer, row: Any, data: PetitionStep, now: datetime
) -> dict[str, Any]:
    """The petition is really a spot on the map: open an incident there (routed, deadlines and
    all, by the ordinary intake) that names the petition."""
    if data.category is None or data.lon is None or data.lat is None:
        raise InvalidInput(
            "converting to an incident needs its category and the place (lon, lat)",
            parameter="category",
        )
    result = create_incident(
        session,
        viewer,
        IncidentInput(
            category=data.category,
            description=f"{row.title}：{row.description}"[:4000],
            lon=data.lon,
            lat=data.lat,
            source="public",
            reporter_name=row.petitioner_name,
            reporter_phone=row.petitioner_phone,
            attributes={"petition": row.code},
        ),
        now=now,
    )
    return result.incident


def _copy_history(session: Session, petition_id: int, incident_id: int) -> None:
    """The incident keeps the petition's history: each step becomes a row of the incident's
    history at its own time (marked 诉求), before the incident's own first step."""
    rows = session.execute(
        text(
            "SELECT at, actor, from_status, to_status, action, note, public_note"
            " FROM petition_transition WHERE petition_id = :p ORDER BY at, id"
        ),
        {"p": petition_id},
    ).all()
    for h in rows:
        label = PETITION_STATUS_LABELS_ZH[h.to_status]
        # The incident's own vocabulary has no petition statuses: the copied rows stay in its
        # first status ('reported') and carry the petition's step in their notes and action.
        record_history(
            session,
            incident_id,
            h.at,
            h.actor,
            None if h.from_status is None else "reported",
            "reported",
            f"诉求·{label}" + (f"：{h.note}" if h.note else ""),
            [],
            f"诉求·{label}" + (f"：{h.public_note}" if h.public_note else ""),
            [],
            action=f"petition_{h.action}" if h.action else None,
        )


def escalate_overdue(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Raise each open petition past its deadline one level (community → street → district),
    as the incident sweep does for incidents; it gets one more working day at the new level."""
    now = now or datetime.now(UTC)
    rows = session.execute(
        text(
            "SELECT id, code, status, escalation_level FROM petition"
            " WHERE status = ANY(:open) AND due_at < :now ORDER BY due_at"
            " FOR UPDATE SKIP LOCKED"
        ),
        {"open": list(PETITION_OPEN_STATUSES), "now": now},
    ).all()
    calendar = load_calendar(session)
    done = []
    for row in rows:
        higher = next_escalation_level(row.escalation_level)
        if higher is None:
            continue
        due = deadline(now, timedelta(hours=WORKING_DAY_HOURS), calendar)
        session.execute(
            text(
                "UPDATE petition SET escalation_level = :l, due_at = :d, updated_at = :now"
                " WHERE id = :i"
            ),
            {"l": higher, "d": due, "now": now, "i": row.id},
        )
        _history(
            session,
            row.id,
            now,
            "system:escalation",
            row.status,
            row.status,
            "escalate",
            f"逾期未答复，升级至{higher}",
            None,
        )
        done.append({"code": row.code, "from": row.escalation_level, "to": higher})
    return done


def statistics(
    session: Session,
    viewer: Viewer,
    *,
    by: str,
    start: datetime,
    end: datetime,
    within: str | None = None,
) -> list[dict[str, Any]]:
    """Counts of petitions submitted in [start, end) in the viewer's area, by ``subject`` or by
    area (``community`` / ``street``): total, answered, answered on time, overdue, converted,
    average stars and the share of 4–5 star ratings (满意率)."""
    if viewer.is_public or viewer.is_resident or viewer.username is None:
        raise Forbidden("petition statistics are for staff")
    keys = {"subject": "p.subject", "community": "c.code", "street": "s.code"}
    if by not in keys:
        raise InvalidInput(f"by must be one of {', '.join(keys)}", parameter="by")
    if end <= start:
        raise InvalidInput("end must be after start", parameter="end")
    scope = viewer.scope_like
    if within is not None:
        if not viewer.covers(within):
            raise Forbidden(f"the area {within} is outside your scope {viewer.scope_code}")
        scope = _subtree_like(within)
    rows = session.execute(
        text(
            f"""
            SELECT {keys[by]} AS key, count(*) AS total,
                   count(*) FILTER (WHERE p.answered_at IS NOT NULL) AS answered,
                   count(*) FILTER (WHERE p.answered_at <= p.due_at) AS answered_on_time,
                   count(*) FILTER (WHERE p.status = ANY(:open) AND p.due_at < :now) AS overdue,
                   count(*) FILTER (WHERE p.status = 'converted') AS converted,
                   avg(p.rating)::float AS avg_rating,
                   count(p.rating) AS rated,
                   count(*) FILTER (WHERE p.rating >= 4) AS satisfied
            FROM petition p LEFT JOIN area g ON g.id = p.grid_id
            JOIN area c ON c.id = p.community_id JOIN area s ON s.id = p.street_id
            WHERE coalesce(g.code, c.code) LIKE :scope
              AND p.submitted_at >= :start AND p.submitted_at < :end
            GROUP BY 1 ORDER BY 1
            """
        ),
        {
            "open": list(PETITION_OPEN_STATUSES),
            "now": datetime.now(UTC),
            "scope": scope,
            "start": start,
            "end": end,
        },
    ).all()
    return [
        {
            by: r.key,
            "total": r.total,
            "answered": r.answered,
            "answered_on_time": r.answered_on_time,
            "on_time_rate": round(r.answered_on_time / r.answered, 4) if r.answered else None,
            "overdue": r.overdue,
            "converted": r.converted,
            "avg_rating": round(r.avg_rating, 2) if r.avg_rating is not None else None,
            "satisfaction_rate": round(r.satisfied / r.rated, 4) if r.rated else None,
        }
        for r in rows
    ]
