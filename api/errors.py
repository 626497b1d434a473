"""One error shape for /api: RFC 9457 ``application/problem+json`` (type, title, status, detail).

Domain errors map to statuses in one table. Unexpected exceptions become a 500 whose body says
nothing about the database; the details go to the log only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.db import DatabaseBusy, DatabaseNotConfigured
from gis.errors import Conflict, Forbidden, GridgovError, InvalidInput, NotFound

log = logging.getLogger("gridgov.api")

PROBLEM_JSON = "application/problem+json"
STATUS_BY_ERROR: dict[type[GridgovError], int] = {
    InvalidInput: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
}


def problem(
    status: int, title: str, detail: str, *, type_: str = "about:blank", **extra: Any
) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        message = str(error.get("msg", "invalid value"))
        errors.append({"parameter": location, "message": message})
        parts.append(f"{location}: {message}")
    return "; ".join(parts) or "the request is invalid", errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GridgovError)
    async def _domain(_: Request, exc: GridgovError) -> JSONResponse:
        status = next(
            (code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400
        )
        extra = {"parameter": exc.parameter} if exc.parameter else {}
        return problem(status, exc.title, exc.detail, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _validation_detail(exc)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        response = problem(exc.status_code, title, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(DatabaseNotConfigured)
    async def _no_database(_: Request, exc: DatabaseNotConfigured) -> JSONResponse:
        return problem(503, "Database unavailable", str(exc))

    @app.exception_handler(DatabaseBusy)
    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(_: Request, exc: Exception) -> JSONResponse:
        # Every database connection of this worker stayed busy for GRIDGOV_DB_POOL_TIMEOUT:
        # overload, not a fault of the request. Nothing was written; the client may retry.
        log.warning("database pool exhausted: %s", exc)
        response = problem(
            503, "Server busy", "All database connections are busy; retry in a few seconds."
        )
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal server error", "An unexpected error occurred; it was logged.")
