"""The ``holiday`` table: the shipped State Council schedules, and its one writer.

Rows are exceptions to the Monday–Friday week: a public holiday (``is_workday`` false) or a
weekend day worked in exchange (调休, ``is_workday`` true). gridgov ships each year's schedule as
published by 国务院办公厅 in ``holidays_cn.csv`` (beside this module); :func:`load_shipped` copies
every shipped year that the table does not hold yet — run by ``gridgov migrate`` (and by the
migration that introduced it), so a new release's year arrives with the next migrate, while a
year an admin already maintains (any row in it) is never overwritten. ``gridgov calendar`` and
``/api/v1/admin/calendar`` edit single days and import CSV files through the functions here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound

SHIPPED_FILE = "holidays_cn.csv"
NAME_MAX_LENGTH = 50
# Years a calendar may hold: wide enough for history and planning, narrow enough to catch typos.
FIRST_YEAR, LAST_YEAR = 2000, 2100
_TRUE = {"true", "1", "yes", "y", "t", "是", "上班"}
_FALSE = {"false", "0", "no", "n", "f", "否", "放假", ""}


@dataclass(frozen=True)
class HolidayDay:
    day: date
    name: str
    is_workday: bool

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "name": self.name, "is_workday": self.is_workday}


def check_day(day: date, name: str, is_workday: bool) -> HolidayDay:
    """A valid row, or InvalidInput saying what to fix."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(f"day must be in {FIRST_YEAR}–{LAST_YEAR}", parameter="day")
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidInput(f"name needs 1 to {NAME_MAX_LENGTH} characters", parameter="name")
    if is_workday and day.weekday() < 5:
        raise InvalidInput(
            f"{day} is a {day:%A}: only a Saturday or Sunday can be a make-up working day",
            parameter="is_workday",
        )
    return HolidayDay(day, name, is_workday)


def parse_csv(content: str) -> list[HolidayDay]:
    """Rows of a calendar CSV: ``day,name,is_workday`` with a header; ``#`` lines are comments.

    >>> [d.as_dict() for d in parse_csv("day,name,is_workday\\n2026-10-10,国庆节调休上班,true\\n")]
    [{'day': '2026-10-10', 'name': '国庆节调休上班', 'is_workday': True}]
    """
    lines = [line for line in content.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if reader.fieldnames is None or not {"day", "name"} <= {f.strip() for f in reader.fieldnames}:
        raise InvalidInput("the CSV needs a header line: day,name,is_workday", parameter="file")
    rows: dict[date, HolidayDay] = {}
    for number, raw in enumerate(reader, start=2):
        record = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            day = date.fromisoformat(record["day"])
        except ValueError as exc:
            raise InvalidInput(
                f"line {number}: day {record['day']!r} is not a date (YYYY-MM-DD)", parameter="file"
            ) from exc
        flag = record.get("is_workday", "").lower()
        if flag not in _TRUE | _FALSE:
            raise InvalidInput(
                f"line {number}: is_workday must be true or false, not {flag!r}", parameter="file"
            )
        try:
            row = check_day(day, record["name"], flag in _TRUE)
        except InvalidInput as exc:
            raise InvalidInput(f"line {number}: {exc.detail}", parameter="file") from exc
        if day in rows:
            raise InvalidInput(f"line {number}: {day} is listed twice", parameter="file")
        rows[day] = row
    return sorted(rows.values(), key=lambda r: r.day)


def shipped() -> list[HolidayDay]:
    """The schedules gridgov ships (``holidays_cn.csv``)."""
    return parse_csv(files("gis.incidents").joinpath(SHIPPED_FILE).read_text(encoding="utf-8"))


def shipped_years() -> list[int]:
    return sorted({d.day.year for d in shipped()})


_UPSERT = text(
    "INSERT INTO holiday (day, name, is_workday) VALUES (:day, :name, :is_workday) "
    "ON CONFLICT (day) DO UPDATE SET name = EXCLUDED.name, is_workday = EXCLUDED.is_workday"
)


def load_shipped(conn: Connection | Session) -> list[int]:
    """Copy every shipped year the table holds no row of; returns the years copied.

    Idempotent; run after every migrate. A year with any row is the admins' to maintain.
    """
    held = {
        int(y)
        for y in conn.execute(text("SELECT DISTINCT extract(year FROM day) FROM holiday")).scalars()
    }
    new = [d for d in shipped() if d.day.year not in held]
    if new:
        conn.execute(_UPSERT, [d.as_dict() | {"day": d.day} for d in new])
    return sorted({d.day.year for d in new})


def list_year(session: Session, year: int) -> list[HolidayDay]:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"year must be in {FIRST_YEAR}–{LAST_YEAR}", parameter="year")
    rows = session.execute(
        text(
            "SELECT day, name, is_workday FROM holiday "
            "WHERE day >= make_date(:y, 1, 1) AND day < make_date(:y + 1, 1, 1) ORDER BY day"
        ),
        {"y": year},
    ).all()
    return [HolidayDay(r.day, r.name, r.is_workday) for r in rows]


def years_without_data(session: Session, today: date) -> list[int]:
    """This year and next, those the table has no row of: their holidays would count as
    working days. The State Council publishes a year's schedule in November or December of the
    year before, so next year missing is a warning, this year missing an error."""
    wanted = [today.year, today.year + 1]
    held = set(
        session.execute(
            text(
                "SELECT DISTINCT extract(year FROM day)::int FROM holiday "
                "WHERE extract(year FROM day)::int = ANY(:y)"
            ),
            {"y": wanted},
        ).scalars()
    )
    return [y for y in wanted if y not in held]


def put_day(session: Session, day: date, name: str, is_workday: bool) -> tuple[HolidayDay, bool]:
    """Add or replace one day; returns it and whether it was new."""
    row = check_day(day, name, is_workday)
    existed = session.execute(
        text("SELECT 1 FROM holiday WHERE day = :d FOR UPDATE"), {"d": day}
    ).first()
    session.execute(_UPSERT, {"day": row.day, "name": row.name, "is_workday": row.is_workday})
    return row, existed is None


def delete_day(session: Session, day: date) -> HolidayDay:
    """Remove one day (it becomes an ordinary weekday or weekend day again)."""
    row = session.execute(
        text("DELETE FROM holiday WHERE day = :d RETURNING day, name, is_workday"), {"d": day}
    ).one_or_none()
    if row is None:
        raise NotFound(f"{day} is not in the calendar")
    return HolidayDay(row.day, row.name, row.is_workday)


def import_days(session: Session, rows: Iterable[HolidayDay], *, replace_years: bool) -> int:
    """Upsert ``rows``; with ``replace_years`` the years they cover are emptied first (the file
    is then the whole truth of those years). Returns the number of rows written."""
    rows = list(rows)
    if replace_years and rows:
        session.execute(
            text("DELETE FROM holiday WHERE extract(year FROM day)::int = ANY(:y)"),
            {"y": sorted({r.day.year for r in rows})},
        )
    if rows:
        session.execute(_UPSERT, [r.as_dict() | {"day": r.day} for r in rows])
    return len(rows)
