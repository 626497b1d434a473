"""Starting a patrol takes no lock that unrelated transactions hold (the revert of field work).

A transaction that inserted a row referencing an account (a notification for him, a case
event, a sign-in session) holds FOR KEY SHARE on his ``app_user`` row until it ends. Starting a
patrol once took FOR UPDATE on that row to serialise two starts, so it waited on every such
transaction — in tests/api/test_commit_before_response.py for ever, behind the set-up's own
session. The one-open-patrol rule is the partial unique index; these tests run on two real
connections of the committed demo database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.errors import Conflict
from gis.fieldwork import patrols
from gis.scope import Viewer
from tests.api.security_helpers import add_account

USERNAME = "lock_probe_worker"


@pytest.fixture
def worker(demo_engine: Engine) -> Iterator[tuple[Viewer, str]]:
    """A grid worker committed to the demo database (removed afterwards with his patrols)."""
    with Session(demo_engine) as session:
        grid = session.execute(
            text("SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL LIMIT 1")
        ).scalar_one()
        viewer = add_account(session, USERNAME, "grid_worker", grid)
        session.commit()
    try:
        yield viewer, grid
    finally:
        with Session(demo_engine) as session:
            session.execute(text("DELETE FROM patrol WHERE user_id = :u"), {"u": viewer.user_id})
            session.execute(text("DELETE FROM app_user WHERE id = :u"), {"u": viewer.user_id})
            session.commit()


def _impatient(engine: Engine) -> Session:
    session = Session(engine)
    # Waiting at all is the bug: fail fast instead of hanging.
    session.execute(text("SET LOCAL lock_timeout = '2s'"))
    return session


def test_a_start_does_not_wait_on_a_transaction_referencing_the_account(
    demo_engine: Engine, worker: tuple[Viewer, str]
) -> None:
    viewer, grid = worker
    with Session(demo_engine) as other:
        # What the foreign-key check of an uncommitted notification for him takes.
        other.execute(
            text("SELECT 1 FROM app_user WHERE id = :u FOR KEY SHARE"), {"u": viewer.user_id}
        )
        started = _impatient(demo_engine)
        try:
            patrol: dict[str, Any] = patrols.start_patrol(started, viewer, grid_code=grid)[0]
            started.commit()
        finally:
            started.close()
        other.rollback()
    assert patrol["worker"] == USERNAME and patrol["ended_at"] is None


def test_a_second_start_while_the_first_is_uncommitted_waits_for_it_then_conflicts(
    demo_engine: Engine, worker: tuple[Viewer, str]
) -> None:
    viewer, grid = worker
    first = Session(demo_engine)
    patrols.start_patrol(first, viewer, grid_code=grid)
    second = _impatient(demo_engine)
    try:
        # The first holds the unique index entry: the second waits (here: times out) rather
        # than opening a second patrol.
        with pytest.raises(Exception, match="lock timeout"):
            patrols.start_patrol(second, viewer, grid_code=grid)
        second.rollback()
        first.commit()
        with pytest.raises(Conflict):
            patrols.start_patrol(second, viewer, grid_code=grid)
    finally:
        second.close()
        first.close()
    with Session(demo_engine) as session:
        opened = session.execute(
            text("SELECT count(*) FROM patrol WHERE user_id = :u AND ended_at IS NULL"),
            {"u": viewer.user_id},
        ).scalar_one()
    assert opened == 1
