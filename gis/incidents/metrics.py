"""Performance metrics per area and period (结案率, 按期结案率, 返工率, …). Public aggregates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.incidents.timestamps import local_iso
from gis.incidents.vocabulary import LATE_STATUSES
from gis.queries.spatial_params import check_area_code, subtree_prefix
from gis.sqlfiles import read_sql

METRIC_LEVELS = ("grid", "community", "street", "district")
PERIODS = ("day", "week", "month", "quarter", "year")


def metrics(
    session: Session,
    *,
    level: str,
    start: datetime,
    end: datetime,
    within: str | None = None,
    period: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """结案率, 按期结案率, 返工率, average handling time and overdue count per area and period.

    Over the cases reported in [start, end): registered = accepted (not reported-only, not
    refused); closure rate = closed / registered; on-time rate = closed by the handling deadline
    / closed; rework rate = registered cases sent back at least once / registered; average
    handling hours = mean of closed_at − reported_at over closed cases; overdue = cases still in
    a running stage whose deadline had passed at min(now, end). Aggregates are public.
    """
    if level not in METRIC_LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(METRIC_LEVELS)}", parameter="level")
    if period is not None and period not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}", parameter="period")
    if end <= start:
        raise InvalidInput("end must be after start", parameter="end")
    if within is not None:
        check_area_code(within, "within")
    as_of = min(now or datetime.now(UTC), end)
    rows = session.execute(
        text(read_sql("incident_metrics.sql")),
        {
            "level": level,
            "start": start,
            "end": end,
            "within": within,
            "within_like": None if within is None else subtree_prefix(within),
            "period": period,
            "as_of": as_of,
            "late": list(LATE_STATUSES),
        },
    ).all()
    return [
        {
            "area_code": r.area_code,
            "area_name": r.area_name,
            "period_start": local_iso(r.period_start),
            "reported": r.reported,
            "registered": r.registered,
            "closed": r.closed,
            "closed_on_time": r.closed_on_time,
            "reworked": r.reworked,
            "overdue": r.overdue,
            "closure_rate": _ratio(r.closed, r.registered),
            "on_time_rate": _ratio(r.closed_on_time, r.closed),
            "rework_rate": _ratio(r.reworked, r.registered),
            "avg_handling_hours": None
            if r.avg_handling_hours is None
            else round(float(r.avg_handling_hours), 3),
        }
        for r in rows
    ]


def _ratio(a: int, b: int) -> float | None:
    return None if not b else round(a / b, 6)
