"""The command centre's work queue and a case's duplicate candidates.

This module sorts before ``incidents`` (routers are included in name order), so
``/incidents/queue`` is matched here before ``/incidents/{incident_id}`` could take it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.security import ViewerDep, scope_decision
from gis.incidents import queue as qq

router = APIRouter(tags=["incidents"])


# Scoped: only cases in the viewer's subtree, signed-in staff only (no personal fields).
@router.get("/incidents/queue", openapi_extra=scope_decision("scoped"))
def incident_queue(
    session: SessionDep,
    viewer: ViewerDep,
    status: Annotated[
        str | None, Query(description="comma-separated statuses; default the open ones")
    ] = None,
    category: str | None = None,
    source: str | None = None,
    within: Annotated[
        str | None, Query(description="street, community or grid code: cases routed inside it")
    ] = None,
    assignee: int | None = None,
    overdue: bool | None = None,
    tray: Annotated[
        str | None, Query(description="unassigned (属地兜底, outside every grid) or escalated")
    ] = None,
    start: Annotated[datetime | None, Query(description="reported at or after")] = None,
    end: Annotated[datetime | None, Query(description="reported before")] = None,
    code: Annotated[str | None, Query(description="part of a case code", max_length=40)] = None,
    sort: Annotated[str, Query(description="deadline (overdue first), reported or updated")] = (
        "deadline"
    ),
    limit: Annotated[int, Query(ge=0, le=qq.MAX_QUEUE_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """A page of the signed-in viewer's work queue: compact rows, tray counts, facets."""
    filters = qq.QueueFilter(
        statuses=[s.strip() for s in status.split(",") if s.strip()] if status else None,
        category=category,
        source=source,
        within=within,
        assignee_id=assignee,
        overdue=overdue,
        tray=tray,
        start=start,
        end=end,
        code=code,
    )
    return qq.queue(session, viewer, filters, sort=sort, limit=limit, offset=offset)


@router.get("/incidents/{incident_id}/duplicate-candidates", openapi_extra=scope_decision("scoped"))
def duplicate_candidates(
    session: SessionDep, viewer: ViewerDep, incident_id: int
) -> dict[str, Any]:
    """Open cases of the same category within 50 m and 24 h: link one with 不予立案 (duplicate)."""
    return qq.duplicate_candidates(session, viewer, incident_id)
