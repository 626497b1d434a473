"""``/docs``: the interactive OpenAPI documentation, served from vendored Swagger UI.

FastAPI's built-in page loads Swagger UI from a CDN, which an intranet without internet (and our
CSP) cannot reach; this page is the same UI from ``/static/vendor``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from web.assets import vendored_url

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="gridgov API",
        swagger_js_url=vendored_url("swagger-ui-dist", "swagger-ui-bundle.js"),
        swagger_css_url=vendored_url("swagger-ui-dist", "swagger-ui.css"),
        swagger_favicon_url=vendored_url("swagger-ui-dist", "favicon-32x32.png"),
    )
