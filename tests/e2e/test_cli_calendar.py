"""``gridgov calendar``: list, add, remove, import, office hours, deadlines, as a user runs it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from gis.incidents.holidays import shipped
from tests.conftest import create_test_database, drop_test_database, owner_url
from tests.e2e.cli_helpers import gridgov


@pytest.fixture(scope="module")
def calendar_db(server_url: str) -> Iterator[str]:
    """A migrated database (no city needed): the shipped holidays are in it."""
    url = create_test_database(server_url, "clicalendar")
    try:
        yield url
    finally:
        drop_test_database(server_url, url)


def _rows(url: str, year: int) -> list[tuple[str, str, bool]]:
    with psycopg.connect(owner_url(url)) as conn:
        return [
            (d.isoformat(), n, w)
            for d, n, w in conn.execute(
                "SELECT day, name, is_workday FROM holiday "
                "WHERE extract(year FROM day) = %s ORDER BY day",
                (year,),
            )
        ]


def test_list_shows_the_shipped_year_and_warns_of_missing_years(calendar_db: str) -> None:
    listed = gridgov(calendar_db, "calendar", "list", "--year", "2026")
    assert listed.returncode == 0, listed.stderr
    assert f"2026: {sum(1 for d in shipped() if d.day.year == 2026)} day(s)" in listed.stdout
    assert "2026-10-10" in listed.stdout and "调休上班" in listed.stdout
    this_year = datetime.now(UTC).year
    held = {d.day.year for d in shipped()}
    for year in (this_year, this_year + 1):
        assert (f"no holidays for {year}" in listed.stderr) is (year not in held)


def test_add_remove_and_audit(calendar_db: str) -> None:
    added = gridgov(calendar_db, "calendar", "add", "2031-10-01", "国庆节")
    assert added.returncode == 0, added.stderr
    assert "added 2031-10-01 国庆节 (holiday)" in added.stdout
    weekday = gridgov(calendar_db, "calendar", "add", "2031-10-08", "调休", "--workday")
    assert weekday.returncode == 1 and "Saturday or Sunday" in weekday.stderr
    made_up = gridgov(calendar_db, "calendar", "add", "2031-10-11", "国庆节调休上班", "--workday")
    assert made_up.returncode == 0, made_up.stderr
    assert _rows(calendar_db, 2031) == [
        ("2031-10-01", "国庆节", False),
        ("2031-10-11", "国庆节调休上班", True),
    ]
    # Friday 10 Oct 2031 17:00 + 1 working hour: 30 min that day, then the make-up Saturday.
    due = gridgov(calendar_db, "calendar", "deadline", "2031-10-10T17:00", "--hours", "1")
    assert due.returncode == 0, due.stderr
    assert due.stdout.strip() == "2031-10-11T09:00:00+08:00"

    removed = gridgov(calendar_db, "calendar", "remove", "2031-10-11")
    assert removed.returncode == 0 and "removed 2031-10-11" in removed.stdout
    again = gridgov(calendar_db, "calendar", "remove", "2031-10-11")
    assert again.returncode == 1 and "not in the calendar" in again.stderr
    due = gridgov(calendar_db, "calendar", "deadline", "2031-10-10T17:00", "--hours", "1")
    assert due.stdout.strip() == "2031-10-13T09:00:00+08:00"  # Monday now
    with psycopg.connect(owner_url(calendar_db)) as conn:
        changes = [
            (target, detail["change"])
            for target, detail in conn.execute(
                "SELECT target, detail FROM audit_log WHERE action = 'calendar.change' "
                "AND target LIKE 'calendar:2031%%' ORDER BY id"
            )
        ]
    assert changes == [
        ("calendar:2031-10-01", "add"),
        ("calendar:2031-10-11", "add"),
        ("calendar:2031-10-11", "remove"),
    ]


def test_import_a_csv_and_refuse_a_bad_one(calendar_db: str, tmp_path: Path) -> None:
    good = tmp_path / "2032.csv"
    good.write_text(
        "# next year's notice\nday,name,is_workday\n2032-01-01,元旦,false\n"
        "2032-02-07,春节调休上班,true\n",
        encoding="utf-8",
    )
    imported = gridgov(calendar_db, "calendar", "import", str(good))
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 day(s)" in imported.stdout
    assert _rows(calendar_db, 2032) == [
        ("2032-01-01", "元旦", False),
        ("2032-02-07", "春节调休上班", True),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("day,name,is_workday\n2032-13-01,元旦,false\n", encoding="utf-8")
    refused = gridgov(calendar_db, "calendar", "import", str(bad))
    assert refused.returncode == 1 and "line 2" in refused.stderr
    assert len(_rows(calendar_db, 2032)) == 2


def test_office_hours_and_deadlines(calendar_db: str) -> None:
    hours = gridgov(calendar_db, "calendar", "hours")
    assert hours.returncode == 0
    assert "08:30-12:00,14:00-17:30 (Asia/Shanghai)" in hours.stdout
    assert "one working day: 7 h" in hours.stdout
    # Sunday evening + one working hour: Monday 09:30; over National Day 2026: 8 October.
    sunday = gridgov(calendar_db, "calendar", "deadline", "2026-11-22T20:00", "--minutes", "60")
    assert sunday.stdout.strip() == "2026-11-23T09:30:00+08:00"
    holiday = gridgov(calendar_db, "calendar", "deadline", "2026-09-30T17:00", "--days", "1")
    assert holiday.stdout.strip() == "2026-10-08T17:00:00+08:00"
    clock = gridgov(
        calendar_db, "calendar", "deadline", "2026-10-01T02:00", "--hours", "4", "--clock"
    )
    assert clock.stdout.strip() == "2026-10-01T06:00:00+08:00"


def test_incidents_escalate_runs_the_sweep_for_cron_users(calendar_db: str) -> None:
    # An empty city: nothing to escalate, but the sweep ran (took the lock, reported).
    swept = gridgov(calendar_db, "incidents", "escalate")
    assert swept.returncode == 0, swept.stderr
    assert "0 case(s) escalated, 0 approaching deadline(s) announced" in swept.stdout
