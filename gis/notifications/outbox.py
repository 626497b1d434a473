"""Sending the outbox after commit: one sender at a time, retries with backoff, every attempt
recorded.

Deliveries are rows written by :mod:`gis.notifications.derive` in the step's own transaction;
nothing is sent inside it, so a slow or dead receiver never delays or fails a step. The sender
(:func:`send_due`) runs in the service (:func:`run_sender`, every ``GRIDGOV_NOTIFY_SEND_INTERVAL``
seconds in each worker) and from ``gridgov notifications send`` (cron). Whichever gets the
PostgreSQL advisory lock :data:`SENDER_LOCK` sends; the others find it taken and return at once.
Each delivery is then locked (``FOR UPDATE SKIP LOCKED``), sent, and its attempt recorded and
committed before the next one. A failed attempt is retried after
``GRIDGOV_NOTIFY_RETRY_BASE_SECONDS`` × 2ⁿ (capped at :data:`MAX_RETRY_DELAY`) until
``GRIDGOV_NOTIFY_MAX_ATTEMPTS``, then the delivery is ``failed``.

Delivery is at least once: if the process dies between a receiver's answer and the commit, the
delivery is sent again — with the same idempotency key (its id), so the receiver can drop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.notifications.channels import Delivery, SendResult, build_channel
from gis.notifications.messages import Message
from gis.settings import Settings, get_settings

log = logging.getLogger("gridgov.notifications")

SENDER_LOCK = "gridgov.notifications.sender"
MAX_RETRY_DELAY = timedelta(hours=6)
BATCH = 100

_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))")
_DUE = text(
    "SELECT id FROM notification_delivery WHERE status = 'pending' AND next_attempt_at <= :now "
    "ORDER BY next_attempt_at, id LIMIT :lim"
)
_CLAIM = text(
    "SELECT id, channel, trigger, message, attempts FROM notification_delivery "
    "WHERE id = :id AND status = 'pending' FOR UPDATE SKIP LOCKED"
)
_RECORD = text(
    "INSERT INTO notification_attempt (delivery_id, at, ok, response_code, error, duration_ms) "
    "VALUES (:id, :at, :ok, :code, :error, :ms)"
)
_UPDATE = text(
    "UPDATE notification_delivery SET status = :status, attempts = :attempts, "
    "next_attempt_at = :next, sent_at = :sent, last_error = :error WHERE id = :id"
)


@dataclass
class SendReport:
    """What one pass did; ``locked`` is False when another sender held the lock."""

    locked: bool
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, capped.

    >>> [retry_delay(n, 30).total_seconds() for n in (1, 2, 3)]
    [30.0, 60.0, 120.0]
    >>> retry_delay(40, 30) == MAX_RETRY_DELAY
    True
    """
    return min(timedelta(seconds=base_seconds * 2 ** min(attempts - 1, 30)), MAX_RETRY_DELAY)


def _delivery(row: Any) -> Delivery:
    m = row.message
    data = {k: v for k, v in m.items() if k not in {"title", "lines"}}
    return Delivery(str(row.id), row.trigger, Message(m["title"], tuple(m["lines"])), data)


def _send(settings: Settings, row: Any) -> SendResult:
    config = next((c for c in settings.notify_channels if c.name == row.channel), None)
    if config is None:
        return SendResult(False, None, f"channel {row.channel} is not configured")
    try:
        return build_channel(config, settings).send(_delivery(row))
    except Exception as exc:  # a channel's bug must not stop the other deliveries
        log.exception("notification channel %s failed", row.channel)
        return SendResult(False, None, f"{exc.__class__.__name__}: {exc}"[:500])


def _send_one(session: Session, settings: Settings, delivery_id: Any, now: datetime) -> str | None:
    row = session.execute(_CLAIM, {"id": delivery_id}).one_or_none()
    if row is None:
        return None  # sent meanwhile, or another sender has it
    started = time.monotonic()
    result = _send(settings, row)
    ms = int((time.monotonic() - started) * 1000)
    attempts = row.attempts + 1
    session.execute(
        _RECORD,
        {
            "id": row.id,
            "at": now,
            "ok": result.ok,
            "code": result.response_code,
            "error": result.error,
            "ms": ms,
        },
    )
    if result.ok:
        status, next_at, sent = "sent", now, now
    elif attempts >= settings.notify_max_attempts:
        status, next_at, sent = "failed", now, None
    else:
        status, sent = "pending", None
        next_at = now + retry_delay(attempts, settings.notify_retry_base_seconds)
    session.execute(
        _UPDATE,
        {
            "id": row.id,
            "status": status,
            "attempts": attempts,
            "next": next_at,
            "sent": sent,
            "error": result.error,
        },
    )
    return status


def send_due(
    engine: Engine,
    settings: Settings | None = None,
    *,
    now: datetime | None = None,
    limit: int = BATCH,
) -> SendReport:
    """Send the deliveries that are due, if no other sender is at work (advisory lock).

    ``now`` is the sender's clock (tests move it to make retries due).
    """
    settings = settings or get_settings()
    with engine.connect() as conn:
        locked = bool(conn.execute(_TRY_LOCK, {"k": SENDER_LOCK}).scalar_one())
        conn.commit()
        if not locked:
            return SendReport(locked=False)
        report = SendReport(locked=True)
        try:
            with Session(bind=conn) as session:
                at = now or datetime.now(UTC)
                due = list(session.execute(_DUE, {"now": at, "lim": limit}).scalars())
                session.commit()
                for delivery_id in due:
                    status = _send_one(session, settings, delivery_id, now or datetime.now(UTC))
                    session.commit()
                    if status == "sent":
                        report.sent += 1
                    elif status == "pending":
                        report.retrying += 1
                    elif status == "failed":
                        report.failed += 1
        finally:
            conn.rollback()
            conn.execute(_UNLOCK, {"k": SENDER_LOCK})
            conn.commit()
        return report


async def run_sender(engine: Engine, settings: Settings) -> None:
    """The in-service sender: a pass every ``notify_send_interval`` seconds, until cancelled.

    A pass that fails (the database is down) is logged and the next one tries again.
    """
    while True:
        try:
            report = await to_thread.run_sync(send_due, engine, settings)
            if report.sent or report.failed:
                log.info(
                    "notifications: %d sent, %d retrying, %d failed",
                    report.sent,
                    report.retrying,
                    report.failed,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("notification sender: %s: %s", exc.__class__.__name__, exc)
        await asyncio.sleep(settings.notify_send_interval)


def start_sender(settings: Settings) -> asyncio.Task[None] | None:
    """Start this worker's sender (app start-up), unless no channel is configured or the
    interval is 0 (then only ``gridgov notifications send`` sends)."""
    if not settings.notify_channels or settings.notify_send_interval <= 0:
        return None
    from gis.db import get_engine

    return asyncio.get_running_loop().create_task(run_sender(get_engine(), settings))


async def stop_sender(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
