"""Shared fixtures: a real PostGIS for every test that touches data.

The database comes from GRIDGOV_DATABASE_URL (used as a server to create test databases in) or
from the embedded cluster, which these fixtures start when needed. Each test session creates its
own databases (named after the process, so parallel sessions never collide) and drops them at the
end:

- ``empty_database_url``: migrated, no rows — for loaders and constraint tests;
- ``demo_database_url``: migrated with the demo city loaded and committed — for API, OGC and
  browser tests.

Per test, ``pg_conn`` (psycopg, empty database) and ``db_session`` (SQLAlchemy, demo database) run
inside a transaction that is rolled back afterwards. With CI=true a missing database fails the
run instead of skipping it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.orm import Session

from gis.pgcluster import ClusterError, EmbeddedCluster
from gis.settings import Settings, libpq_url, normalise_database_url

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_DB_PREFIX = "gridgov_test_"
# The demo city the tests run against is the real generator at a size that loads in seconds.
TEST_CITY_HOUSEHOLDS = 20_000


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping real infrastructure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required, not skipped)", pytrace=False)
    pytest.skip(reason)


def _server_url() -> str:
    settings = Settings()
    if settings.database_url:
        return libpq_url(settings.database_url)
    cluster = EmbeddedCluster(settings.home)
    try:
        cluster.start()
    except ClusterError as exc:
        unavailable(f"no PostGIS for tests: {exc}")
    return cluster.url()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _drop_stale_test_databases(admin: psycopg.Connection) -> None:
    """Drop test databases left by sessions that were killed (their pid is gone)."""
    names = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (TEST_DB_PREFIX + "%",)
    ).fetchall()
    for (name,) in names:
        pid = name[len(TEST_DB_PREFIX) :].split("_")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def server_url() -> str:
    """libpq URL of the PostgreSQL server the tests create their databases in."""
    url = _server_url()
    try:
        with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as admin:
            _drop_stale_test_databases(admin)
    except psycopg.Error as exc:
        unavailable(f"cannot reach the test PostgreSQL server: {exc}")
    return url


def create_test_database(server_url: str, suffix: str) -> str:
    """Create a migrated PostGIS database for this test session; return its libpq URL."""
    from gis.migrate import upgrade

    name = f"{TEST_DB_PREFIX}{os.getpid()}_{suffix}"
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    upgrade(url)
    return url


def drop_test_database(server_url: str, url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def empty_database_url(server_url: str) -> Iterator[str]:
    url = create_test_database(server_url, "empty")
    yield url
    drop_test_database(server_url, url)


@pytest.fixture(scope="session")
def demo_database_url(server_url: str) -> Iterator[str]:
    from data.demo import load_demo

    url = create_test_database(server_url, "demo")
    with psycopg.connect(url) as conn:
        load_demo(conn, households=TEST_CITY_HOUSEHOLDS)
        conn.commit()
    yield url
    drop_test_database(server_url, url)


@pytest.fixture
def pg_conn(empty_database_url: str) -> Iterator[psycopg.Connection]:
    """A psycopg connection to the empty database, in a transaction rolled back afterwards."""
    with psycopg.connect(empty_database_url) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


@pytest.fixture(scope="session")
def demo_engine(demo_database_url: str) -> Iterator[Engine]:
    engine = create_engine(normalise_database_url(demo_database_url), poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(demo_engine: Engine) -> Iterator[Session]:
    """A session on the demo database whose every write is rolled back after the test.

    Application code may still call ``commit()``: it commits a savepoint of the outer
    transaction (SQLAlchemy's "join a session into an external transaction" recipe).
    """
    connection = demo_engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A uvicorn process serving the app on a loopback port against a given database."""

    def __init__(self, database_url: str, extra_env: dict[str, str] | None = None) -> None:
        import subprocess
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "GRIDGOV_DATABASE_URL": database_url,
            "GRIDGOV_ENVIRONMENT": "test",
            **(extra_env or {}),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the live server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the live server did not come up")

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session")
def live_server(demo_database_url: str) -> Iterator[LiveServer]:
    """The app served over real HTTP on the committed demo database (for GDAL, browser, SSE)."""
    server = LiveServer(demo_database_url)
    yield server
    server.stop()
