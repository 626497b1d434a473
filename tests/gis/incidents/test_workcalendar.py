"""Working-time deadline arithmetic: office hours on working days, holidays, make-up days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.incidents.holidays import shipped
from gis.incidents.workcalendar import CST, OfficeHours, WorkCalendar, deadline, elapsed

# The shipped State Council schedules (2025, 2026): National Day 2026 is 1–7 October off,
# Sunday 20 September and Saturday 10 October worked.
SHIPPED = WorkCalendar.from_rows((d.day, d.is_workday) for d in shipped())
HOUR = timedelta(hours=1)


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CST)


def test_a_sunday_evening_report_is_due_in_monday_office_hours() -> None:
    cal = WorkCalendar()
    # Sunday 22 Nov 2026, 20:00, one working hour to register: Monday 09:30, not 01:00.
    assert cal.add(at(2026, 11, 22, 20), HOUR) == at(2026, 11, 23, 9, 30)


def test_after_office_hours_lunch_and_period_ends() -> None:
    cal = WorkCalendar()
    # After 17:30 on a Tuesday: the clock restarts at 08:30 on Wednesday.
    assert cal.add(at(2026, 11, 24, 18, 5), HOUR) == at(2026, 11, 25, 9, 30)
    # 11:30 + 1 h: 30 min before lunch, 30 min after it.
    assert cal.add(at(2026, 11, 24, 11, 30), HOUR) == at(2026, 11, 24, 14, 30)
    # A deadline exactly at the end of a period stays there.
    assert cal.add(at(2026, 11, 24, 11), HOUR) == at(2026, 11, 24, 12)
    assert cal.add(at(2026, 11, 24, 16, 30), HOUR) == at(2026, 11, 24, 17, 30)
    # During lunch the clock waits for 14:00.
    assert cal.add(at(2026, 11, 24, 12, 40), timedelta(minutes=15)) == at(2026, 11, 24, 14, 15)
    assert not cal.is_working_time(at(2026, 11, 24, 12, 40))
    assert cal.is_working_time(at(2026, 11, 24, 8, 30))


def test_working_days_land_at_the_same_office_time() -> None:
    cal = WorkCalendar()
    fri = at(2026, 11, 20, 10)
    assert cal.add_working_days(fri, 3) == at(2026, 11, 25, 10)
    assert cal.add(fri, timedelta(hours=7)) == at(2026, 11, 23, 10)  # one working day


def test_a_statutory_holiday_does_not_count() -> None:
    # Wednesday 30 Sept 2026 16:00 + 3 working hours: 1.5 h left that day, 1–7 Oct off,
    # Thursday 8 Oct 08:30 + 1.5 h.
    assert SHIPPED.add(at(2026, 9, 30, 16), 3 * HOUR) == at(2026, 10, 8, 10)
    assert not SHIPPED.is_working_day(date(2026, 10, 5))  # a Monday off


def test_a_make_up_working_day_counts() -> None:
    # Friday 9 Oct 2026 17:00 + 2 working hours: 30 min on Friday, then Saturday 10 Oct is a
    # make-up working day (调休上班): due at 10:00 that Saturday.
    assert SHIPPED.is_working_day(date(2026, 10, 10))
    assert SHIPPED.add(at(2026, 10, 9, 17), 2 * HOUR) == at(2026, 10, 10, 10)
    # Without the schedule the same limit would run into Monday.
    assert WorkCalendar().add(at(2026, 10, 9, 17), 2 * HOUR) == at(2026, 10, 12, 10)


def test_a_friday_evening_report_before_a_holiday() -> None:
    # Friday 13 Feb 2026, 19:00: Saturday 14 Feb is worked (调休), 春节 runs 15–23 Feb.
    # One working hour: Saturday 09:30. Eight: 7 on Saturday, then Tuesday 24 Feb 09:30.
    fri = at(2026, 2, 13, 19)
    assert SHIPPED.add(fri, HOUR) == at(2026, 2, 14, 9, 30)
    assert SHIPPED.add(fri, 8 * HOUR) == at(2026, 2, 24, 9, 30)
    # Thursday 30 April 2026 evening before 劳动节 (1–5 May): Wednesday 6 May.
    assert SHIPPED.add(at(2026, 4, 30, 19), HOUR) == at(2026, 5, 6, 9, 30)


def test_calendar_time_for_emergencies_and_utc_inputs() -> None:
    start = at(2026, 10, 1, 2).astimezone(ZoneInfo("UTC"))
    assert deadline(start, 4 * HOUR, SHIPPED, calendar_time=True) == start + 4 * HOUR
    assert deadline(start, 4 * HOUR, SHIPPED) == at(2026, 10, 8, 14, 30)
    assert elapsed(start, start + 4 * HOUR, SHIPPED, calendar_time=True) == 4 * HOUR
    assert elapsed(start, start + 4 * HOUR, SHIPPED) == timedelta(0)
    with pytest.raises(ValueError):
        SHIPPED.add(datetime(2026, 10, 1), HOUR)


def test_configured_office_hours_and_zone() -> None:
    hours = OfficeHours.parse("09:00-17:00")
    assert hours.day_length == 8 * HOUR
    cal = WorkCalendar({}, ZoneInfo("Asia/Shanghai"), hours)
    assert cal.add(at(2026, 11, 23, 16), 2 * HOUR) == at(2026, 11, 24, 10)
    with pytest.raises(ValueError):
        OfficeHours.parse("12:00-08:00")
    with pytest.raises(ValueError):
        OfficeHours(((time(9), time(13)), (time(12), time(17))))
    with pytest.raises(ValueError):
        OfficeHours.parse("nine to five")


def test_the_shipped_schedules_match_the_state_council_notices() -> None:
    days = {d.day: d for d in shipped()}
    assert {d.year for d in days} == {2025, 2026}
    # 2025: 春节 28 Jan – 4 Feb, worked Sun 26 Jan and Sat 8 Feb.
    assert all(not days[date(2025, 1, 28) + timedelta(n)].is_workday for n in range(8))
    assert days[date(2025, 1, 26)].is_workday and days[date(2025, 2, 8)].is_workday
    # 2026: 春节 15–23 Feb (9 days), worked Sat 14 Feb and Sat 28 Feb.
    assert sum(1 for d in days.values() if d.name == "春节" and d.day.year == 2026) == 9
    assert [d.day for d in days.values() if d.is_workday and d.day.year == 2026] == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    # Every make-up day is a weekend day.
    assert all(d.day.weekday() >= 5 for d in days.values() if d.is_workday)


# No per-example deadline: the machine is shared, and a slow example is not a wrong one.
@settings(deadline=None)
@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31)),
    st.integers(min_value=0, max_value=60 * 7 * 20),
)
def test_add_and_working_time_between_agree(start: datetime, minutes: int) -> None:
    s = start.replace(tzinfo=CST)
    end = SHIPPED.add(s, timedelta(minutes=minutes))
    assert end >= s
    assert SHIPPED.working_time_between(s, end) == timedelta(minutes=minutes)
    if minutes:
        assert SHIPPED.is_working_time(end - timedelta(microseconds=1))
