"""``gridgov calendar …``: the working-time calendar (holidays, make-up days, office hours).

Changes are audited (``calendar.change``, naming the operating-system user) like the admin API's
(/api/v1/admin/calendar); both go through :mod:`gis.incidents.holidays`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gis.errors import GridgovError

console = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def warn_missing_years() -> None:
    from gis.db import session_scope
    from gis.incidents.holidays import years_without_data

    with session_scope() as session:
        missing = years_without_data(session, datetime.now(UTC).date())
    for year in missing:
        err.print(
            f"[bold yellow]warning:[/] the calendar has no holidays for {year}: its public "
            "holidays count as working days until you add them (gridgov calendar import)"
        )


def register(app: typer.Typer) -> None:
    calendar_app = typer.Typer(
        help="The working-time calendar: public holidays, make-up working days (调休), office "
        "hours, deadlines.",
        no_args_is_help=True,
    )

    @calendar_app.command("list")
    def list_days(
        year: Annotated[int | None, typer.Option(help="Year to list (default: this year)")] = None,
    ) -> None:
        """List a year's holidays and make-up working days."""
        from gis.db import session_scope
        from gis.incidents.holidays import list_year

        year = year or datetime.now(UTC).year
        try:
            with session_scope() as session:
                days = list_year(session, year)
        except GridgovError as exc:
            raise _fail(exc.detail) from exc
        table = Table(title=f"{year}: {len(days)} day(s)")
        for column in ("day", "weekday", "name", "kind"):
            table.add_column(column)
        for d in days:
            kind = "make-up working day 调休上班" if d.is_workday else "holiday 放假"
            table.add_row(d.day.isoformat(), f"{d.day:%a}", d.name, kind)
        console.print(table)
        warn_missing_years()

    @calendar_app.command("add")
    def add(
        day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD")],
        name: Annotated[str, typer.Argument(help="Its name, e.g. 国庆节 (1-50 characters)")],
        workday: Annotated[
            bool,
            typer.Option("--workday", help="A Saturday or Sunday worked in exchange (调休)"),
        ] = False,
    ) -> None:
        """Add (or change) a holiday, or with --workday a make-up working day."""
        from gis import audit
        from gis.db import session_scope
        from gis.incidents.holidays import put_day
        from gridgov.commands_security import _operator

        try:
            with session_scope() as session:
                row, created = put_day(session, _day(day), name, workday)
                audit.record(
                    session,
                    _operator(),
                    audit.CALENDAR_CHANGE,
                    f"calendar:{row.day}",
                    detail={"change": "add" if created else "replace", **row.as_dict()},
                )
        except GridgovError as exc:
            raise _fail(exc.detail) from exc
        kind = "make-up working day" if row.is_workday else "holiday"
        console.print(f"{'added' if created else 'changed'} {row.day} {row.name} ({kind})")

    @calendar_app.command("remove")
    def remove(day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD")]) -> None:
        """Remove a day: it is an ordinary weekday or weekend day again."""
        from gis import audit
        from gis.db import session_scope
        from gis.incidents.holidays import delete_day
        from gridgov.commands_security import _operator

        try:
            with session_scope() as session:
                row = delete_day(session, _day(day))
                audit.record(
                    session,
                    _operator(),
                    audit.CALENDAR_CHANGE,
                    f"calendar:{row.day}",
                    detail={"change": "remove", **row.as_dict()},
                )
        except GridgovError as exc:
            raise _fail(exc.detail) from exc
        console.print(f"removed {row.day} {row.name}")

    @calendar_app.command("import")
    def import_csv(
        path: Annotated[Path, typer.Argument(help="CSV with the header day,name,is_workday")],
        replace: Annotated[
            bool,
            typer.Option("--replace", help="Empty the years the file covers first"),
        ] = False,
    ) -> None:
        """Import days from a CSV file (the form of gis/incidents/holidays_cn.csv)."""
        from gis import audit
        from gis.db import session_scope
        from gis.incidents.holidays import import_days, parse_csv
        from gridgov.commands_security import _operator

        try:
            content = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read {path}: {exc}") from exc
        try:
            rows = parse_csv(content)
            with session_scope() as session:
                written = import_days(session, rows, replace_years=replace)
                audit.record(
                    session,
                    _operator(),
                    audit.CALENDAR_CHANGE,
                    f"calendar:import:{path.name}"[:500],
                    detail={
                        "change": "import",
                        "rows": written,
                        "replace": replace,
                        "years": sorted({r.day.year for r in rows}),
                    },
                )
        except GridgovError as exc:
            raise _fail(exc.detail) from exc
        console.print(f"imported {written} day(s) from {path.name}")

    @calendar_app.command("hours")
    def hours() -> None:
        """Show the office hours and time zone deadlines are counted in."""
        from gis.incidents.workcalendar import OfficeHours
        from gis.settings import get_settings

        settings = get_settings()
        office = OfficeHours.parse(settings.office_hours)
        console.print(f"office hours: {office} ({settings.timezone})")
        console.print(f"one working day: {office.day_length.total_seconds() / 3600:g} h")

    @calendar_app.command("deadline")
    def deadline_of(
        start: Annotated[
            str, typer.Argument(help="Start, ISO 8601 (no zone: the calendar's time zone)")
        ],
        minutes: Annotated[int, typer.Option(min=0, help="Working minutes")] = 0,
        hours: Annotated[int, typer.Option(min=0, help="Working hours")] = 0,
        days: Annotated[int, typer.Option(min=0, help="Working days")] = 0,
        clock: Annotated[
            bool, typer.Option("--clock", help="Round-the-clock time (emergencies)")
        ] = False,
    ) -> None:
        """When a limit that starts at START ends, counted in working time."""
        from zoneinfo import ZoneInfo

        from gis.db import session_scope
        from gis.incidents.deadlines import load_calendar
        from gis.incidents.workcalendar import deadline
        from gis.settings import get_settings

        try:
            begin = datetime.fromisoformat(start)
        except ValueError as exc:
            raise _fail(f"{start!r} is not an ISO 8601 date and time") from exc
        if begin.tzinfo is None:
            begin = begin.replace(tzinfo=ZoneInfo(get_settings().timezone))
        with session_scope() as session:
            cal = load_calendar(session)
        duration = timedelta(minutes=minutes, hours=hours) + cal.hours.day_length * days
        due = deadline(begin, duration, cal, calendar_time=clock)
        console.print(due.astimezone(cal.tz).isoformat())

    app.add_typer(calendar_app, name="calendar")
