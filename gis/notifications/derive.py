"""From an incident event to the notifications and deliveries it causes: the one hook.

:func:`gis.incidents.events.append_event` calls :func:`on_event` right after it wrote the event,
in the same transaction as the step itself, so a notification (and an outbox delivery) exists
exactly when the step committed, whichever writer took the step (the API, Open311, the
escalation and deadline runners, the CLI). Events that tell nobody cost one comparison.

Who is told (docs/notifications.md):

- ``dispatch``: the people of the case's current place — the grid's chief and workers (its
  staff and the accounts scoped to the grid) when the case is at grid level, else the desk of
  its level (社区/街道/区县), plus the person it is assigned to;
- ``send_back``: whoever reported it handled (the handler), and the assignee;
- ``due_soon``: the same people as a dispatch (those who hold the case now);
- ``escalation``: the desk at the new level.

Whoever took the step is never told of it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import accounts_to_notify
from gis.incidents.timestamps import iso
from gis.incidents.workflow import INCIDENT_WORKFLOW
from gis.notifications.channels import channels_for
from gis.notifications.messages import render
from gis.notifications.vocabulary import (
    DESK_ROLES,
    DISPATCHED_STATUS,
    DUE_SOON_EVENT,
    ESCALATED_EVENT,
    TRANSITION_EVENT,
)
from gis.settings import get_settings

# Statuses a send-back (返工) lands in: only a transition to one of these can be one.
_REWORK_TARGETS = frozenset(s.to_status for s in INCIDENT_WORKFLOW.steps if s.rework)

_CASE = text(
    """
    SELECT i.id, i.code, i.kind, i.category, i.status, i.escalation_level, i.due_at,
           i.assignee_id, i.dispatched_to, i.district_code, i.grid_id,
           g.code AS grid_code, g.name AS grid_name,
           c.code AS community_code, c.name AS community_name,
           s.code AS street_code, s.name AS street_name,
           d.name AS district_name
    FROM incident i
    LEFT JOIN area g ON g.id = i.grid_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area s ON s.id = i.street_id
    LEFT JOIN area d ON d.level = 'district' AND d.valid_to IS NULL AND d.code = i.district_code
    WHERE i.id = :id
    """
)
_LAST_STEPS = text(
    "SELECT from_status, to_status, actor, action FROM incident_transition WHERE incident_id = :i "
    "ORDER BY id DESC LIMIT 20"
)
_GRID_STAFF = text(
    "SELECT person_id FROM grid_staff WHERE area_id = :g AND role IN ('chief', 'worker')"
)
_ADD_NOTIFICATIONS = text(
    """
    INSERT INTO notification (recipient_id, incident_id, event_id, trigger, data, created_at)
    SELECT r, :i, :e, :t, CAST(:d AS jsonb), :at FROM unnest(CAST(:rs AS bigint[])) AS r
    ON CONFLICT (recipient_id, event_id) DO NOTHING
    """
)
_ADD_DELIVERY = text(
    """
    INSERT INTO notification_delivery (channel, incident_id, event_id, trigger, message,
                                       next_attempt_at, created_at)
    VALUES (:c, :i, :e, :t, CAST(:m AS jsonb), :at, :at)
    ON CONFLICT (channel, event_id) DO NOTHING
    """
)


def _username(actor: str | None) -> str | None:
    """The account in a history row's actor (``role:username``), if one took the step."""
    if not actor or ":" not in actor:
        return None
    return actor.split(":", 1)[1] or None


def trigger_of(session: Session, incident_id: int, kind: str, status: str) -> str | None:
    """Which trigger an event is, or None when it tells nobody."""
    if kind == ESCALATED_EVENT:
        return "escalation"
    if kind == DUE_SOON_EVENT:
        return "due_soon"
    if kind != TRANSITION_EVENT:
        return None
    if status == DISPATCHED_STATUS:
        # Steps that keep a dispatched case where it is (延期申请 and its decision) or bring it
        # back (恢复) send it to nobody new.
        last = session.execute(_LAST_STEPS, {"i": incident_id}).first()
        if last is None or last.action in (None, "dispatch", "redispatch"):
            return "dispatch"
        return None
    if status in _REWORK_TARGETS:
        last = session.execute(_LAST_STEPS, {"i": incident_id}).first()
        if last is not None and last.from_status is not None:
            step = INCIDENT_WORKFLOW.step(last.from_status, last.to_status)
            if step is not None and step.rework:
                return "send_back"
    return None


def _level_place(case: Any) -> tuple[str, str | None, str | None]:
    """(level, area code, area name) where the case is held now."""
    level = case.escalation_level or "grid"
    code, name = {
        "grid": (case.grid_code, case.grid_name),
        "community": (case.community_code, case.community_name),
        "street": (case.street_code, case.street_name),
        "district": (case.district_code, case.district_name),
    }.get(level, (None, None))
    if code is None and level == "grid":
        # No grid (属地兜底): the case is held by the lowest area it has.
        for lvl, c, n in (
            ("community", case.community_code, case.community_name),
            ("street", case.street_code, case.street_name),
            ("district", case.district_code, case.district_name),
        ):
            if c is not None:
                return lvl, c, n
    return level, code, name


def _recipients(session: Session, trigger: str, case: Any, steps: list[Any]) -> list[int]:
    level, code, _ = _level_place(case)
    desks = [(role, code) for role in DESK_ROLES.get(level, ())] if code else []
    people: list[int] = []
    usernames: list[str] = []
    if trigger in ("dispatch", "due_soon"):
        if level == "grid" and case.grid_id is not None:
            people += session.execute(_GRID_STAFF, {"g": case.grid_id}).scalars().all()
    elif trigger == "send_back":
        desks = []
        # The handler reported the case into the state it was sent back from (处置反馈).
        handler = next((s.actor for s in steps[1:] if s.to_status == steps[0].from_status), None)
        if (name := _username(handler)) is not None:
            usernames.append(name)
    if trigger != "escalation" and case.assignee_id is not None:
        people.append(case.assignee_id)
    actor = _username(steps[0].actor) if steps and trigger in ("dispatch", "send_back") else None
    return accounts_to_notify(
        session, desks=desks, person_ids=people, usernames=usernames, besides=actor
    )


def notification_data(case: Any) -> dict[str, Any]:
    """What a notification says about its case: code, kind, category, area, level, deadline."""
    level, code, name = _level_place(case)
    return {
        "code": case.code,
        "kind": case.kind,
        "category": case.category,
        "status": case.status,
        "level": level,
        "area_code": code,
        "area": name,
        "due_at": iso(case.due_at),
        "dispatched_to": case.dispatched_to,
    }


def on_event(
    session: Session, event_id: int, incident_id: int, kind: str, status: str, at: datetime
) -> str | None:
    """Write the notifications and deliveries an incident event causes (same transaction).

    Returns the trigger, or None when the event tells nobody.
    """
    trigger = trigger_of(session, incident_id, kind, status)
    if trigger is None:
        return None
    case = session.execute(_CASE, {"id": incident_id}).one()
    steps = list(session.execute(_LAST_STEPS, {"i": incident_id}).all())
    data = notification_data(case)
    recipients = _recipients(session, trigger, case, steps)
    if recipients:
        session.execute(
            _ADD_NOTIFICATIONS,
            {
                "i": incident_id,
                "e": event_id,
                "t": trigger,
                "d": json.dumps(data, ensure_ascii=False),
                "at": at,
                "rs": recipients,
            },
        )
    settings = get_settings()
    place = case.grid_code or case.community_code or case.street_code or case.district_code
    channels = channels_for(settings.notify_channels, trigger, place, case.dispatched_to)
    if channels:
        message = render(trigger, data, settings.language)
        body = json.dumps(
            {"title": message.title, "lines": list(message.lines), "trigger": trigger, **data},
            ensure_ascii=False,
        )
        for channel in channels:
            session.execute(
                _ADD_DELIVERY,
                {
                    "c": channel.name,
                    "i": incident_id,
                    "e": event_id,
                    "t": trigger,
                    "m": body,
                    "at": at,
                },
            )
    return trigger
