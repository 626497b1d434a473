"""A working-day calendar (weekends and configurable holidays) and deadline arithmetic.

Time limits such as "handle within 48 hours" or "a service request within 3 working days" run
only on working days: the clock stops at midnight before a weekend or holiday and restarts at the
next working day's midnight. Chinese public holidays come with exchanged working weekend days
(调休), so a holiday table may also mark a Saturday or Sunday as a working day. Deadlines are
computed in China Standard Time, where the working day is defined.

>>> from datetime import datetime
>>> cal = WorkCalendar()
>>> friday_10 = datetime(2026, 11, 20, 10, tzinfo=CST)
>>> cal.add(friday_10, timedelta(days=3))  # Sat and Sun do not count
datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=28800)))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8))
DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkCalendar:
    """Weekends (Saturday, Sunday) are off unless listed as workdays; holidays are off.

    ``exceptions`` maps a date to whether it is a working day (False: holiday, True: a weekend
    day worked in exchange).
    """

    exceptions: Mapping[date, bool] = field(default_factory=dict)
    tz: timezone = CST

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[date, bool]]) -> WorkCalendar:
        return cls(dict(rows))

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day.

        >>> WorkCalendar({date(2026, 10, 1): False}).is_working_day(date(2026, 10, 1))
        False
        >>> WorkCalendar({date(2026, 9, 27): True}).is_working_day(date(2026, 9, 27))
        True
        """
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """The first working day on or after ``day``."""
        for _ in range(3660):
            if self.is_working_day(day):
                return day
            day += DAY
        raise ValueError("no working day within ten years: check the holiday table")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """``start`` plus ``duration`` counted on working days only.

        A start on a non-working day counts from the next working day's midnight. The result is
        in the calendar's time zone.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        local = start.astimezone(self.tz)
        day = local.date()
        if not self.is_working_day(day):
            day = self.next_working_day(day)
            local = datetime.combine(day, time(0), self.tz)
        remaining = duration
        for _ in range(100_000):
            end_of_day = datetime.combine(day + DAY, time(0), self.tz)
            left_today = end_of_day - local
            if remaining <= left_today:
                return local + remaining
            remaining -= left_today
            day = self.next_working_day(day + DAY)
            local = datetime.combine(day, time(0), self.tz)
        raise ValueError("duration too long for the calendar")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``start`` plus ``days`` whole working days (3 working days for a service order)."""
        return self.add(start, timedelta(days=days))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much working time lies between two instants (zero if ``end`` is before ``start``).

        >>> cal = WorkCalendar()
        >>> cal.working_time_between(datetime(2026, 11, 20, 12, tzinfo=CST),
        ...                          datetime(2026, 11, 23, 12, tzinfo=CST))
        datetime.timedelta(days=1)
        """
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        cursor = start.astimezone(self.tz)
        stop = end.astimezone(self.tz)
        while cursor < stop:
            day_end = datetime.combine(cursor.date() + DAY, time(0), self.tz)
            piece_end = min(day_end, stop)
            if self.is_working_day(cursor.date()):
                total += piece_end - cursor
            cursor = piece_end
        return total


def deadline(
    start: datetime, duration: timedelta, calendar: WorkCalendar, *, calendar_time: bool = False
) -> datetime:
    """When a step started at ``start`` must be done: on the clock (emergencies) or working days.

    >>> cal = WorkCalendar()
    >>> sat = datetime(2026, 11, 21, 9, tzinfo=CST)
    >>> deadline(sat, timedelta(hours=4), cal, calendar_time=True).hour
    13
    >>> deadline(sat, timedelta(hours=4), cal).isoformat()
    '2026-11-23T04:00:00+08:00'
    """
    if calendar_time:
        return start + duration
    return calendar.add(start, duration)
