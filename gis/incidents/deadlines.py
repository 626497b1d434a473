"""Deadline rules per category and the working-time calendar read from the database.

The one owner of "when is this step due": intake, transitions, service orders and escalation
call :func:`stage_deadline` / :func:`load_calendar`; the metrics compare ``closed_at`` with the
``due_at`` written here, so 按期 is judged in working time too.

Units of ``incident_deadline_rule`` (migration 0020 converted the shipped rows): every limit is
working time — office hours (``GRIDGOV_OFFICE_HOURS``) on working days — unless the row has
``calendar_time`` (emergencies), when it is clock time. ``accept_minutes`` and
``dispatch_minutes`` are minutes, ``handle_hours`` and ``escalate_every_hours`` hours; at the
default office hours one working day is 7 working hours (3 working days = 21).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.workcalendar import OfficeHours, WorkCalendar, deadline
from gis.settings import get_settings

# A fingerprint of the ``holiday`` table, cheap enough to read with every intake: the parsed
# calendar is cached per process under it, so an edit (from any process) takes effect at once.
HOLIDAY_SIGNATURE_SQL = (
    "(SELECT count(*) || ':' || coalesce(sum(hashtext(day::text || ':' || is_workday::text)), 0)"
    " FROM holiday)"
)
_CALENDARS: dict[str, WorkCalendar] = {}
_CALENDAR_ROWS_SQL = text(
    f"SELECT day, is_workday, {HOLIDAY_SIGNATURE_SQL} AS signature FROM holiday"
)
_SIGNATURE_SQL = text(f"SELECT {HOLIDAY_SIGNATURE_SQL}")


def load_calendar(session: Session, signature: str | None = None) -> WorkCalendar:
    """The working-day calendar from the ``holiday`` table.

    ``signature`` is the table's fingerprint if the caller read it already (the intake reads it
    with its other inputs); the calendar is parsed again only when the fingerprint changes.
    """
    settings = get_settings()
    # The office hours and zone are part of the key: tests (and a restart) may change them.
    hours = f"{settings.timezone}|{settings.office_hours}"
    if signature is None:
        signature = str(session.execute(_SIGNATURE_SQL).scalar_one())
    calendar = _CALENDARS.get(f"{signature}|{hours}")
    if calendar is None:
        rows = session.execute(_CALENDAR_ROWS_SQL).all()
        calendar = WorkCalendar.from_rows(
            ((r.day, r.is_workday) for r in rows),
            ZoneInfo(settings.timezone),
            OfficeHours.parse(settings.office_hours),
        )
        # Rows and fingerprint come from one snapshot; an empty table has no row to carry it.
        signature = str(rows[0].signature) if rows else "0:0"
        _CALENDARS.clear()
        _CALENDARS[f"{signature}|{hours}"] = calendar
    return calendar


# Working hours in one working day at the default office hours (08:30–12:00, 14:00–17:30): the
# unit the shipped rules were converted with (migration 0020).
WORKING_DAY_HOURS = 7


@dataclass(frozen=True)
class DeadlineRule:
    category: str
    accept: timedelta
    dispatch: timedelta
    handle: timedelta
    calendar_time: bool
    escalate_every: timedelta


_RULE_SQL = text("SELECT * FROM incident_deadline_rule WHERE category = :c")


def deadline_rule(session: Session, category: str) -> DeadlineRule:
    """The time limits of ``category`` (from ``incident_deadline_rule``)."""
    return rule_from_row(category, session.execute(_RULE_SQL, {"c": category}).one_or_none())


def rule_from_row(category: str, row: Any) -> DeadlineRule:
    """A rule from an ``incident_deadline_rule`` row (columns as in the table), or None."""
    if row is None or row.accept_minutes is None:
        # A category without a row keeps the national defaults: one working hour each to
        # register and dispatch, three working days to handle, escalation every working day.
        return DeadlineRule(
            category,
            timedelta(hours=1),
            timedelta(hours=1),
            timedelta(hours=3 * WORKING_DAY_HOURS),
            False,
            timedelta(hours=WORKING_DAY_HOURS),
        )
    return DeadlineRule(
        category,
        timedelta(minutes=row.accept_minutes),
        timedelta(minutes=row.dispatch_minutes),
        timedelta(hours=row.handle_hours),
        row.calendar_time,
        timedelta(hours=row.escalate_every_hours),
    )


def stage_deadline(
    rule: DeadlineRule, calendar: WorkCalendar, status: str, start: datetime
) -> datetime | None:
    """When the step that follows entering ``status`` at ``start`` is due."""
    limit = {
        "reported": rule.accept,
        "registered": rule.dispatch,
        "dispatched": rule.handle,
    }.get(status)
    if limit is None:
        return None
    return deadline(start, limit, calendar, calendar_time=rule.calendar_time)
