"""Shared fixtures: a real PostGIS for every test that touches data.

The database comes from GRIDGOV_DATABASE_URL (used as a server to create test databases in) or
from the embedded cluster, which these fixtures start when needed. Each test session creates its
own databases (named after the process, so parallel sessions never collide) and drops them at the
end:

- ``empty_database_url``: migrated, no rows — for loaders and constraint tests;
- ``demo_database_url``: migrated with the demo city loaded and committed — for API, OGC and
  browser tests.

As in production, a test database is owned by an owner role that migrates it and loads bulk data
(``owner_url(url)``), and the URLs these fixtures hand out connect as the app role, which is
neither owner nor superuser and has only the grants ``gridgov migrate`` gives it: the app under
test (TestClient sessions, LiveServer) runs with its real privileges. The server URL itself is a
superuser's, used only to create and drop databases. With the embedded cluster the roles are its
own (gis/pgcluster.py); on a server given by GRIDGOV_DATABASE_URL the fixtures create
``gridgov_test_owner`` and ``gridgov_test_app``.

Per test, ``pg_conn`` (psycopg, empty database) and ``db_session`` (SQLAlchemy, demo database) run
inside a transaction that is rolled back afterwards. With CI=true a missing database fails the
run instead of skipping it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.orm import Session

from gis.pgcluster import APP_ROLE, OWNER_ROLE, ClusterError, EmbeddedCluster, role_setup_sql
from gis.settings import Settings, get_settings, libpq_url, normalise_database_url
from gridgov.liveserver import AppServer

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# An in-process app (TestClient) would start the escalation runner against whatever database the
# settings name, racing the test's own writes: off here. The live server turns it on (LiveServer
# below), and the runner's own tests turn it on themselves.
os.environ.setdefault("GRIDGOV_ESCALATION_RUNNER", "false")
TEST_DB_PREFIX = "gridgov_test_"
# The demo city the tests run against is the real generator at a size that loads in seconds.
TEST_CITY_HOUSEHOLDS = 20_000


# The fast lane (`make check`: -m "not slow and not browser and not gdal") leaves these out;
# `make test` (CI) runs everything. Modules here start clusters, replicas, fresh databases or
# subprocesses and take minutes; a test that asks for the `browser` fixture is a browser test.
SLOW_MODULES = {
    "tests/gis/test_pgcluster.py",
    "tests/gis/test_read_replica.py",
    "tests/gis/test_migrations.py",
    "tests/e2e/test_cli_import_export.py",
    "tests/api/test_schemathesis.py",
}
ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if item.path.relative_to(ROOT).as_posix() in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping real infrastructure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required, not skipped)", pytrace=False)
    pytest.skip(reason)


def _worktree_state() -> str | None:
    """Every changed or new file of the checkout (ignored files excepted) with its content hash;
    None without git or outside a git checkout (a source tarball)."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return None
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        capture_output=True,
    )
    if status.returncode != 0:
        return None
    entries = sorted(e for e in status.stdout.decode("utf-8", "replace").split("\0") if e)
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(entry.encode())
        path = ROOT / entry[3:]
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return "\n".join(entries) + "\n" + digest.hexdigest()


@pytest.fixture(scope="session", autouse=True)
def _tests_write_no_file_of_the_checkout() -> Iterator[None]:
    """Tests write to tmp_path (or the ignored tests/artifacts), never into the checkout: a
    tracked file changed or a new file left behind fails the session."""
    before = _worktree_state()
    yield
    after = _worktree_state()
    assert after == before, (
        "the test run changed files of the checkout (a test must write to tmp_path; or were "
        "files edited while the tests ran?):\n"
        f"before:\n{before}\nafter:\n{after}"
    )


@lru_cache
def _server_url() -> str:
    settings = Settings()
    if settings.database_url:
        return libpq_url(settings.database_url)
    cluster = EmbeddedCluster(settings.home, settings.pg_bindir)
    try:
        cluster.start()
    except ClusterError as exc:
        unavailable(f"no PostGIS for tests: {exc}")
    return cluster.url()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@dataclass(frozen=True)
class DatabaseRoles:
    """The owner and app roles test databases are made with, and their passwords."""

    owner: str
    owner_password: str
    app: str
    app_password: str


@lru_cache
def database_roles(server_url: str) -> DatabaseRoles:
    """The roles on this server: the embedded cluster's own, or test roles made here."""
    settings = Settings()
    if not settings.database_url:
        # Started by _server_url: the roles exist.
        cluster = EmbeddedCluster(settings.home, settings.pg_bindir)
        return DatabaseRoles(
            OWNER_ROLE, cluster.password_of(OWNER_ROLE), APP_ROLE, cluster.password_of(APP_ROLE)
        )

    # Derived from the server's URL, so parallel sessions agree without sharing a file.
    def password(role: str) -> str:
        return hashlib.sha256(f"{server_url}#{role}".encode()).hexdigest()[:32]

    roles = DatabaseRoles(
        "gridgov_test_owner",
        password("gridgov_test_owner"),
        "gridgov_test_app",
        password("gridgov_test_app"),
    )
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(
            role_setup_sql(roles.owner, roles.owner_password, roles.app, roles.app_password)
        )
    return roles


def _as_role(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def owner_url(url: str) -> str:
    """The same test database, as its owner (migrations, bulk loads, set-up the app may not do)."""
    roles = database_roles(_server_url())
    return _as_role(url, roles.owner, roles.owner_password)


def app_role() -> str:
    """The app role's name (what migrations of test databases grant to)."""
    return database_roles(_server_url()).app


def app_url(url: str) -> str:
    """The same test database, as the app role."""
    roles = database_roles(_server_url())
    return _as_role(url, roles.app, roles.app_password)


def _drop_stale_test_databases(admin: psycopg.Connection) -> None:
    """Drop test databases left by sessions that were killed (their pid is gone)."""
    names = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (TEST_DB_PREFIX + "%",)
    ).fetchall()
    for (name,) in names:
        pid = name[len(TEST_DB_PREFIX) :].split("_")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def _media_in_a_temporary_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Photos uploaded by tests (and by live servers they start) go to a temporary directory,
    never into the developer's $GRIDGOV_HOME/media."""
    previous = os.environ.get("GRIDGOV_MEDIA_DIR")
    os.environ["GRIDGOV_MEDIA_DIR"] = str(tmp_path_factory.mktemp("media"))
    get_settings.cache_clear()
    yield
    if previous is None:
        os.environ.pop("GRIDGOV_MEDIA_DIR", None)
    else:
        os.environ["GRIDGOV_MEDIA_DIR"] = previous
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Settings are cached per process; a test that changed GRIDGOV_* leaves none behind."""
    yield
    get_settings.cache_clear()


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
    """Create a migrated PostGIS database for this test session; return its app-role URL.

    Made as in production: the superuser creates it for the owner role with PostGIS, the owner
    migrates it, and the migration grants the app role (``owner_url`` gives the owner's URL).
    """
    from gis.migrate import upgrade

    roles = database_roles(server_url)
    name = f"{TEST_DB_PREFIX}{os.getpid()}_{suffix}"
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" OWNER "{roles.owner}"')
    url = _with_database(server_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    upgrade(owner_url(url), app_role=roles.app)
    return app_url(url)


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
    with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
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


@pytest.fixture
def owner_pg_conn(empty_database_url: str) -> Iterator[psycopg.Connection]:
    """``pg_conn`` as the owner, for bulk loads (``gridgov demo`` loads as the owner too)."""
    with psycopg.connect(owner_url(empty_database_url)) as conn:
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


class LiveServer(AppServer):
    """The app on a loopback port against a given database (test settings)."""

    def __init__(self, database_url: str, extra_env: dict[str, str] | None = None) -> None:
        super().__init__(
            {
                "GRIDGOV_DATABASE_URL": database_url,
                "GRIDGOV_ENVIRONMENT": "test",
                # The served app escalates and announces deadlines by itself, as in production.
                "GRIDGOV_ESCALATION_RUNNER": "true",
                **(extra_env or {}),
            }
        )


@pytest.fixture(scope="session")
def live_server(demo_database_url: str) -> Iterator[LiveServer]:
    """The app served over real HTTP on the committed demo database (for GDAL, browser, SSE)."""
    server = LiveServer(demo_database_url)
    yield server
    server.stop()
