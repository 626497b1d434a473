"""The pool pings a connection only after it sat idle, and replaces one the server dropped."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from gis.db import make_engine


class Pings:
    """Counts the dialect's liveness pings of one engine."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        ping = engine.dialect.do_ping

        def counted(dbapi_connection: object) -> bool:
            self.count += 1
            return ping(dbapi_connection)

        engine.dialect.do_ping = counted  # type: ignore[method-assign]


def _pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    time.sleep(0.2)  # the backend is gone once its process has exited


@pytest.fixture
def engines(empty_database_url: str) -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def test_a_connection_given_back_a_moment_ago_goes_out_without_a_ping(
    empty_database_url: str, engines: list[Engine]
) -> None:
    engine = make_engine(empty_database_url, pool_size=1, ping_after_idle=60)
    engines.append(engine)
    pings = Pings(engine)
    pids = {_pid(engine) for _ in range(5)}
    assert len(pids) == 1  # the same pooled connection every time
    assert pings.count == 0


def test_an_idle_connection_is_pinged_and_a_dropped_one_replaced_unseen(
    empty_database_url: str, engines: list[Engine]
) -> None:
    engine = make_engine(empty_database_url, pool_size=1, ping_after_idle=0.1)
    engines.append(engine)
    pings = Pings(engine)
    first = _pid(engine)
    assert _pid(engine) == first and pings.count == 0  # reused at once: no ping
    _terminate(empty_database_url, first)  # as a server restart does, while the pool is idle
    # Idle longer than the window: pinged at checkout, found dead, replaced before use.
    second = _pid(engine)
    assert second != first
    assert pings.count == 1


def test_a_connection_dropped_within_the_window_fails_one_request_then_the_pool_recovers(
    empty_database_url: str, engines: list[Engine]
) -> None:
    """The trade for skipping the ping: the server dropped it within a second of its last use,
    so the request using it fails (the API answers 503) and the pool is renewed."""
    engine = make_engine(empty_database_url, pool_size=1, ping_after_idle=60)
    engines.append(engine)
    first = _pid(engine)
    _terminate(empty_database_url, first)
    with pytest.raises(DBAPIError) as failed:
        _pid(engine)
    assert failed.value.connection_invalidated
    assert _pid(engine) != first


def test_zero_pings_on_every_checkout(empty_database_url: str, engines: list[Engine]) -> None:
    engine = make_engine(empty_database_url, pool_size=1, ping_after_idle=0)
    engines.append(engine)
    pings = Pings(engine)
    for _ in range(3):
        _pid(engine)
    assert pings.count >= 2  # the first checkout is a new connection: nothing to ping
