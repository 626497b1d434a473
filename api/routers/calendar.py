"""``/api/v1/admin/calendar``: the working-time calendar that deadlines are counted on (admins).

Reading a year, adding, changing or removing a day, importing a CSV, and computing a deadline
go through :mod:`gis.incidents.holidays` and :mod:`gis.incidents.deadlines`, as
``gridgov calendar`` does; every change is audited (``calendar.change``) in its transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, client_address, scope_decision
from gis import audit
from gis.errors import Forbidden, InvalidInput
from gis.incidents import holidays
from gis.incidents.deadlines import load_calendar
from gis.incidents.workcalendar import deadline
from gis.scope import Viewer
from gis.settings import get_settings

router = APIRouter(tags=["calendar"])
ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not an admin"},
}
# Holidays and office hours are public facts; only admins may see and change the table.
NO_PERSONAL_DATA = scope_decision("public")
DayPath = Annotated[date, Path(description="The day, YYYY-MM-DD")]


def _require_admin(viewer: Viewer) -> None:
    if viewer.role != "admin":
        raise Forbidden("only admins maintain the working-time calendar")


class CalendarDay(BaseModel):
    day: date
    name: str
    is_workday: bool


class CalendarYear(BaseModel):
    year: int
    timezone: str
    office_hours: str
    working_day_hours: float
    days: list[CalendarDay]
    missing_years: list[int] = Field(
        description="This year and next, those without holidays: their holidays would count "
        "as working days"
    )


class DayChange(BaseModel):
    name: str = Field(min_length=1, max_length=holidays.NAME_MAX_LENGTH, examples=["国庆节"])
    is_workday: bool = Field(
        default=False, description="A Saturday or Sunday worked in exchange (调休上班)"
    )


class DayChanged(CalendarDay):
    created: bool


class CalendarImport(BaseModel):
    csv: str = Field(
        min_length=1,
        max_length=200_000,
        description="CSV text with the header day,name,is_workday ('#' lines are comments)",
    )
    replace: bool = Field(default=False, description="Empty the years the file covers first")


class Imported(BaseModel):
    imported: int
    years: list[int]


class Deadline(BaseModel):
    start: str
    due_at: str
    working_time: bool


def _record(
    session: SessionDep, viewer: Viewer, request: Request, target: str, detail: dict[str, Any]
) -> None:
    audit.record(
        session,
        viewer,
        audit.CALENDAR_CHANGE,
        target,
        client=client_address(request),
        detail=detail,
    )


@router.get(
    "/admin/calendar",
    response_model=CalendarYear,
    responses=ADMIN_ONLY,
    openapi_extra=NO_PERSONAL_DATA,
)
def calendar_year(
    session: SessionDep,
    viewer: SignedInViewerDep,
    year: Annotated[
        int | None,
        Query(ge=holidays.FIRST_YEAR, le=holidays.LAST_YEAR, description="Default: this year"),
    ] = None,
) -> dict[str, Any]:
    """A year's public holidays and make-up working days, and the office hours."""
    _require_admin(viewer)
    settings = get_settings()
    cal = load_calendar(session)
    today = datetime.now(UTC).astimezone(cal.tz).date()
    year = year or today.year
    return {
        "year": year,
        "timezone": settings.timezone,
        "office_hours": settings.office_hours,
        "working_day_hours": cal.hours.day_length.total_seconds() / 3600,
        "days": [d.as_dict() for d in holidays.list_year(session, year)],
        "missing_years": holidays.years_without_data(session, today),
    }


@router.put(
    "/admin/calendar/days/{day}",
    response_model=DayChanged,
    responses={**ADMIN_ONLY, 201: {"description": "Added"}, 400: {"description": "Invalid day"}},
    openapi_extra=NO_PERSONAL_DATA,
)
def put_day(
    day: DayPath,
    body: DayChange,
    request: Request,
    response: Response,
    session: SessionDep,
    viewer: SignedInViewerDep,
) -> dict[str, Any]:
    """Add or change a day: a public holiday, or (``is_workday``) a weekend day worked."""
    _require_admin(viewer)
    row, created = holidays.put_day(session, day, body.name, body.is_workday)
    _record(
        session,
        viewer,
        request,
        f"calendar:{row.day}",
        {"change": "add" if created else "replace", **row.as_dict()},
    )
    response.status_code = 201 if created else 200
    return {**row.as_dict(), "created": created}


@router.delete(
    "/admin/calendar/days/{day}",
    status_code=204,
    responses={**ADMIN_ONLY, 404: {"description": "The day is not in the calendar"}},
    openapi_extra=NO_PERSONAL_DATA,
)
def delete_day(
    day: DayPath, request: Request, session: SessionDep, viewer: SignedInViewerDep
) -> Response:
    """Remove a day: it is an ordinary weekday or weekend day again."""
    _require_admin(viewer)
    row = holidays.delete_day(session, day)
    _record(session, viewer, request, f"calendar:{row.day}", {"change": "remove", **row.as_dict()})
    return Response(status_code=204)


@router.post(
    "/admin/calendar/import",
    response_model=Imported,
    responses={**ADMIN_ONLY, 400: {"description": "A line of the CSV is wrong (it says which)"}},
    openapi_extra=NO_PERSONAL_DATA,
)
def import_days(
    body: CalendarImport, request: Request, session: SessionDep, viewer: SignedInViewerDep
) -> dict[str, Any]:
    """Import days from CSV text (all or nothing)."""
    _require_admin(viewer)
    rows = holidays.parse_csv(body.csv)
    if not rows:
        raise InvalidInput("the CSV has no day", parameter="csv")
    written = holidays.import_days(session, rows, replace_years=body.replace)
    years = sorted({r.day.year for r in rows})
    _record(
        session,
        viewer,
        request,
        "calendar:import",
        {"change": "import", "rows": written, "replace": body.replace, "years": years},
    )
    return {"imported": written, "years": years}


@router.get(
    "/admin/calendar/deadline",
    response_model=Deadline,
    responses=ADMIN_ONLY,
    openapi_extra=NO_PERSONAL_DATA,
)
def compute_deadline(
    session: SessionDep,
    viewer: SignedInViewerDep,
    start: Annotated[
        datetime, Query(description="ISO 8601; without a zone, the calendar's time zone")
    ],
    minutes: Annotated[int, Query(ge=0, le=100_000)] = 0,
    hours: Annotated[int, Query(ge=0, le=5_000)] = 0,
    days: Annotated[int, Query(ge=0, le=1_000)] = 0,
    clock: Annotated[bool, Query(description="Round-the-clock time (emergencies)")] = False,
) -> dict[str, Any]:
    """When a limit of ``days`` working days + ``hours`` + ``minutes`` starting at ``start``
    ends, as the case loop computes it."""
    _require_admin(viewer)
    cal = load_calendar(session)
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(get_settings().timezone))
    if not holidays.FIRST_YEAR <= start.year <= holidays.LAST_YEAR:
        raise InvalidInput(
            f"start must be in {holidays.FIRST_YEAR}–{holidays.LAST_YEAR}", parameter="start"
        )
    duration = timedelta(minutes=minutes, hours=hours) + cal.hours.day_length * days
    try:
        due = deadline(start, duration, cal, calendar_time=clock)
    except (ValueError, OverflowError) as exc:  # past the calendar's ten-year horizon
        raise InvalidInput(f"no deadline can be computed: {exc}", parameter="days") from exc
    return {
        "start": start.isoformat(),
        "due_at": due.astimezone(cal.tz).isoformat(),
        "working_time": not clock,
    }
