"""Fixtures for tests/gis.

Sections are owned by the tests that use them; add your own section rather than editing another.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.orm import Session

from gis.settings import normalise_database_url
from tests.conftest import create_test_database, drop_test_database, owner_url

# --- import/export (tests/gis/test_io_*.py) ---------------------------------------------------
# A scratch database of its own: the round trips write every layer back, and a small city keeps
# 20+ round trips fast, while the shared demo database stays untouched for the API tests.
IO_CITY_HOUSEHOLDS = 4000


@pytest.fixture(scope="session")
def io_database_url(server_url: str) -> Iterator[str]:
    """A migrated database with a small demo city, committed (session-wide)."""
    from data.demo import load_demo

    url = create_test_database(server_url, "io")
    with psycopg.connect(owner_url(url)) as conn:
        load_demo(conn, households=IO_CITY_HOUSEHOLDS)
        conn.commit()
    yield url
    drop_test_database(server_url, url)


@pytest.fixture(scope="session")
def io_engine(io_database_url: str) -> Iterator[Engine]:
    engine = create_engine(normalise_database_url(io_database_url), poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def io_session(io_engine: Engine) -> Iterator[Session]:
    """A session on the io database whose every write (including 'commits') is rolled back."""
    connection = io_engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()
