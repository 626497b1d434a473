"""Disputes mediated on three levels (三级调解): register, read, list, step, sessions, statistics.

A dispute is a case kind on the incident engine: its steps are ``DISPUTE_WORKFLOW``
(gis/incidents/workflow.py), its levels are the first three escalation levels (grid → community
→ street), its deadline per level is counted in working time by the incident calendar, and its
code is the one case code. Who may act depends on the level the dispute is at now
(``MEDIATOR_ROLES``): the grid's chief and workers mediate first; once escalated, the community's
mediation committee (community secretary) and then the street's (street secretary) take over,
and the lower level can only read it.

The parties' names, phones and ID numbers are personal data: masked unless the role may unmask,
the dispute lies in its scope and the request states a purpose — then every party shown is
audited (gis/audit.py) in the request's transaction. Lists never unmask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.incidents.deadlines import WORKING_DAY_HOURS, load_calendar
from gis.incidents.history import actor_of
from gis.incidents.intake import case_code
from gis.incidents.timestamps import iso
from gis.incidents.vocabulary import (
    DISPUTE_OPEN_STATUSES,
    DISPUTE_STATUS_LABELS_ZH,
    DISPUTE_TYPES,
    MEDIATION_DAYS_PER_LEVEL,
    MEDIATION_LEVEL_LABELS_ZH,
    MEDIATION_LEVELS,
    PARTY_SIDE_LABELS_ZH,
    PARTY_SIDES,
    SESSION_OUTCOME_LABELS_ZH,
    SESSION_OUTCOMES,
)
from gis.incidents.workcalendar import deadline, elapsed
from gis.incidents.workflow import DISPUTE_WORKFLOW, MEDIATOR_ROLES, next_escalation_level
from gis.masking import Exposure, exposure, show_id_number, show_name, show_phone
from gis.scope import Viewer, subtree_code_prefix

TEXT_MAX = 4000
TERMS_MAX = 8000
NAME_MAX = 50
MEDIATOR_MAX = 100
_ID_NUMBER = r"^[0-9]{17}[0-9X]$"
_PHONE = r"^1[3-9][0-9]{9}$"


@dataclass
class PartyInput:
    side: str
    name: str
    phone: str | None = None
    id_number: str | None = None
    resident_id: int | None = None


@dataclass
class DisputeInput:
    dispute_type: str
    summary: str
    grid_code: str
    parties: list[PartyInput] = field(default_factory=list)


@dataclass
class DisputeStep:
    action: str
    note: str | None = None
    mediator: str | None = None  # start: who mediates at this level
    terms: str | None = None  # agree: the agreement's terms (调解协议)
    signed_at: datetime | None = None
    fulfil_by: date | None = None
    fulfilled: bool | None = None  # follow_up: whether the agreement is kept
    visited_at: datetime | None = None


@dataclass
class SessionInput:
    held_at: datetime
    outcome: str
    mediator: str
    note: str | None = None


_SELECT = """
    SELECT d.*, g.code AS grid_code, g.name AS grid_name, c.code AS community_code,
           c.name AS community_name, s.code AS street_code
    FROM dispute d
    LEFT JOIN area g ON g.id = d.grid_id
    JOIN area c ON c.id = d.community_id
    JOIN area s ON s.id = d.street_id
"""


def _scope_code(row: Any) -> str:
    return str(row.grid_code or row.community_code)


def _level_deadline(session: Session, start: datetime) -> datetime:
    hours = MEDIATION_DAYS_PER_LEVEL * WORKING_DAY_HOURS
    return deadline(start, timedelta(hours=hours), load_calendar(session))


def _require_staff(viewer: Viewer) -> None:
    if viewer.is_public or viewer.is_resident or viewer.username is None:
        raise Forbidden("mediation records are for mediators and their supervisors: sign in")


def _check_level(viewer: Viewer, level: str) -> None:
    if viewer.role not in MEDIATOR_ROLES[level]:
        raise Forbidden(
            f"the dispute is with the {MEDIATION_LEVEL_LABELS_ZH[level]} ({level}); roles that "
            f"mediate there: {', '.join(sorted(MEDIATOR_ROLES[level]))}"
        )


def _clean_text(value: str | None, name: str, limit: int = TEXT_MAX) -> str | None:
    value = value.strip() if value else None
    if value is not None and len(value) > limit:
        raise InvalidInput(f"{name} has more than {limit} characters", parameter=name)
    return value or None


def _check_parties(session: Session, parties: list[PartyInput]) -> None:
    import re

    sides = {p.side for p in parties}
    if not {"applicant", "respondent"} <= sides:
        raise InvalidInput(
            "a dispute needs at least one applicant (申请人) and one respondent (被申请人)",
            parameter="parties",
        )
    for i, p in enumerate(parties):
        where = f"parties[{i}]"
        if p.side not in PARTY_SIDES:
            raise InvalidInput(
                f"{where}.side must be one of {', '.join(PARTY_SIDES)}", parameter="parties"
            )
        p.name = p.name.strip()
        if not 1 <= len(p.name) <= NAME_MAX:
            raise InvalidInput(
                f"{where}.name needs 1 to {NAME_MAX} characters", parameter="parties"
            )
        if p.phone is not None and not re.match(_PHONE, p.phone):
            raise InvalidInput(
                f"{where}.phone must be an 11-digit mobile number", parameter="parties"
            )
        if p.id_number is not None:
            p.id_number = p.id_number.upper()
            if not re.match(_ID_NUMBER, p.id_number):
                raise InvalidInput(
                    f"{where}.id_number must be an 18-character ID number", parameter="parties"
                )
        if (
            p.resident_id is not None
            and session.execute(
                text("SELECT 1 FROM resident WHERE id = :r"), {"r": p.resident_id}
            ).first()
            is None
        ):
            raise InvalidInput(
                f"{where}.resident_id: no resident {p.resident_id}", parameter="parties"
            )


def register(
    session: Session, viewer: Viewer, data: DisputeInput, *, now: datetime | None = None
) -> dict[str, Any]:
    """Register a dispute in a grid; it starts with the grid's mediator."""
    now = now or datetime.now(UTC)
    _require_staff(viewer)
    _check_level(viewer, "grid")
    if data.dispute_type not in DISPUTE_TYPES:
        raise InvalidInput(
            f"dispute_type must be one of {', '.join(DISPUTE_TYPES)}", parameter="dispute_type"
        )
    summary = _clean_text(data.summary, "summary")
    if summary is None:
        raise InvalidInput("summary needs 1 to 4000 characters", parameter="summary")
    _check_parties(session, data.parties)
    areas = session.execute(
        text(
            "SELECT g.id AS grid_id, c.id AS community_id, s.id AS street_id, s.code AS street"
            " FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id"
            " WHERE g.code = :g AND g.level = 'grid' AND g.valid_to IS NULL"
        ),
        {"g": data.grid_code},
    ).one_or_none()
    if areas is None:
        raise InvalidInput(f"no current grid has code {data.grid_code}", parameter="grid_code")
    if not viewer.covers(data.grid_code):
        raise Forbidden(f"grid {data.grid_code} is outside your area {viewer.scope_code}")
    number = int(session.execute(text("SELECT nextval('incident_id_seq')")).scalar_one())
    district = str(areas.street)[:6]
    actor = actor_of(viewer)
    session.execute(
        text(
            """
            INSERT INTO dispute (id, code, dispute_type, summary, grid_id, community_id,
                street_id, district_code, level, level_since, status, registered_by,
                registered_at, due_at, updated_at)
            VALUES (:id, :code, :type, :summary, :grid, :community, :street, :district, 'grid',
                :now, 'registered', :actor, :now, :due, :now)
            """
        ),
        {
            "id": number,
            "code": case_code(district, now, number),
            "type": data.dispute_type,
            "summary": summary,
            "grid": areas.grid_id,
            "community": areas.community_id,
            "street": areas.street_id,
            "district": district,
            "now": now,
            "actor": actor,
            "due": _level_deadline(session, now),
        },
    )
    for p in data.parties:
        session.execute(
            text(
                "INSERT INTO dispute_party (dispute_id, side, name, phone, id_number, resident_id)"
                " VALUES (:d, :side, :name, :phone, :id_number, :resident)"
            ),
            {
                "d": number,
                "side": p.side,
                "name": p.name,
                "phone": p.phone,
                "id_number": p.id_number,
                "resident": p.resident_id,
            },
        )
    _history(session, number, now, actor, None, "registered", "register", "grid", None)
    return get_dispute(session, viewer, number)


def _history(
    session: Session,
    dispute_id: int,
    at: datetime,
    actor: str,
    frm: str | None,
    to: str,
    action: str,
    level: str,
    note: str | None,
) -> None:
    session.execute(
        text(
            "INSERT INTO dispute_transition (dispute_id, at, actor, from_status, to_status,"
            " action, level, note) VALUES (:d, :at, :actor, :frm, :to, :action, :level, :note)"
        ),
        {
            "d": dispute_id,
            "at": at,
            "actor": actor,
            "frm": frm,
            "to": to,
            "action": action,
            "level": level,
            "note": note,
        },
    )


def _load(session: Session, viewer: Viewer, dispute_id: int, *, lock: bool = False) -> Any:
    _require_staff(viewer)
    row = session.execute(
        text(_SELECT + " WHERE d.id = :id" + (" FOR UPDATE OF d" if lock else "")),
        {"id": dispute_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no dispute {dispute_id}")
    if not viewer.covers(_scope_code(row)):
        raise Forbidden(f"dispute {dispute_id} lies outside your area {viewer.scope_code}")
    return row


def _summary(row: Any, viewer: Viewer) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "case_kind": "dispute",
        "dispute_type": row.dispute_type,
        "status": row.status,
        "status_label": DISPUTE_STATUS_LABELS_ZH[row.status],
        "level": row.level,
        "level_label": MEDIATION_LEVEL_LABELS_ZH[row.level],
        "mediator": row.mediator,
        "grid_code": row.grid_code,
        "grid_name": row.grid_name,
        "community_code": row.community_code,
        "community_name": row.community_name,
        "registered_at": iso(row.registered_at),
        "due_at": iso(row.due_at),
        "overdue": row.status in DISPUTE_OPEN_STATUSES
        and row.due_at is not None
        and row.due_at < datetime.now(UTC),
        "closed_at": iso(row.closed_at),
        "outcome": row.outcome,
        "allowed_actions": list(_actions(viewer, row)),
    }


def _actions(viewer: Viewer, row: Any) -> tuple[str, ...]:
    if viewer.role not in MEDIATOR_ROLES[row.level]:
        return ()
    actions = DISPUTE_WORKFLOW.actions(row.status, viewer.role)
    if next_escalation_level(row.level) not in MEDIATION_LEVELS:
        actions = tuple(a for a in actions if a != "escalate")
    return actions


def _parties(
    session: Session, viewer: Viewer, row: Any, level: Exposure
) -> tuple[list[dict[str, Any]], list[str]]:
    rows = session.execute(
        text(
            "SELECT id, side, name, phone, id_number, resident_id FROM dispute_party"
            " WHERE dispute_id = :d ORDER BY side, id"
        ),
        {"d": row.id},
    ).all()
    shown = [
        {
            "id": p.id,
            "side": p.side,
            "side_label": PARTY_SIDE_LABELS_ZH[p.side],
            "name": show_name(p.name, level),
            "phone": show_phone(p.phone, level),
            "id_number": show_id_number(p.id_number, level),
        }
        for p in rows
    ]
    subjects = [
        audit.subject("resident", p.resident_id)
        if p.resident_id is not None
        else audit.subject("dispute_party", p.id)
        for p in rows
    ]
    return shown, subjects


def get_dispute(session: Session, viewer: Viewer, dispute_id: int) -> dict[str, Any]:
    """One dispute: parties (masked by the disclosure rule, audited when exact), sessions,
    agreement, follow-ups, history and the viewer's next steps."""
    row = _load(session, viewer, dispute_id)
    level = exposure(viewer, _scope_code(row))
    item = _summary(row, viewer)
    item["summary"] = row.summary
    item["registered_by"] = row.registered_by
    parties, subjects = _parties(session, viewer, row, level)
    item["parties"] = parties
    item["masked"] = level is not Exposure.EXACT
    if level is Exposure.EXACT and parties:
        audit.disclose(
            session, viewer, f"dispute:{row.code}", subjects=subjects, area_code=_scope_code(row)
        )
    item["sessions"] = [
        {
            "id": s.id,
            "level": s.level,
            "level_label": MEDIATION_LEVEL_LABELS_ZH[s.level],
            "held_at": iso(s.held_at),
            "mediator": s.mediator,
            "outcome": s.outcome,
            "outcome_label": SESSION_OUTCOME_LABELS_ZH[s.outcome],
            "note": s.note,
        }
        for s in session.execute(
            text("SELECT * FROM dispute_session WHERE dispute_id = :d ORDER BY held_at, id"),
            {"d": dispute_id},
        ).all()
    ]
    agreement = session.execute(
        text("SELECT * FROM dispute_agreement WHERE dispute_id = :d"), {"d": dispute_id}
    ).one_or_none()
    item["agreement"] = (
        None
        if agreement is None
        else {
            "level": agreement.level,
            "level_label": MEDIATION_LEVEL_LABELS_ZH[agreement.level],
            "signed_at": iso(agreement.signed_at),
            "terms": agreement.terms,
            "fulfil_by": agreement.fulfil_by.isoformat() if agreement.fulfil_by else None,
            "recorded_by": agreement.recorded_by,
        }
    )
    item["followups"] = [
        {
            "visited_at": iso(f.visited_at),
            "fulfilled": f.fulfilled,
            "note": f.note,
            "recorded_by": f.recorded_by,
        }
        for f in session.execute(
            text("SELECT * FROM dispute_followup WHERE dispute_id = :d ORDER BY visited_at, id"),
            {"d": dispute_id},
        ).all()
    ]
    item["history"] = [
        {
            "at": iso(h.at),
            "actor": h.actor,
            "from": h.from_status,
            "to": h.to_status,
            "status_label": DISPUTE_STATUS_LABELS_ZH[h.to_status],
            "action": h.action,
            "level": h.level,
            "level_label": MEDIATION_LEVEL_LABELS_ZH[h.level],
            "note": h.note,
        }
        for h in session.execute(
            text("SELECT * FROM dispute_transition WHERE dispute_id = :d ORDER BY at, id"),
            {"d": dispute_id},
        ).all()
    ]
    return item


def list_disputes(
    session: Session,
    viewer: Viewer,
    *,
    status: str | None = None,
    level: str | None = None,
    within: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Disputes in the viewer's area, newest first (no parties: open one to see them)."""
    _require_staff(viewer)
    if status is not None and status not in DISPUTE_STATUS_LABELS_ZH:
        raise InvalidInput(
            f"status must be one of {', '.join(DISPUTE_STATUS_LABELS_ZH)}", parameter="status"
        )
    if level is not None and level not in MEDIATION_LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(MEDIATION_LEVELS)}", parameter="level")
    scope = viewer.scope_like
    if within is not None:
        if not viewer.covers(within):
            raise Forbidden(f"the area {within} is outside your scope {viewer.scope_code}")
        scope = subtree_code_prefix(within) + "%"
    where = (
        "coalesce(g.code, c.code) LIKE :scope"
        " AND (CAST(:status AS text) IS NULL OR d.status = :status)"
        " AND (CAST(:level AS text) IS NULL OR d.level = :level)"
    )
    params = {"scope": scope, "status": status, "level": level, "limit": limit, "offset": offset}
    rows = session.execute(
        text(
            _SELECT + f" WHERE {where} ORDER BY d.registered_at DESC, d.id DESC"
            " LIMIT :limit OFFSET :offset"
        ),
        params,
    ).all()
    total = session.execute(
        text(
            "SELECT count(*) FROM dispute d LEFT JOIN area g ON g.id = d.grid_id"
            f" JOIN area c ON c.id = d.community_id WHERE {where}"
        ),
        params,
    ).scalar_one()
    return {"total": int(total), "items": [_summary(r, viewer) for r in rows]}


def step(
    session: Session,
    viewer: Viewer,
    dispute_id: int,
    data: DisputeStep,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One step of the mediation workflow by a mediator of the dispute's current level."""
    now = now or datetime.now(UTC)
    row = _load(session, viewer, dispute_id, lock=True)
    wf_step = DISPUTE_WORKFLOW.check(row.status, None, viewer.role, action=data.action)
    action = wf_step.name
    _check_level(viewer, row.level)
    _refuse_foreign_fields(data, action)
    note = _clean_text(data.note, "note")
    actor = actor_of(viewer)
    sets: dict[str, Any] = {"status": wf_step.to_status, "updated_at": now}
    level = row.level
    if action == "start":
        mediator = _clean_text(data.mediator, "mediator", MEDIATOR_MAX) or actor
        sets["mediator"] = mediator
    elif action == "escalate":
        higher = next_escalation_level(row.level)
        if higher not in MEDIATION_LEVELS:
            raise Conflict(
                "the street's mediation committee is the last level: end the mediation "
                "(fail) and refer the parties to arbitration or court",
                parameter="action",
            )
        if not note:
            raise InvalidInput("escalating needs a reason: write it in note", parameter="note")
        assert higher is not None
        level = higher
        sets.update(
            level=higher, level_since=now, mediator=None, due_at=_level_deadline(session, now)
        )
    elif action == "agree":
        terms = _clean_text(data.terms, "terms", TERMS_MAX)
        if terms is None:
            raise InvalidInput("the agreement needs its terms (协议内容)", parameter="terms")
        signed_at = data.signed_at or now
        if signed_at.tzinfo is None or signed_at > now + timedelta(minutes=5):
            raise InvalidInput(
                "signed_at needs a time zone and may not lie in the future", parameter="signed_at"
            )
        session.execute(
            text(
                "INSERT INTO dispute_agreement (dispute_id, level, signed_at, terms, fulfil_by,"
                " recorded_by) VALUES (:d, :level, :signed, :terms, :fulfil, :by)"
            ),
            {
                "d": dispute_id,
                "level": row.level,
                "signed": signed_at,
                "terms": terms,
                "fulfil": data.fulfil_by,
                "by": actor,
            },
        )
        sets.update(outcome="agreement", closed_at=now)
    elif action in ("fail", "withdraw"):
        if not note:
            raise InvalidInput(
                f"{wf_step.label} needs a reason: write it in note", parameter="note"
            )
        sets.update(outcome="failed" if action == "fail" else "withdrawn", closed_at=now)
    elif action == "follow_up":
        if data.fulfilled is None:
            raise InvalidInput(
                "say whether the agreement is kept: fulfilled true or false", parameter="fulfilled"
            )
        visited = data.visited_at or now
        if visited.tzinfo is None or visited > now + timedelta(minutes=5):
            raise InvalidInput(
                "visited_at needs a time zone and may not lie in the future", parameter="visited_at"
            )
        session.execute(
            text(
                "INSERT INTO dispute_followup (dispute_id, visited_at, fulfilled, note,"
                " recorded_by) VALUES (:d, :at, :ok, :note, :by)"
            ),
            {"d": dispute_id, "at": visited, "ok": data.fulfilled, "note": note, "by": actor},
        )
    assignments = ", ".join(f"{k} = :{k}" for k in sets)  # keys are ours, values bound
    session.execute(
        text(f"UPDATE dispute SET {assignments} WHERE id = :id"), {**sets, "id": dispute_id}
    )
    _history(session, dispute_id, now, actor, row.status, wf_step.to_status, action, level, note)
    return get_dispute(session, viewer, dispute_id)


_FIELDS_OF = {
    "start": {"mediator"},
    "agree": {"terms", "signed_at", "fulfil_by"},
    "follow_up": {"fulfilled", "visited_at"},
}


def _refuse_foreign_fields(data: DisputeStep, action: str) -> None:
    allowed = _FIELDS_OF.get(action, set())
    for name in ("mediator", "terms", "signed_at", "fulfil_by", "fulfilled", "visited_at"):
        if getattr(data, name) is not None and name not in allowed:
            raise InvalidInput(f"{name} does not apply to {action}", parameter=name)


def record_session(
    session: Session,
    viewer: Viewer,
    dispute_id: int,
    data: SessionInput,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A mediation session (调解会) held at the dispute's current level: date and outcome."""
    now = now or datetime.now(UTC)
    row = _load(session, viewer, dispute_id, lock=True)
    _check_level(viewer, row.level)
    if row.status != "mediating":
        raise Conflict(
            f"sessions are recorded while mediating; the dispute is "
            f"{DISPUTE_STATUS_LABELS_ZH[row.status]} ({row.status})",
            parameter="status",
        )
    if data.outcome not in SESSION_OUTCOMES:
        raise InvalidInput(
            f"outcome must be one of {', '.join(SESSION_OUTCOMES)}", parameter="outcome"
        )
    if data.held_at.tzinfo is None or data.held_at > now + timedelta(minutes=5):
        raise InvalidInput(
            "held_at needs a time zone and may not lie in the future", parameter="held_at"
        )
    if data.held_at < row.registered_at:
        raise InvalidInput("held_at lies before the dispute was registered", parameter="held_at")
    mediator = _clean_text(data.mediator, "mediator", MEDIATOR_MAX)
    if mediator is None:
        raise InvalidInput("mediator needs 1 to 100 characters", parameter="mediator")
    session.execute(
        text(
            "INSERT INTO dispute_session (dispute_id, level, held_at, mediator, outcome, note,"
            " recorded_by) VALUES (:d, :level, :at, :mediator, :outcome, :note, :by)"
        ),
        {
            "d": dispute_id,
            "level": row.level,
            "at": data.held_at,
            "mediator": mediator,
            "outcome": data.outcome,
            "note": _clean_text(data.note, "note"),
            "by": actor_of(viewer),
        },
    )
    session.execute(
        text("UPDATE dispute SET updated_at = :now WHERE id = :d"), {"now": now, "d": dispute_id}
    )
    return get_dispute(session, viewer, dispute_id)


def statistics(
    session: Session,
    viewer: Viewer,
    *,
    start: datetime,
    end: datetime,
    within: str | None = None,
) -> list[dict[str, Any]]:
    """Per level of mediation, over disputes registered in [start, end) in the viewer's area:
    cases that reached the level, those settled there (协议), those that failed there, the
    success rate (settled / ended there) and the mean working days spent at that level."""
    _require_staff(viewer)
    if end <= start:
        raise InvalidInput("end must be after start", parameter="end")
    scope = viewer.scope_like
    if within is not None:
        if not viewer.covers(within):
            raise Forbidden(f"the area {within} is outside your scope {viewer.scope_code}")
        scope = subtree_code_prefix(within) + "%"
    cases = session.execute(
        text(
            "SELECT d.id, d.level, d.status, d.outcome, d.registered_at, d.closed_at"
            " FROM dispute d LEFT JOIN area g ON g.id = d.grid_id"
            " JOIN area c ON c.id = d.community_id"
            " WHERE coalesce(g.code, c.code) LIKE :scope"
            " AND d.registered_at >= :start AND d.registered_at < :end"
        ),
        {"scope": scope, "start": start, "end": end},
    ).all()
    ids = [c.id for c in cases]
    moves = session.execute(
        text(
            "SELECT dispute_id, at, level FROM dispute_transition"
            " WHERE dispute_id = ANY(:ids) AND action = 'escalate' ORDER BY dispute_id, at"
        ),
        {"ids": ids},
    ).all()
    calendar = load_calendar(session)
    now = datetime.now(UTC)
    stats: dict[str, dict[str, Any]] = {
        lv: {"reached": 0, "settled": 0, "failed": 0, "days": []} for lv in MEDIATION_LEVELS
    }
    by_case: dict[int, list[Any]] = {}
    for m in moves:
        by_case.setdefault(m.dispute_id, []).append(m)
    day = timedelta(hours=WORKING_DAY_HOURS)
    for c in cases:
        # The levels a case passed through and when it arrived at each.
        arrivals = [("grid", c.registered_at)] + [(m.level, m.at) for m in by_case.get(c.id, [])]
        for i, (lv, since) in enumerate(arrivals):
            stats[lv]["reached"] += 1
            until = arrivals[i + 1][1] if i + 1 < len(arrivals) else (c.closed_at or now)
            if i + 1 < len(arrivals) or c.closed_at is not None:
                stats[lv]["days"].append(elapsed(since, until, calendar) / day)
        if c.outcome == "agreement":
            stats[c.level]["settled"] += 1
        elif c.outcome == "failed":
            stats[c.level]["failed"] += 1
    out = []
    for lv in MEDIATION_LEVELS:
        s = stats[lv]
        ended = s["settled"] + s["failed"]
        days = s["days"]
        out.append(
            {
                "level": lv,
                "level_label": MEDIATION_LEVEL_LABELS_ZH[lv],
                "cases": s["reached"],
                "settled": s["settled"],
                "failed": s["failed"],
                "success_rate": round(s["settled"] / ended, 4) if ended else None,
                "avg_working_days": round(sum(days) / len(days), 2) if days else None,
            }
        )
    return out
