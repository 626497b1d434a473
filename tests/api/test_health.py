from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.migrate import script_head
from tests.api.security_helpers import add_account, demo_areas, token_for


def test_health_reports_database_versions_and_schema(
    client: TestClient, db_session: Session
) -> None:
    add_account(db_session, "health_admin", "admin", demo_areas(db_session).district)
    admin = {"Authorization": f"Bearer {token_for(db_session, 'health_admin')}"}
    response = client.get("/api/v1/health", headers=admin)  # versions are for admins only
    assert response.status_code == 200
    body = response.json()
    postgis = db_session.execute(
        text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    ).scalar_one()
    assert body["database"] is True
    assert body["postgis"] == postgis
    assert body["postgres"] == db_session.execute(text("SHOW server_version")).scalar_one()
    assert body["schema_revision"] == script_head()  # one line: one revision, no commas
    assert body["schema_current"] is True
    assert body["status"] == "ok"


def test_health_reads_the_migration_scripts_once_per_process(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading and compiling every migration on each probe made the health check the most
    # expensive read of the API; the head is read once and kept.
    from alembic.script import ScriptDirectory

    client.get("/api/v1/health")

    def _no_rereading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the migration scripts were read again")

    monkeypatch.setattr(ScriptDirectory, "from_config", _no_rereading)
    again = client.get("/api/v1/health")
    assert again.status_code == 200
    assert again.json()["schema_current"] is True  # compared with the head read before


def test_liveness_answers_without_the_database(client: TestClient) -> None:
    # Liveness asks nothing of the database: it answers even when no connection can be had.
    from gis.db import get_session

    def _no_session() -> None:
        raise AssertionError("liveness asked for a database session")

    client.app.dependency_overrides[get_session] = _no_session  # type: ignore[attr-defined]
    response = client.get("/api/v1/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_pings_every_call_and_reads_versions_once_per_interval(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The versions and the revision change only with an upgrade or a migration: read once per
    # GRIDGOV_HEALTH_CACHE_SECONDS. The database itself is asked on every call (the calendar
    # check is the ping), so an outage shows at once (tests/api/test_database_outage.py).
    import api.routers.health as health_module

    reads: list[int] = []
    pings: list[int] = []
    real_versions = health_module.server_versions
    real_years = health_module.years_without_data

    def counted_versions(session: Session) -> dict[str, str | None]:
        reads.append(1)
        return real_versions(session)

    def counted_years(session: Session, today: object) -> list[int]:
        pings.append(1)
        return real_years(session, today)  # type: ignore[arg-type]

    monkeypatch.setattr(health_module, "server_versions", counted_versions)
    monkeypatch.setattr(health_module, "years_without_data", counted_years)
    health_module._schemas.clear()
    bodies = [client.get("/api/v1/health").json() for _ in range(3)]
    assert len(reads) == 1
    assert len(pings) == 3
    assert all(b["status"] == "ok" and b["schema_current"] is True for b in bodies)

    health_module._schemas.clear()  # an interval later: read again
    monkeypatch.setattr(health_module, "get_settings", lambda: _Interval(0))
    client.get("/api/v1/health")
    client.get("/api/v1/health")
    assert len(reads) == 3  # with an interval of 0, every call reads them


class _Interval:
    def __init__(self, seconds: int) -> None:
        self.health_cache_seconds = seconds


def test_unknown_api_path_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


def test_a_request_finding_every_connection_busy_gets_503_and_retry_after(
    demo_database_url: str,
) -> None:
    # The pool has no overflow (gis.db.make_engine): when all its connections stay busy for
    # the pool timeout, the request is told to come back, not given a 500.
    from collections.abc import Iterator

    from api.app import create_app
    from gis.db import get_session, make_engine

    engine = make_engine(demo_database_url, pool_size=1, pool_timeout=0.2)

    def _session() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    app = create_app()
    app.dependency_overrides[get_session] = _session
    try:
        with engine.connect() as held, TestClient(app) as client:
            held.execute(text("SELECT 1"))  # the only connection is now busy
            busy = client.get("/api/v1/locate", params={"lon": 106.63, "lat": 35.22})
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "2"
        assert busy.headers["content-type"].startswith("application/problem+json")
        assert "retry" in busy.json()["detail"]
        with TestClient(app) as client:  # the connection is back: served again
            served = client.get("/api/v1/locate", params={"lon": 106.63, "lat": 35.22})
        assert served.status_code == 200
        assert served.json()["point"]["lon"] == 106.63
    finally:
        engine.dispose()


def test_sessions_give_back_their_connections_when_every_thread_waits_for_one(
    demo_database_url: str,
) -> None:
    # Read handlers leave their transaction for the session dependency to end after them, and
    # FastAPI validates their response in a thread too. If handlers waited for connections in
    # threads, a burst could fill every thread with handlers waiting for a connection while the
    # requests holding the connections wait for a thread: nothing would move until the pool
    # timed out (503s). Two threads, two connections, twelve requests at once.
    import asyncio
    from collections.abc import AsyncIterator

    import httpx
    from anyio import to_thread
    from sqlalchemy.orm import sessionmaker

    from api.app import create_app
    from gis.db import get_session, make_engine, session_for_request

    engine = make_engine(demo_database_url, pool_size=2, pool_timeout=3)

    async def _session() -> AsyncIterator[Session]:
        async with session_for_request(sessionmaker(bind=engine)) as session:
            yield session

    app = create_app()
    app.dependency_overrides[get_session] = _session

    async def burst() -> list[int]:
        to_thread.current_default_thread_limiter().total_tokens = 2
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(
                    client.get("/api/v1/locate", params={"lon": 106.63, "lat": 35.22 + i / 1e4})
                    for i in range(12)
                )
            )
        return [r.status_code for r in responses]

    try:
        assert asyncio.run(burst()) == [200] * 12
    finally:
        engine.dispose()
