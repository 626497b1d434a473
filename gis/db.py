"""The database engine and sessions.

The URL comes from ``GRIDGOV_DATABASE_URL`` or, when that is unset, from the embedded cluster
(``gridgov db start``). It connects as the app role, which neither owns the tables nor is a
superuser; migrations connect as the owner (:func:`migration_database_url`). Request handlers
get a session whose transaction the dependency owns: it commits after the handler returned and
before the response is sent (docs/architecture.md, "The API"), so what the server acknowledges
is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import Any

from anyio import CancelScope, CapacityLimiter, WouldBlock, fail_after, to_thread
from anyio.lowlevel import RunVar
from sqlalchemy import Engine, NullPool, create_engine, event, text
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gis.pgcluster import APP_ROLE, OWNER_ROLE, ClusterError, EmbeddedCluster
from gis.settings import Settings, get_settings, normalise_database_url


class DatabaseNotConfigured(RuntimeError):
    """Neither GRIDGOV_DATABASE_URL nor a started embedded cluster is available."""


def database_url(settings: Settings | None = None) -> str:
    """The SQLAlchemy URL the app connects with (the app role)."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    return _cluster_url(settings, APP_ROLE)


def migration_database_url(settings: Settings | None = None) -> str:
    """The SQLAlchemy URL migrations and bulk loads connect with (the owner of the tables).

    ``GRIDGOV_MIGRATION_DATABASE_URL``; else, with ``GRIDGOV_DATABASE_URL`` set, that same URL
    (one role both owns and uses the schema: no least privilege, see docs/operations.md); else
    the embedded cluster's owner role.
    """
    settings = settings or get_settings()
    if settings.migration_database_url:
        return settings.migration_database_url
    if settings.database_url:
        return settings.database_url
    return _cluster_url(settings, OWNER_ROLE)


def _cluster_url(settings: Settings, role: str) -> str:
    cluster = EmbeddedCluster(settings.home, settings.pg_bindir)
    if not cluster.initialised:
        raise DatabaseNotConfigured(
            "no database: run `gridgov db start` for the embedded PostGIS, or set "
            "GRIDGOV_DATABASE_URL to an existing PostGIS database"
        )
    try:
        return normalise_database_url(cluster.url(role=role))
    except (ClusterError, FileNotFoundError) as exc:
        raise DatabaseNotConfigured(str(exc)) from exc


def make_engine(
    url: str,
    pool_size: int = 10,
    pool_timeout: float = 10.0,
    ping_after_idle: float | None = None,
) -> Engine:
    """A pooled engine that keeps its connections.

    No overflow: an overflow connection is closed when it is given back, so under a burst every
    request would pay a new server process, whose empty catalogue and plan caches make its first
    queries ten times slower, and psycopg's prepared statements would never be reused. A burst
    larger than the pool queues for a connection instead (up to ``pool_timeout`` seconds).

    A connection is pinged before it is handed out only when it sat idle in the pool for more
    than ``ping_after_idle`` seconds (``GRIDGOV_DB_PING_AFTER_IDLE_SECONDS``; 0 pings every
    checkout): see :func:`ping_when_idle`.
    """
    if ping_after_idle is None:
        ping_after_idle = get_settings().db_ping_after_idle_seconds
    engine = create_engine(
        normalise_database_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_pre_ping=ping_after_idle <= 0,
        # JIT off for the app's connections: the planner's cost estimates of spatial queries
        # (tiles, item pages, bulk routing) are high enough to trigger compilation that costs
        # 50 ms to a second for queries that run in milliseconds. Set at connect time, so no
        # request pays a SET for it.
        connect_args={"application_name": "gridgov", "options": "-c jit=off"},
    )
    if ping_after_idle > 0:
        ping_when_idle(engine, ping_after_idle)
    return engine


_IDLE_SINCE = "gridgov_idle_since"


def ping_when_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection at checkout only if it was idle for more than ``seconds``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip per request,
    4.5 % of a locate worker's samples (bench/RESULTS.md, issue 19). A connection given back a
    moment ago was alive a moment ago, so it goes out as it is — pgbouncer's
    ``server_check_delay`` makes the same trade. A connection that has sat idle (a server
    restart or failover happens while nobody asks) is pinged, and a dead one is replaced before
    the request sees it (``DisconnectionError`` makes the pool reconnect). A connection the
    server dropped within the window fails the request that uses it (503, as any outage), and
    SQLAlchemy then invalidates every connection of the pool made before the failure.
    """

    @event.listens_for(engine.pool, "checkin")
    def _given_back(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since <= seconds:
            return  # new, or given back within the window
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection lost while idle: {exc}") from exc


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(database_url(settings), settings.db_pool_size, settings.db_pool_timeout)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


class DatabaseBusy(RuntimeError):
    """Every connection of the pool stayed in use for ``GRIDGOV_DB_POOL_TIMEOUT`` seconds."""


class NotStored(RuntimeError):
    """The request's transaction failed to commit: nothing the request wrote was stored."""


log = logging.getLogger("gridgov.db")


async def get_session() -> AsyncIterator[Session]:
    """One session per request; the request's transaction commits if the handler succeeds.

    Used as a FastAPI dependency by api/ and web/ (tests override exactly this function), always
    with ``scope="function"`` (``api.deps.SessionDep``, ``web.mapkit.SessionDep``): FastAPI then
    runs the commit after the handler returned and *before* the response is sent, so a failed
    commit becomes a 503 instead of a 2xx for data that does not exist. With the default
    ("request") scope the commit would run after the response has left. See
    :func:`session_for_request` for how it waits for a connection and ends.
    """
    async with session_for_request(get_sessionmaker()) as session:
        yield session


@asynccontextmanager
async def session_for_request(maker: sessionmaker[Session]) -> AsyncIterator[Session]:
    """A request's session: committed if the block succeeds, rolled back if it raises.

    It runs on the event loop, not in a worker thread: making a session does no I/O (it connects
    when the handler first uses it, in the handler's thread), and only a transaction still open
    at the end costs a thread (:func:`end_session`). A sync generator would cost two thread hops
    per request, a tenth of an intake's CPU time (bench/).

    Before the session is handed out, the request waits on the event loop for one of the pool's
    slots (as many as it has connections). So a handler never waits for a connection in a
    worker thread: otherwise a burst could fill every thread with handlers waiting for a
    connection while the requests holding the connections wait for a thread to finish their
    response or transaction — nothing would move until the pool timed out. Waiting longer than
    ``GRIDGOV_DB_POOL_TIMEOUT`` raises :class:`DatabaseBusy` (503). A commit that fails raises
    :class:`NotStored` (503): the transaction is gone, nothing of it is visible.
    """
    session = maker()
    slots = _slots_of(session.get_bind())
    try:
        # A free slot (nobody queued before us) is taken at once. Only a request that has to
        # queue arms the timeout: a cancel scope with a deadline schedules a timer on the event
        # loop, and that was a fifth of a small items page's Python time (bench/RESULTS.md).
        slots.acquire_on_behalf_of_nowait(session)
    except WouldBlock:
        try:
            with fail_after(get_settings().db_pool_timeout):
                await slots.acquire_on_behalf_of(session)
        except TimeoutError:
            raise DatabaseBusy(
                "every database connection is busy; retry in a few seconds"
            ) from None
    session.info[_SLOT_KEY] = slots
    try:
        yield session
    except BaseException:
        try:
            await end_session(session, commit=False)
        except SQLAlchemyError:
            # The connection is gone (the server restarted, say): the transaction died with it.
            # The handler's own error is the one to answer with.
            log.warning("rolling back a failed request's transaction failed", exc_info=True)
        raise
    try:
        await end_session(session, commit=True)
    except SQLAlchemyError as exc:
        raise NotStored(
            "the change could not be stored (the database refused or lost the commit); "
            "nothing was saved — retry in a few seconds"
        ) from exc


_SLOT_KEY = "gridgov_request_slot"
# Per event loop (a worker has one; each test client has its own), per engine.
_SLOTS: RunVar[dict[int, CapacityLimiter]] = RunVar("gridgov_db_slots")


def _slots_of(bind: Any) -> CapacityLimiter:
    try:
        by_engine = _SLOTS.get()
    except LookupError:
        by_engine = {}
        _SLOTS.set(by_engine)
    engine = bind if isinstance(bind, Engine) else bind.engine
    slots = by_engine.get(id(engine))
    if slots is None:
        size = getattr(engine.pool, "size", lambda: get_settings().db_pool_size)()
        slots = by_engine[id(engine)] = CapacityLimiter(max(1, int(size)))
    return slots


async def end_session(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) the session's open transaction, close it, give back its slot.

    Idempotent: a streaming handler calls it early so that its session holds neither a
    connection nor a slot while the response streams; the dependency's own call is then a no-op.
    """
    try:
        if session.in_transaction():
            end = session.commit if commit else session.rollback
            with CancelScope(shield=True):  # a cancelled request must still give back its lock
                await to_thread.run_sync(end)
    finally:
        session.close()  # no I/O once no transaction is open
        slots = session.info.pop(_SLOT_KEY, None)
        if slots is not None:
            slots.release_on_behalf_of(session)


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
def session_scope(maker: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    session = (maker or get_sessionmaker())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_of(session: Session) -> str:
    """Which database a session talks to (its engine's URL): the key of per-process memos that
    must not mix databases (a worker has one; the test suite several)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return str(engine.url)


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


@contextmanager
def owner_session_scope() -> Iterator[Session]:
    """:func:`session_scope` as the owner of the tables, for bulk loads (``gridgov import``).

    A bulk load ends with a full statistics refresh that ``ANALYZE``s the fresh tables, which
    only their owner may do; without it the refresh is planned blind and takes minutes.
    """
    engine = create_engine(normalise_database_url(migration_database_url()), poolclass=NullPool)
    try:
        with session_scope(sessionmaker(bind=engine, expire_on_commit=False)) as session:
            yield session
    finally:
        engine.dispose()
