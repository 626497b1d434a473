"""Escalating overdue cases one level up the area tree, and announcing deadlines that approach.

Both are idempotent sweeps over the open cases, run by the in-service runner
(:mod:`gis.incidents.escalation_runner`), by ``gridgov incidents escalate`` and by
``POST /api/v1/incidents/escalations``; the time that counts is working time unless the case's
category runs round the clock (:mod:`gis.incidents.deadlines`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.deadlines import WORKING_DAY_HOURS, load_calendar
from gis.incidents.events import append_event, event_payload
from gis.incidents.vocabulary import LATE_STATUSES
from gis.incidents.workcalendar import elapsed
from gis.incidents.workflow import next_escalation_level
from gis.notifications.vocabulary import DUE_SOON_EVENT

# The event kind announcing an approaching deadline (its vocabulary is the notifications'
# trigger; docs/command-centre.md).
DUE_SOON = DUE_SOON_EVENT


def escalate_overdue(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Escalate every overdue open case one level up (grid → community → street → district).

    A case escalates when its deadline has passed and it has not been escalated since, or when
    it stays overdue ``escalate_every_hours`` of working time (clock time for round-the-clock
    categories) after its last escalation. Each escalation is a row of ``incident_escalation``
    (the case's escalation history) and an ``escalated`` event on the stream. Rows are locked
    with SKIP LOCKED so two runs (or a run and a transition) never escalate one case twice.
    """
    now = now or datetime.now(UTC)
    calendar = load_calendar(session)
    # The SQL keeps a necessary condition (clock time passed ≥ working time passed); the
    # working-time interval is checked below.
    rows = session.execute(
        text(
            f"""
            SELECT i.id, i.status, i.escalation_level, i.due_at, i.district_code,
                   i.community_id, i.street_id, i.grid_id, i.escalated_at,
                   coalesce(r.escalate_every_hours, {WORKING_DAY_HOURS}) AS every_hours,
                   coalesce(r.calendar_time, false) AS calendar_time
            FROM incident i
            LEFT JOIN incident_deadline_rule r ON r.category = i.category
            WHERE i.status = ANY(:late) AND i.due_at < :now
              AND i.escalation_level <> 'district'
              AND (i.escalated_at IS NULL OR i.escalated_at < i.due_at
                   OR i.escalated_at <= :now - make_interval(
                       hours => coalesce(r.escalate_every_hours, {WORKING_DAY_HOURS})))
            ORDER BY i.due_at, i.id
            FOR UPDATE OF i SKIP LOCKED
            """
        ),
        {"late": list(LATE_STATUSES), "now": now},
    ).all()
    done = []
    for r in rows:
        first = r.escalated_at is None or r.escalated_at < r.due_at
        if not first and elapsed(
            r.escalated_at, now, calendar, calendar_time=r.calendar_time
        ) < timedelta(hours=r.every_hours):
            continue
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
        payload = {
            **event_payload(session, r.id),
            "from_level": r.escalation_level,
            # overdue: the deadline just passed; still_overdue: a further step while it stays late.
            "reason": "overdue" if first else "still_overdue",
        }
        append_event(session, r.id, "escalated", r.status, payload, now)
        done.append(
            {"incident_id": r.id, "from": r.escalation_level, "to": to_level, "area_id": area_id}
        )
    return done


def announce_due_soon(
    session: Session, now: datetime | None = None, threshold: timedelta | None = None
) -> list[dict[str, Any]]:
    """Emit one ``due_soon`` event for each running case whose deadline is within ``threshold``
    (working time, or clock time for round-the-clock categories) and not yet passed.

    Once per case and deadline: ``incident.due_soon_for`` keeps the deadline announced, so a
    new stage (or an extended deadline) is announced again, a second run is not. ``threshold``
    defaults to ``GRIDGOV_DUE_SOON_MINUTES``; zero announces nothing.
    """
    from gis.settings import get_settings

    now = now or datetime.now(UTC)
    if threshold is None:
        threshold = timedelta(minutes=get_settings().due_soon_minutes)
    if threshold <= timedelta(0):
        return []
    calendar = load_calendar(session)
    # Clock time to the deadline ≥ working time to it, so a deadline more than a working
    # threshold away may still be close on the office clock (Friday evening → Monday 09:00):
    # candidates are every running case not yet announced; the check is in working time.
    rows = session.execute(
        text(
            """
            SELECT i.id, i.status, i.due_at, coalesce(r.calendar_time, false) AS calendar_time
            FROM incident i
            LEFT JOIN incident_deadline_rule r ON r.category = i.category
            WHERE i.status = ANY(:late) AND i.due_at > :now
              AND i.due_soon_for IS DISTINCT FROM i.due_at
              AND i.due_at <= :horizon
            ORDER BY i.due_at, i.id
            FOR UPDATE OF i SKIP LOCKED
            """
        ),
        {
            "late": list(LATE_STATUSES),
            "now": now,
            # No deadline more than the threshold plus the longest closed stretch (春节 or
            # 国庆 with their weekends: under two weeks) away can be near in working time.
            "horizon": now + threshold + timedelta(days=15),
        },
    ).all()
    done = []
    for r in rows:
        left = elapsed(now, r.due_at, calendar, calendar_time=r.calendar_time)
        if left > threshold:
            continue
        session.execute(
            text("UPDATE incident SET due_soon_for = due_at WHERE id = :i"), {"i": r.id}
        )
        payload = {
            **event_payload(session, r.id),
            "stage": r.status,
            "minutes_left": int(left.total_seconds() // 60),
        }
        append_event(session, r.id, DUE_SOON, r.status, payload, now)
        done.append({"incident_id": r.id, "stage": r.status, "due_at": r.due_at, "left": left})
    return done
