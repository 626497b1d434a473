"""The application factory: the JSON API, OGC and Open311 surfaces, the map pages and assets.

Routers are discovered: every module in ``api/routers`` exposes ``router`` and may set ``PREFIX``
(default ``/api/v1``), and every page module in ``web`` exposes ``router``; adding a resource or a
page never means editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

import api.routers
import web
from api.compression import install_compression
from api.errors import install_error_handlers
from api.input_limits import install_input_guard
from api.security import install_security
from gis.db import get_sessionmaker
from gis.eventhub import close_hub
from gis.incidents.escalation_runner import EscalationRunner
from gis.notifications.outbox import start_sender, stop_sender
from gis.settings import get_settings

API_PREFIX = "/api/v1"


def discover_routers() -> list[tuple[str, APIRouter]]:
    """(prefix, router) for every module of ``api.routers``, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(api.routers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"api.routers.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append((getattr(module, "PREFIX", API_PREFIX), router))
    return found


def discover_page_routers() -> list[APIRouter]:
    """The ``router`` of every module of ``web`` that serves pages (web/pages.py, web/plan.py…)."""
    found = []
    for info in sorted(pkgutil.iter_modules(web.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"web.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    # The outbox sender of notifications (gis/notifications/outbox.py), when channels exist.
    sender = start_sender(settings)
    # Escalation, overdue marking and due-soon announcements by themselves (one worker at a
    # time acts, under an advisory lock): gis/incidents/escalation_runner.py.
    runner = None
    if settings.escalation_runner:
        runner = EscalationRunner(get_sessionmaker, settings.escalation_interval_seconds)
        runner.start()
    app.state.escalation_runner = runner
    try:
        yield
    finally:
        if runner is not None:
            await runner.stop()
        await stop_sender(sender)
        # The worker's database listener of the live streams (gis/eventhub.py).
        await close_hub()


def create_app() -> FastAPI:
    """A new app configured from the environment as it is now (the settings are re-read)."""
    get_settings.cache_clear()
    settings = get_settings()
    app = FastAPI(
        title="gridgov",
        summary="Geospatial grid governance: areas, party building, incidents on PostGIS.",
        version="0.1.0",
        # /docs and /openapi.json are served by web/apidocs.py: vendored Swagger UI (no CDN),
        # and admin-only in production. FastAPI's own routes stay off.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Innermost middleware, so installed first: values the database cannot hold → 400.
    install_input_guard(app)
    # Security headers, body/JSON limits, rate limits, CORS (off by default) and the production
    # start-up checks: docs/security.md.
    install_security(app)
    # Outermost: JSON, GeoJSON and pages gzipped for clients that accept it (api/compression.py).
    install_compression(app)
    for prefix, router in discover_routers():
        app.include_router(router, prefix=prefix)
    for page_router in discover_page_routers():
        app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=Path(web.__file__).parent / "static"), name="static")
    return app
