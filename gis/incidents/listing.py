"""Filtering and paging cases (the list endpoints and the map aggregates share the filter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput
from gis.incidents.presentation import SELECT_INCIDENT, present
from gis.incidents.vocabulary import KIND_OF_CATEGORY, KINDS, LATE_STATUSES, STATUSES
from gis.queries.spatial_params import check_area_code, subtree_prefix
from gis.scope import Viewer

MAX_PAGE = 1000


@dataclass
class IncidentFilter:
    status: list[str] | None = None
    kind: str | None = None
    category: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    within: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    overdue: bool | None = None
    assignee_id: int | None = None
    unassigned: bool | None = None
    ids: list[int] | None = None
    codes: list[str] | None = None
    resolutions: list[str] | None = None

    def validate(self) -> None:
        for s in self.status or []:
            if s not in STATUSES:
                raise InvalidInput(
                    f"unknown status {s!r}; one of: {', '.join(STATUSES)}", parameter="status"
                )
        if self.kind is not None and self.kind not in KINDS:
            raise InvalidInput("kind must be event or component", parameter="kind")
        if self.category is not None and self.category not in KIND_OF_CATEGORY:
            raise InvalidInput(f"unknown category {self.category!r}", parameter="category")
        if self.within is not None:
            check_area_code(self.within, "within")
        if self.start and self.end and self.end <= self.start:
            raise InvalidInput("end must be after start", parameter="end")


FILTER_WHERE = """
    WHERE (CAST(:statuses AS text[]) IS NULL OR i.status = ANY(CAST(:statuses AS text[])))
      AND (CAST(:kind AS text) IS NULL OR i.kind = :kind)
      AND (CAST(:category AS text) IS NULL OR i.category = :category)
      AND (CAST(:w AS float8) IS NULL OR i.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326))
      AND (CAST(:within AS text) IS NULL
           OR coalesce(g.code, c.code, s.code, i.district_code) LIKE :within_like)
      AND (CAST(:start AS timestamptz) IS NULL OR i.reported_at >= :start)
      AND (CAST(:end AS timestamptz) IS NULL OR i.reported_at < :end)
      AND (CAST(:overdue AS boolean) IS NULL
           OR (i.status = ANY(:late) AND i.due_at < :now) = :overdue)
      AND (CAST(:assignee AS bigint) IS NULL OR i.assignee_id = :assignee)
      AND (CAST(:unassigned AS boolean) IS NULL OR (i.grid_id IS NULL) = :unassigned)
      AND (CAST(:ids AS bigint[]) IS NULL OR i.id = ANY(CAST(:ids AS bigint[])))
      AND (CAST(:codes AS text[]) IS NULL OR i.code = ANY(CAST(:codes AS text[])))
      AND (CAST(:resolutions AS text[]) IS NULL
           OR i.resolution = ANY(CAST(:resolutions AS text[])))
"""


def filter_params(f: IncidentFilter, now: datetime) -> dict[str, Any]:
    w, s, e, n = f.bbox if f.bbox else (None, None, None, None)
    return {
        "statuses": f.status,
        "kind": f.kind,
        "category": f.category,
        "w": w,
        "s": s,
        "e": e,
        "n": n,
        "within": f.within,
        "within_like": None if f.within is None else subtree_prefix(f.within),
        "start": f.start,
        "end": f.end,
        "overdue": f.overdue,
        "assignee": f.assignee_id,
        "unassigned": f.unassigned,
        "ids": f.ids,
        "codes": f.codes,
        "resolutions": f.resolutions,
        "late": list(LATE_STATUSES),
        "now": now,
    }


def list_incidents(
    session: Session,
    viewer: Viewer,
    filters: IncidentFilter,
    *,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A page of cases matching ``filters`` (newest first) and the total count."""
    filters.validate()
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE}", parameter="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", parameter="offset")
    if filters.assignee_id is not None and viewer.is_public:
        raise Forbidden("filtering by assignee needs a signed-in role")
    params = filter_params(filters, now or datetime.now(UTC))
    total = session.execute(
        text(
            "SELECT count(*) FROM incident i LEFT JOIN area s ON s.id = i.street_id "
            "LEFT JOIN area c ON c.id = i.community_id LEFT JOIN area g ON g.id = i.grid_id"
            + FILTER_WHERE
        ),
        params,
    ).scalar_one()
    rows = session.execute(
        text(
            SELECT_INCIDENT
            + FILTER_WHERE
            + " ORDER BY i.reported_at DESC, i.id DESC LIMIT :lim OFFSET :off"
        ),
        {**params, "lim": limit, "off": offset},
    ).all()
    return {
        "total": int(total),
        "limit": limit,
        "offset": offset,
        "items": [present(r, viewer) for r in rows],
    }
