"""The database engine and sessions.

The URL comes from ``GRIDGOV_DATABASE_URL`` or, when that is unset, from the embedded cluster
(``gridgov db start``). Request handlers get a session whose transaction the dependency owns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import lru_cache

from anyio import CancelScope, to_thread
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from gis.pgcluster import ClusterError, EmbeddedCluster
from gis.settings import Settings, get_settings, normalise_database_url


class DatabaseNotConfigured(RuntimeError):
    """Neither GRIDGOV_DATABASE_URL nor a started embedded cluster is available."""


def database_url(settings: Settings | None = None) -> str:
    """The SQLAlchemy URL of gridgov's database."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    cluster = EmbeddedCluster(settings.home)
    if not cluster.initialised:
        raise DatabaseNotConfigured(
            "no database: run `gridgov db start` for the embedded PostGIS, or set "
            "GRIDGOV_DATABASE_URL to an existing PostGIS database"
        )
    try:
        return normalise_database_url(cluster.url())
    except (ClusterError, FileNotFoundError) as exc:
        raise DatabaseNotConfigured(str(exc)) from exc


def make_engine(url: str, pool_size: int = 10, pool_timeout: float = 10.0) -> Engine:
    """A pooled engine that keeps its connections.

    No overflow: an overflow connection is closed when it is given back, so under a burst every
    request would pay a new server process, whose empty catalogue and plan caches make its first
    queries ten times slower, and psycopg's prepared statements would never be reused. A burst
    larger than the pool queues for a connection instead (up to ``pool_timeout`` seconds).
    """
    return create_engine(
        normalise_database_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={"application_name": "gridgov"},
    )


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(database_url(settings), settings.db_pool_size, settings.db_pool_timeout)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


async def get_session() -> AsyncIterator[Session]:
    """One session per request; the request's transaction commits if the handler succeeds.

    Used as a FastAPI dependency by api/ and web/ (tests override exactly this function). It
    runs on the event loop, not in a worker thread: making a session does no I/O (it connects
    when the handler first uses it, in the handler's thread), and only a transaction still open
    at the end costs a thread for its commit or rollback. A sync generator here would cost two
    thread hops per request, which showed as a tenth of an intake's CPU time (bench/).
    """
    session = get_sessionmaker()()
    try:
        yield session
        if session.in_transaction():
            await to_thread.run_sync(session.commit)
    except BaseException:
        if session.in_transaction():
            with CancelScope(shield=True):  # a cancelled request must still give back its lock
                await to_thread.run_sync(session.rollback)
        raise
    finally:
        session.close()  # no transaction is open any more: no I/O


@lru_cache
def get_read_engine() -> Engine:
    """The engine for read-only work: the replica when ``GRIDGOV_REPLICA_URL`` is set.

    Without a replica this is the primary's engine itself (no second pool).
    """
    settings = get_settings()
    if not settings.replica_url:
        return get_engine()
    return make_engine(settings.replica_url, settings.db_pool_size, settings.db_pool_timeout)


@lru_cache
def get_read_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_read_engine(), expire_on_commit=False)


def replica_configured() -> bool:
    return bool(get_settings().replica_url)


@contextmanager
def read_session_scope() -> Iterator[Session]:
    """A session for reads only, on the replica when configured (else the primary).

    A streaming replica lags the primary by its replay delay (usually milliseconds): use it for
    maps, tiles, feature pages and lookups, never to read back what the same request wrote.
    On a replica every write fails (the server is read-only), so callers must not write.
    """
    session = get_read_sessionmaker()()
    try:
        yield session
    finally:
        # Nothing to commit: end the read transaction and give the connection back.
        session.rollback()
        session.close()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def server_versions(session: Session) -> dict[str, str | None]:
    """PostgreSQL and PostGIS versions and the Alembic revision of the schema."""
    row = session.execute(
        text(
            "SELECT current_setting('server_version') AS postgres, "
            "(SELECT extversion FROM pg_extension WHERE extname = 'postgis') AS postgis, "
            "to_regclass('alembic_version') IS NOT NULL AS migrated"
        )
    ).one()
    revision = None
    if row.migrated:
        revision = session.execute(
            text("SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version")
        ).scalar_one()
    return {"postgres": row.postgres, "postgis": row.postgis, "revision": revision}
