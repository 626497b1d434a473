"""What a 503 looks like on each surface, and an app bound to a database of the test's choosing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gis import db
from gis.settings import get_settings

CACHES = (
    get_settings,
    db.get_engine,
    db.get_sessionmaker,
    db.get_read_engine,
    db.get_read_sessionmaker,
)


@contextmanager
def app_database(url: str, **env: str) -> Iterator[None]:
    """Point the real engine (not a test session) at ``url`` while the block runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRIDGOV_DATABASE_URL", url)
        # Hundreds of anonymous requests: rate limits are tested elsewhere.
        patch.setenv("GRIDGOV_RATE_PUBLIC_PER_MINUTE", "1000000")
        patch.setenv("GRIDGOV_RATE_SIGN_IN_PER_MINUTE", "1000000")
        for name, value in env.items():
            patch.setenv(name, value)
        _clear()
        try:
            yield
        finally:
            _clear()
    _clear()


def _clear() -> None:
    for cache in (db.get_engine, db.get_read_engine):
        if cache.cache_info().currsize:
            cache().dispose()
    for cache in CACHES:
        cache.cache_clear()


def surface_of(path: str) -> str:
    if path.startswith("/ogc"):
        return "ogc"
    if path.startswith("/open311/"):
        return "open311"
    if path.startswith("/api/") or path.endswith((".json", ".geojson")):
        return "api"
    return "page"


def unavailable_problems(response: Any, path: str) -> list[str]:
    """Why ``response`` is not a 503 with Retry-After in the error format of ``path``'s surface."""
    problems = []
    if response.status_code != 503:
        problems.append(f"status {response.status_code}, not 503: {response.text[:200]}")
        return problems
    retry = response.headers.get("retry-after", "")
    if not retry.isdigit() or int(retry) < 1:
        problems.append(f"Retry-After is {retry!r}")
    content_type = response.headers.get("content-type", "")
    surface = surface_of(path)
    if path == "/api/v1/health":
        body = response.json()
        if body.get("database") is not False or body.get("status") != "unavailable":
            problems.append(f"health body {body}")
    elif surface == "api":
        if not content_type.startswith("application/problem+json"):
            problems.append(f"content type {content_type}")
        elif response.json().get("status") != 503 or not response.json().get("detail"):
            problems.append(f"problem body {response.text[:200]}")
    elif surface == "ogc":
        body = json.loads(response.text)
        if body.get("code") != "ServiceUnavailable" or not body.get("description"):
            problems.append(f"OGC exception body {response.text[:200]}")
    elif surface == "open311":
        if path.split("?")[0].endswith(".json"):
            body = json.loads(response.text)
            if not (isinstance(body, list) and body and body[0].get("code") == 503):
                problems.append(f"Open311 JSON errors {response.text[:200]}")
        elif not (content_type.startswith("text/xml") and "<errors>" in response.text):
            problems.append(f"Open311 XML errors {content_type} {response.text[:200]}")
    elif not (content_type.startswith("text/html") and "<html" in response.text):
        problems.append(f"page error is {content_type}: {response.text[:200]}")
    return problems
