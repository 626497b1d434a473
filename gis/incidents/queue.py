"""The command centre's work queue: compact pages of the cases in a viewer's scope, and the
duplicate candidates of one case.

The full case list (``gis.incidents.listing.list_incidents``) returns each case as the case
panel shows it, newest first — about 2 KB a case. The queue needs a row per case, deadline first
(overdue on top), the counts of its trays (属地兜底: outside every grid; escalated) and the facets
of the current filter, over thousands of cases a page at a time. No personal data is in a row:
the case panel reads the case itself (``GET /incidents/{id}``), masked and scoped there.

The vocabulary (statuses, open statuses, categories, sources) is imported from its owner,
``gis.incidents.vocabulary``, and the SQL takes the late and open sets from its SQL functions;
the duplicate radius and window are intake's. Nothing is restated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, NotFound
from gis.incidents.intake import DUPLICATE_RADIUS_M, DUPLICATE_WINDOW
from gis.incidents.vocabulary import KIND_OF_CATEGORY, OPEN_STATUSES, SOURCES, STATUSES
from gis.queries.spatial_params import check_area_code, subtree_prefix
from gis.scope import Viewer
from gis.sqlfiles import read_sql

MAX_QUEUE_PAGE = 200
TRAYS = ("unassigned", "escalated")
# Sort orders of the queue. "deadline" is what a dispatcher works through: overdue cases first
# (the longest overdue on top), then by the nearest deadline.
SORTS: dict[str, str] = {
    "deadline": "overdue DESC, due_at ASC NULLS LAST, reported_at ASC, id ASC",
    "reported": "reported_at DESC, id DESC",
    "updated": "updated_at DESC, id DESC",
}
# The fields of one queue row: the page reads exactly these (tests/api/test_incident_queue.py
# and the page's own tests hold both sides to it).
QUEUE_FIELDS = (
    "id",
    "code",
    "status",
    "category",
    "kind",
    "source",
    "summary",
    "lon",
    "lat",
    "street_code",
    "community_code",
    "grid_code",
    "grid_name",
    "assignee_id",
    "dispatched_to",
    "rework_count",
    "escalation_level",
    "reported_at",
    "due_at",
    "updated_at",
    "overdue",
    "unassigned",
    "escalated",
)


@dataclass
class QueueFilter:
    """What the dispatcher narrowed the queue to; every field optional."""

    statuses: list[str] | None = None
    category: str | None = None
    source: str | None = None
    within: str | None = None
    assignee_id: int | None = None
    overdue: bool | None = None
    tray: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    code: str | None = None

    def validate(self) -> None:
        for s in self.statuses or []:
            if s not in STATUSES:
                raise InvalidInput(
                    f"unknown status {s!r}; one of: {', '.join(STATUSES)}", parameter="status"
                )
        if self.category is not None and self.category not in KIND_OF_CATEGORY:
            raise InvalidInput(
                f"unknown category {self.category!r}; one of: {', '.join(KIND_OF_CATEGORY)}",
                parameter="category",
            )
        if self.source is not None and self.source not in SOURCES:
            raise InvalidInput(
                f"unknown source {self.source!r}; one of: {', '.join(SOURCES)}",
                parameter="source",
            )
        if self.within is not None:
            check_area_code(self.within, "within")
        if self.tray is not None and self.tray not in TRAYS:
            raise InvalidInput(f"tray must be one of {', '.join(TRAYS)}", parameter="tray")
        for name, value in (("start", self.start), ("end", self.end)):
            if value is not None and value.tzinfo is None:
                raise InvalidInput(
                    f"{name} needs a time zone, e.g. 2026-11-20T08:00:00+08:00", parameter=name
                )
        if self.start and self.end and self.end <= self.start:
            raise InvalidInput("end must be after start", parameter="end")
        if self.code is not None and not 1 <= len(self.code.strip()) <= 40:
            raise InvalidInput("code needs 1 to 40 characters", parameter="code")


def _like_fragment(value: str) -> str:
    """``value`` as a LIKE pattern matching it anywhere, its wildcards taken literally.

    >>> _like_fragment("SJ2026_1%")
    '%SJ2026\\\\_1\\\\%%'
    """
    escaped = value.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _require_staff(viewer: Viewer) -> str:
    if viewer.is_public or viewer.username is None or viewer.scope_like is None:
        raise Forbidden("the work queue is for signed-in staff with an area")
    return viewer.scope_like


def queue(
    session: Session,
    viewer: Viewer,
    filters: QueueFilter,
    *,
    sort: str = "deadline",
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One page of the viewer's queue, its total, the tray counts and the facets.

    ``counts`` are over the filters without ``overdue`` and ``tray`` (so the tray badges stay
    put while one tray is open); ``total`` and ``facets`` over all filters.
    """
    scope_like = _require_staff(viewer)
    filters.validate()
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", parameter="sort")
    if not 0 <= limit <= MAX_QUEUE_PAGE:
        raise InvalidInput(f"limit must be 0 to {MAX_QUEUE_PAGE}", parameter="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", parameter="offset")
    now = now or datetime.now(UTC)
    sql = read_sql("incident_queue.sql").format(order_by=SORTS[sort])
    rows = session.execute(
        text(sql),
        {
            "scope_like": scope_like,
            "statuses": list(filters.statuses or OPEN_STATUSES),
            "category": filters.category,
            "source": filters.source,
            "within_like": None if filters.within is None else subtree_prefix(filters.within),
            "assignee": filters.assignee_id,
            "start": filters.start,
            "end": filters.end,
            "code_like": None if filters.code is None else _like_fragment(filters.code),
            "overdue": filters.overdue,
            "tray": filters.tray,
            "now": now,
            "lim": limit,
            "off": offset,
        },
    ).all()
    first = rows[0]
    return {
        "total": int(first.total),
        "limit": limit,
        "offset": offset,
        "sort": sort,
        "as_of": now.isoformat(),
        "counts": {
            "all": int(first.count_all),
            "overdue": int(first.count_overdue),
            "unassigned": int(first.count_unassigned),
            "escalated": int(first.count_escalated),
        },
        "facets": first.facets,
        "items": [_row(r) for r in rows if r.id is not None],
    }


def _row(r: Any) -> dict[str, Any]:
    out = {name: getattr(r, name) for name in QUEUE_FIELDS}
    for name in ("reported_at", "due_at", "updated_at"):
        out[name] = None if out[name] is None else out[name].isoformat()
    for name in ("overdue", "unassigned", "escalated"):
        out[name] = bool(out[name])
    return out


def duplicate_candidates(session: Session, viewer: Viewer, incident_id: int) -> dict[str, Any]:
    """Open cases of the same category within 50 m and 24 h of case ``incident_id``."""
    _require_staff(viewer)
    scope = session.execute(
        text(
            "SELECT coalesce(g.code, c.code, s.code, i.district_code) AS code FROM incident i "
            "LEFT JOIN area s ON s.id = i.street_id LEFT JOIN area c ON c.id = i.community_id "
            "LEFT JOIN area g ON g.id = i.grid_id WHERE i.id = :id"
        ),
        {"id": incident_id},
    ).scalar_one_or_none()
    if scope is None:
        raise NotFound(f"no incident {incident_id}")
    if not viewer.covers(scope):
        raise Forbidden(f"incident {incident_id} lies outside your area {viewer.scope_code}")
    rows = session.execute(
        text(read_sql("incident_duplicate_candidates.sql")),
        {
            "id": incident_id,
            "radius": DUPLICATE_RADIUS_M,
            "window": DUPLICATE_WINDOW,
        },
    ).all()
    return {
        "incident_id": incident_id,
        "radius_m": DUPLICATE_RADIUS_M,
        "window_hours": DUPLICATE_WINDOW.total_seconds() / 3600,
        "items": [
            {
                "id": r.id,
                "code": r.code,
                "status": r.status,
                "category": r.category,
                "summary": r.summary,
                "reported_at": r.reported_at.isoformat(),
                "lon": r.lon,
                "lat": r.lat,
                "distance_m": round(float(r.distance_m), 1),
            }
            for r in rows
        ],
    }
