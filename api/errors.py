"""One error shape for /api: RFC 9457 ``application/problem+json`` (type, title, status, detail).

Domain errors map to statuses in one table. Unexpected exceptions become a 500 whose body says
nothing about the database; the details go to the log only.

When the database is unreachable, restarting, overloaded or refuses a commit, every surface
answers 503 with ``Retry-After`` in its own error format (:func:`unavailable_response`):
problem+json under /api, OGC exception JSON under /ogc, the GeoReport error array (JSON or XML,
by extension) under /open311, an HTML page for the map and sign-in pages.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.db import DatabaseBusy, DatabaseNotConfigured, NotStored
from gis.errors import (
    Conflict,
    Forbidden,
    GridgovError,
    InvalidInput,
    NotFound,
    TooLarge,
    UnsupportedType,
)

log = logging.getLogger("gridgov.api")

PROBLEM_JSON = "application/problem+json"
STATUS_BY_ERROR: dict[type[GridgovError], int] = {
    InvalidInput: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedType: 415,
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
        extra: dict[str, Any] = {"parameter": exc.parameter} if exc.parameter else {}
        if exc.key:
            extra |= {"key": exc.key, "values": exc.values}
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
    async def _no_database(request: Request, exc: DatabaseNotConfigured) -> Response:
        log.error("no database configured: %s", exc)
        return unavailable_response(request, "Database unavailable", str(exc))

    @app.exception_handler(DatabaseBusy)
    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: Exception) -> Response:
        # Every database connection of this worker stayed busy for GRIDGOV_DB_POOL_TIMEOUT:
        # overload, not a fault of the request. Nothing was written; the client may retry.
        log.warning("database pool exhausted: %s", exc)
        return unavailable_response(
            request,
            "Server busy",
            "All database connections are busy; retry in a few seconds.",
            retry_after=BUSY_RETRY_SECONDS,
        )

    @app.exception_handler(NotStored)
    async def _not_stored(request: Request, exc: NotStored) -> Response:
        log.error("commit failed on %s %s", request.method, request.url.path, exc_info=exc)
        return unavailable_response(request, "Not stored", str(exc))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(psycopg.OperationalError)  # raw psycopg: the stream's listener
    async def _database_down(request: Request, exc: Exception) -> Response:
        # psycopg's OperationalError covers what is not the request's fault: the server cannot
        # be reached, is starting up or shutting down, the connection dropped, a serialization
        # failure or deadlock, a statement timeout. The pool pings before each checkout, so
        # once the server is back the next request reconnects by itself.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return unavailable_response(
            request,
            "Database unavailable",
            "The database cannot be reached right now; nothing was changed. Retry shortly.",
        )

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> Response:
        if exc.connection_invalidated:  # the connection died mid-statement
            return await _database_down(request, exc)
        raise exc  # a bug: on to the 500 handler below, which logs it

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal server error", "An unexpected error occurred; it was logged.")


# --- 503 in every surface's own format ------------------------------------------------------

UNAVAILABLE_RETRY_SECONDS = 5
BUSY_RETRY_SECONDS = 2


def unavailable_response(
    request: Request, title: str, detail: str, *, retry_after: int = UNAVAILABLE_RETRY_SECONDS
) -> Response:
    """A 503 with ``Retry-After`` in the error format of the surface ``request`` addressed."""
    response = surface_error(request.url.path, 503, title, detail)
    response.headers["Retry-After"] = str(retry_after)
    return response


def surface_error(path: str, status: int, title: str, detail: str) -> Response:
    """An error in the format of the surface ``path`` belongs to (for errors raised outside the
    routers' own error handling: middleware, dependencies, the commit)."""
    from api.routers import ogc, open311

    if path.startswith(ogc.PREFIX + "/") or path == ogc.PREFIX:
        code = "ServiceUnavailable" if status == 503 else "InvalidParameterValue"
        return ogc.ogc_exception(status, code, detail)
    if path.startswith(open311.PREFIX + "/"):
        return open311.error("json" if path.endswith(".json") else "xml", status, detail)
    if status == 503 and not path.startswith("/api/") and not path.endswith((".json", ".geojson")):
        return unavailable_page()
    return problem(status, title, detail)


def unavailable_page() -> HTMLResponse:
    """The map and sign-in pages' 503: a page in the configured language, which reloads itself."""
    from gis.settings import get_settings
    from web.i18n import t

    lang = get_settings().language
    title = html.escape(t("error.unavailable.title", lang))
    detail = html.escape(t("error.unavailable.detail", lang))
    again = html.escape(t("error.unavailable.retry", lang))
    body = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{UNAVAILABLE_RETRY_SECONDS * 2}">
<title>{title}</title>
<style>body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:3rem auto;
max-width:32rem;padding:0 1rem;color:#333}} h1{{color:#b71c1c;font-size:1.4rem}}</style>
</head><body><h1>{title}</h1><p>{detail}</p><p><a href="">{again}</a></p></body></html>"""
    return HTMLResponse(body, status_code=503, headers={"Cache-Control": "no-store"})
