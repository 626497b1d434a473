"""``/docs`` and ``/openapi.json``: the interactive API documentation and its OpenAPI document.

FastAPI's built-in page loads Swagger UI from a CDN, which an intranet without internet (and our
CSP) cannot reach; this page is the same UI from ``/static/vendor``. The OpenAPI document is
served here too (the app factory turns FastAPI's own route off) so that both follow one rule: open
in development and test; in production, admins only — a map of every route and parameter helps an
attacker more than an operator, and anyone else gets 404 as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from gis.db import get_sessionmaker, session_for_request
from gis.scope import Viewer
from gis.settings import get_settings
from web.assets import vendored_url

OPENAPI_URL = "/openapi.json"


async def docs_access(request: Request) -> None:
    """404 in production unless an admin asks; open elsewhere.

    Outside production no session is taken (the document is static), so tools that load the
    schema before any database is bound (schemathesis) still can.
    """
    if get_settings().environment != "production":
        return
    resolve: Callable[[Request, Session], Awaitable[Viewer]] | None = getattr(
        request.app.state, "resolve_viewer", None
    )
    if resolve is None:
        raise HTTPException(status_code=404)
    async with session_for_request(get_sessionmaker()) as session:
        viewer = await resolve(request, session)
    if viewer.role != "admin":
        raise HTTPException(status_code=404)


router = APIRouter(include_in_schema=False, dependencies=[Depends(docs_access)])


@router.get(OPENAPI_URL)
def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="gridgov API",
        swagger_js_url=vendored_url("swagger-ui-dist", "swagger-ui-bundle.js"),
        swagger_css_url=vendored_url("swagger-ui-dist", "swagger-ui.css"),
        swagger_favicon_url=vendored_url("swagger-ui-dist", "favicon-32x32.png"),
    )
