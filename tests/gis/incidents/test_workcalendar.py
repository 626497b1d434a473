"""Working-day deadline arithmetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis.incidents.workcalendar import CST, WorkCalendar, deadline

# National Day 2026: 1–7 October off, Sunday 27 September and Saturday 10 October worked.
HOLIDAYS = {date(2026, 10, d): False for d in range(1, 8)} | {
    date(2026, 9, 27): True,
    date(2026, 10, 10): True,
}


def test_weekends_do_not_count() -> None:
    cal = WorkCalendar()
    fri = datetime(2026, 11, 20, 10, tzinfo=CST)
    assert cal.add_working_days(fri, 3) == datetime(2026, 11, 25, 10, tzinfo=CST)
    # 14 h are left on Friday: 13 h end at 23:00, 15 h run into Monday 01:00.
    assert cal.add(fri, timedelta(hours=13)) == datetime(2026, 11, 20, 23, tzinfo=CST)
    assert cal.add(fri, timedelta(hours=15)) == datetime(2026, 11, 23, 1, tzinfo=CST)
    sat = datetime(2026, 11, 21, 9, tzinfo=CST)
    assert cal.add(sat, timedelta(hours=1)) == datetime(2026, 11, 23, 1, tzinfo=CST)


def test_holidays_and_exchanged_working_days() -> None:
    cal = WorkCalendar(HOLIDAYS)
    assert cal.is_working_day(date(2026, 9, 27))  # a Sunday worked
    assert not cal.is_working_day(date(2026, 10, 5))  # a Monday off
    wed = datetime(2026, 9, 30, 12, tzinfo=CST)
    # 12 h left on 30 Sept, then 1–7 Oct off, 8 Oct (Thu), 9 Oct (Fri), 10 Oct (Sat, worked).
    assert cal.add_working_days(wed, 3) == datetime(2026, 10, 10, 12, tzinfo=CST)


def test_calendar_time_for_emergencies_and_utc_inputs() -> None:
    cal = WorkCalendar(HOLIDAYS)
    start = datetime(2026, 10, 1, 2, tzinfo=CST).astimezone(datetime.now().astimezone().tzinfo)
    assert deadline(start, timedelta(hours=4), cal, calendar_time=True) == start + timedelta(
        hours=4
    )
    assert deadline(start, timedelta(hours=4), cal) == datetime(2026, 10, 8, 4, tzinfo=CST)
    with pytest.raises(ValueError):
        cal.add(datetime(2026, 10, 1), timedelta(hours=1))


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    st.integers(min_value=0, max_value=24 * 20),
)
def test_add_and_working_time_between_agree(start: datetime, hours: int) -> None:
    cal = WorkCalendar(HOLIDAYS)
    s = start.replace(tzinfo=CST)
    end = cal.add(s, timedelta(hours=hours))
    assert end >= s
    assert cal.working_time_between(s, end) == timedelta(hours=hours)
