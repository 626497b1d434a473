"""The working-time calendar: office hours on working days, and deadline arithmetic on it.

Time limits such as "register within one working hour" or "a service request within 3 working
days" run only in office hours (default 08:30–12:00 and 14:00–17:30) on working days: the clock
stops at the end of the morning, over lunch, overnight, on weekends and on public holidays, and
restarts when the office opens again. So a report at 20:00 on a Sunday with one working hour to
be registered is due at 09:30 on Monday, not at 01:00. Chinese public holidays come with
exchanged working weekend days (调休), so the holiday table may also mark a Saturday or Sunday as
a working day. A working day holds :attr:`OfficeHours.day_length` of working time, so N working
days are ``N × day_length`` and land at the same office time N working days later.

This module is pure: the holiday rows and the office hours come from the caller
(:func:`gis.incidents.deadlines.load_calendar` reads them from the database and the settings).

>>> cal = WorkCalendar()
>>> friday_10 = datetime(2026, 11, 20, 10, tzinfo=CST)
>>> cal.add_working_days(friday_10, 3).isoformat()  # Sat and Sun do not count
'2026-11-25T10:00:00+08:00'
>>> sunday_20 = datetime(2026, 11, 22, 20, tzinfo=CST)
>>> cal.add(sunday_20, timedelta(hours=1)).isoformat()
'2026-11-23T09:30:00+08:00'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo

CST = timezone(timedelta(hours=8))
DAY = timedelta(days=1)
# Ten years of days: a calendar whose every day is a holiday must fail, not loop.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class OfficeHours:
    """The periods of a working day in which the clock runs, in order, not overlapping.

    >>> OfficeHours.parse("08:30-12:00, 14:00-17:30").day_length
    datetime.timedelta(seconds=25200)
    >>> str(OfficeHours.parse("9:00-17:00"))
    '09:00-17:00'
    """

    periods: tuple[tuple[time, time], ...] = (
        (time(8, 30), time(12, 0)),
        (time(14, 0), time(17, 30)),
    )

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("office hours need at least one period")
        previous_end = time(0)
        for start, end in self.periods:
            if not start < end:
                raise ValueError(f"an office period must end after it starts: {start}-{end}")
            if start < previous_end:
                raise ValueError("office periods must be in order and must not overlap")
            previous_end = end

    @classmethod
    def parse(cls, value: str) -> OfficeHours:
        """Read ``HH:MM-HH:MM[,HH:MM-HH:MM…]`` (the form of ``GRIDGOV_OFFICE_HOURS``)."""
        periods = []
        for part in value.split(","):
            start, sep, end = part.strip().partition("-")
            if not sep:
                raise ValueError(f"office hours: {part.strip()!r} is not HH:MM-HH:MM")
            try:
                periods.append((_clock(start), _clock(end)))
            except ValueError as exc:
                raise ValueError(f"office hours: {part.strip()!r} is not HH:MM-HH:MM") from exc
        return cls(tuple(periods))

    @property
    def day_length(self) -> timedelta:
        """The working time of one working day (7 h by default)."""
        return sum(
            (
                datetime.combine(date.min, end) - datetime.combine(date.min, start)
                for start, end in self.periods
            ),
            timedelta(0),
        )

    def __str__(self) -> str:
        return ",".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.periods)


def _clock(value: str) -> time:
    hours, _, minutes = value.strip().partition(":")
    return time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class WorkCalendar:
    """Weekends (Saturday, Sunday) are off unless listed as workdays; holidays are off.

    ``exceptions`` maps a date to whether it is a working day (False: holiday, True: a weekend
    day worked in exchange). ``tz`` is the zone the office hours are read in.
    """

    exceptions: Mapping[date, bool] = field(default_factory=dict)
    tz: tzinfo = CST
    hours: OfficeHours = field(default_factory=OfficeHours)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[date, bool]],
        tz: tzinfo = CST,
        hours: OfficeHours | None = None,
    ) -> WorkCalendar:
        return cls(dict(rows), tz, hours or OfficeHours())

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day.

        >>> WorkCalendar({date(2026, 10, 1): False}).is_working_day(date(2026, 10, 1))
        False
        >>> WorkCalendar({date(2026, 9, 20): True}).is_working_day(date(2026, 9, 20))
        True
        """
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """The first working day on or after ``day``."""
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                return day
            day += DAY
        raise ValueError("no working day within ten years: check the holiday table")

    def _periods_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Office periods (aware, in ``tz``) that end after ``start``, in order, clipped to it."""
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                for s, e in self.hours.periods:
                    ps = datetime.combine(day, s, self.tz)
                    pe = datetime.combine(day, e, self.tz)
                    if pe > local:
                        yield max(ps, local), pe
            day += DAY
        raise ValueError("no working day within ten years: check the holiday table")

    def is_working_time(self, at: datetime) -> bool:
        """Whether the office clock runs at ``at``.

        >>> WorkCalendar().is_working_time(datetime(2026, 11, 23, 12, 30, tzinfo=CST))
        False
        """
        first_start, _ = next(self._periods_from(at))
        return first_start == at.astimezone(self.tz)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """``start`` plus ``duration`` of working time (office hours on working days).

        A start outside office hours counts from the next opening; a deadline that falls
        exactly at the end of a period (12:00, 17:30) stays there. The result is in ``tz``.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        remaining = duration
        for ps, pe in self._periods_from(start):
            if remaining <= pe - ps:
                return ps + remaining
            remaining -= pe - ps
        raise AssertionError("unreachable: _periods_from raises first")  # pragma: no cover

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``start`` plus ``days`` whole working days (3 for a service order): the same office
        time ``days`` working days later."""
        return self.add(start, self.hours.day_length * days)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much working time lies between two instants (zero if ``end`` is before ``start``).

        >>> cal = WorkCalendar()
        >>> cal.working_time_between(datetime(2026, 11, 20, 12, tzinfo=CST),
        ...                          datetime(2026, 11, 23, 12, tzinfo=CST))
        datetime.timedelta(seconds=25200)
        """
        if end <= start:
            return timedelta(0)
        stop = end.astimezone(self.tz)
        total = timedelta(0)
        for ps, pe in self._periods_from(start):
            if ps >= stop:
                break
            total += min(pe, stop) - ps
        return total


def deadline(
    start: datetime, duration: timedelta, calendar: WorkCalendar, *, calendar_time: bool = False
) -> datetime:
    """When a step started at ``start`` must be done: on the clock (emergencies) or in
    working time.

    >>> cal = WorkCalendar()
    >>> sat = datetime(2026, 11, 21, 9, tzinfo=CST)
    >>> deadline(sat, timedelta(hours=4), cal, calendar_time=True).hour
    13
    >>> deadline(sat, timedelta(hours=4), cal).isoformat()
    '2026-11-23T14:30:00+08:00'
    """
    if calendar_time:
        return start + duration
    return calendar.add(start, duration)


def elapsed(
    start: datetime, end: datetime, calendar: WorkCalendar, *, calendar_time: bool = False
) -> timedelta:
    """The time that counts against a limit between two instants (the inverse of
    :func:`deadline`)."""
    if calendar_time:
        return max(end - start, timedelta(0))
    return calendar.working_time_between(start, end)
