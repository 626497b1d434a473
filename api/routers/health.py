"""Health: liveness (``GET /api/v1/health/live``) and readiness (``GET /api/v1/health``).

Liveness answers from the process alone (no database, no session): is this worker serving
requests at all. Readiness pings the database on every call — one statement, which also finds the
calendar years without holidays — and reuses what only a migration or an upgrade changes (server
versions, schema revision, whether it is the code's head) for ``GRIDGOV_HEALTH_CACHE_SECONDS``
per process and database. Load balancers poll liveness often and readiness to take a worker out
of rotation (docs/operations.md, "Health checks").

Versions (PostgreSQL, PostGIS, schema revision) tell an attacker which vulnerabilities to try,
so only an admin sees them; everyone else learns whether the service and its database are up
and whether the schema is current.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.errors import UNAVAILABLE_RETRY_SECONDS
from api.security import get_viewer
from gis.db import database_of, server_versions
from gis.incidents.holidays import years_without_data
from gis.migrate import script_head
from gis.scope import ANONYMOUS, Viewer
from gis.settings import get_settings

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


class Liveness(BaseModel):
    status: str


@router.get("/health/live", response_model=Liveness)
async def liveness() -> Liveness:
    """The worker is up and serving requests; asks nothing of the database (and, async, takes
    no worker thread)."""
    return Liveness(status="ok")


@dataclass(frozen=True)
class _Schema:
    """What readiness reuses between calls: it changes only with a migration or an upgrade."""

    versions: dict[str, str | None]
    current: bool
    read_at: float


_schemas: dict[str, _Schema] = {}
_schemas_lock = threading.Lock()


def _schema(session: Session) -> _Schema:
    """Server versions and schema revision, read at most every GRIDGOV_HEALTH_CACHE_SECONDS."""
    key = database_of(session)
    now = time.monotonic()
    with _schemas_lock:
        known = _schemas.get(key)
    if known is not None and now - known.read_at < get_settings().health_cache_seconds:
        return known
    versions = server_versions(session)
    found = _Schema(versions, versions["revision"] == script_head(), now)
    with _schemas_lock:
        _schemas[key] = found
    return found


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
        schema = _schema(session)
        # The ping of every call: one statement, which is also the calendar check (the table
        # exists only at the head, so an outdated schema is pinged with SELECT 1).
        if schema.current:
            missing = years_without_data(session, datetime.now(UTC).date())
        else:
            session.execute(text("SELECT 1"))
            missing = []
    except SQLAlchemyError:
        session.rollback()  # nothing to end: the dependency then has no transaction to commit
        body = Health(status="unavailable", database=False)
        return JSONResponse(
            body.model_dump(),
            status_code=503,
            headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
        )
    versions, current = schema.versions, schema.current
    status = "ok" if current else "degraded"
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
        schema_revision=versions["revision"],
        schema_current=current,
    )
