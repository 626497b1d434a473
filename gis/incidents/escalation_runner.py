"""The in-service runner: escalation, overdue marking and due-soon announcements on a timer.

Every worker process of ``gridgov serve`` starts one (api/app.py's lifespan), and each tick
takes a PostgreSQL advisory lock first, so however many workers (or hosts) run, one sweep acts
at a time and the others skip that tick. The lock is transaction-scoped
(``pg_try_advisory_xact_lock`` in the runner's own session): it is released by the commit or
rollback that ends the sweep, so a crashed worker or a connection returned to the pool can never
keep it. The sweep itself is idempotent (see :mod:`gis.incidents.escalation`), so a skipped or
repeated tick changes nothing; ``gridgov incidents escalate`` and ``POST
/api/v1/incidents/escalations`` run the same :func:`sweep` for cron users.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from gis.incidents.escalation import announce_due_soon, escalate_overdue
from gis.petitions import cases as petition_cases

log = logging.getLogger("gridgov.escalation")

# The advisory lock key of the sweep: "gridesc" in ASCII, a number no other lock here uses.
LOCK_KEY = 0x67726964657363


@dataclass(frozen=True)
class SweepResult:
    at: datetime
    escalated: list[dict[str, Any]] = field(default_factory=list)
    due_soon: list[dict[str, Any]] = field(default_factory=list)
    # Petitions (诉求) past their answer deadline, raised one level (gis/petitions/cases.py).
    petitions: list[dict[str, Any]] = field(default_factory=list)


def sweep(session: Session, now: datetime | None = None) -> SweepResult | None:
    """Escalate overdue cases and announce approaching deadlines, under the advisory lock.

    Returns None (and does nothing) when another sweep holds the lock. The lock lasts until the
    caller's transaction ends, so the caller commits (or rolls back) promptly.
    """
    now = now or datetime.now(UTC)
    if not session.execute(
        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}
    ).scalar_one():
        return None
    return SweepResult(
        at=now,
        escalated=escalate_overdue(session, now),
        due_soon=announce_due_soon(session, now),
        petitions=petition_cases.escalate_overdue(session, now),
    )


class EscalationRunner:
    """Runs :func:`sweep` every ``interval`` seconds in a thread, until :meth:`stop`.

    ``sessions`` makes the runner's own sessions (called per tick, so a database configured
    after start-up is picked up); ``clock`` says what "now" is (tests pass their own).
    """

    def __init__(
        self,
        sessions: Callable[[], sessionmaker[Session]],
        interval: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.clock = clock
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def run_once(self) -> SweepResult | None:
        """One tick: a sweep in its own transaction, committed. None: another runner had it."""
        with self.sessions()() as session:
            result = sweep(session, self.clock())
            session.commit()
        if result and (result.escalated or result.due_soon):
            log.info(
                "escalated %d case(s), %d deadline(s) approaching",
                len(result.escalated),
                len(result.due_soon),
            )
        return result

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval)
            except TimeoutError:
                try:
                    await asyncio.to_thread(self.run_once)
                except Exception:  # the database may be down: try again next tick
                    log.warning(
                        "escalation sweep failed; retrying in %ss", self.interval, exc_info=True
                    )

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop after the sweep in progress (if any) has committed."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
