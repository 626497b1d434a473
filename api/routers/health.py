"""``GET /api/v1/health``: is the service up, can it reach its database, at which schema.

Versions (PostgreSQL, PostGIS, schema revision) tell an attacker which vulnerabilities to try,
so only an admin sees them; everyone else learns whether the service and its database are up
and whether the schema is current.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SessionDep
from api.errors import UNAVAILABLE_RETRY_SECONDS
from api.security import get_viewer
from gis.db import server_versions
from gis.incidents.holidays import years_without_data
from gis.migrate import script_head
from gis.scope import ANONYMOUS, Viewer

router = APIRouter(tags=["health"])


async def health_viewer(request: Request, session: SessionDep) -> Viewer:
    """The viewer, or anonymous while the database is down.

    Checking a credential reads its session row; when that fails the health check must still
    answer in its own shape (503 with ``database: false``), which an anonymous answer does —
    versions are never shown then anyway.
    """
    try:
        return await get_viewer(request, session)
    except (SQLAlchemyError, psycopg.Error):
        return ANONYMOUS


class Health(BaseModel):
    status: str
    database: bool
    postgres: str | None = None
    postgis: str | None = None
    schema_revision: str | None = None
    schema_current: bool = False
    # This year and next, those without public holidays in the working-time calendar: their
    # holidays would count as working days (add them: `gridgov calendar import`). A warning,
    # not a failure: the State Council publishes next year's schedule late in the year.
    calendar_missing_years: list[int] = []


@router.get(
    "/health",
    response_model=Health,
    responses={
        503: {"model": Health, "description": "The database is unreachable (with Retry-After)"}
    },
)
def health(
    session: SessionDep, viewer: Annotated[Viewer, Depends(health_viewer)]
) -> Health | JSONResponse:
    """Status of the service and its database; PostgreSQL, PostGIS and schema versions for
    admins only."""
    try:
        versions = server_versions(session)
    except SQLAlchemyError:
        session.rollback()  # nothing to end: the dependency then has no transaction to commit
        body = Health(status="unavailable", database=False)
        return JSONResponse(
            body.model_dump(),
            status_code=503,
            headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
        )
    revision = versions["revision"]
    current = revision == script_head()
    status = "ok" if current else "degraded"
    missing = years_without_data(session, datetime.now(UTC).date()) if current else []
    if viewer.role != "admin":
        return Health(
            status=status, database=True, schema_current=current, calendar_missing_years=missing
        )
    return Health(
        status=status,
        database=True,
        calendar_missing_years=missing,
        postgres=versions["postgres"],
        postgis=versions["postgis"],
        schema_revision=revision,
        schema_current=current,
    )
