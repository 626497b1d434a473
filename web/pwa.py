"""The installable web app of the grid worker's phone pages (/field, /grid/{code}): its
manifest and its service worker (web/static/gridgov/sw.js), both served without the database.

The worker is served from the site's root (``/sw.js``) so its scope covers the pages; its URL
carries the content version of the script, which also names its cache, so a new release drops
the old copies. docs/field-work.md ("Offline") explains what is kept and what is queued.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from gis.settings import get_settings
from web.i18n import t
from web.mapkit import STATIC_DIR, static_url

router = APIRouter(include_in_schema=False)

WORKER_PATH = "/sw.js"
MANIFEST_PATH = "/manifest.webmanifest"
# The start page an installed app opens on; it leads the worker to his grid and patrols.
START_URL = "/field"
THEME_COLOR = "#b71c1c"


def worker_url() -> str:
    """The service worker's URL, versioned like the static files (``?v=`` of its content)."""
    return WORKER_PATH + "?" + static_url("gridgov/sw.js").split("?", 1)[1]


def head_html() -> str:
    """What an installable page adds to its <head>."""
    return (
        f'<link rel="manifest" href="{MANIFEST_PATH}">'
        f'<meta name="theme-color" content="{THEME_COLOR}">'
        '<meta name="mobile-web-app-capable" content="yes">'
    )


@router.get(MANIFEST_PATH)
def manifest() -> JSONResponse:
    lang = get_settings().language
    body: dict[str, Any] = {
        "name": t("app.name", lang) + " · " + t("app.field_title", lang),
        "short_name": t("app.name", lang),
        "lang": lang,
        "start_url": START_URL,
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {
                "src": static_url("gridgov/favicon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            }
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json")


@router.get(WORKER_PATH)
def service_worker() -> Response:
    return Response(
        (STATIC_DIR / "gridgov" / "sw.js").read_bytes(),
        media_type="text/javascript",
        # The browser checks for a new worker on each visit; the scope may be the whole site.
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )
