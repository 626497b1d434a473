"""The in-app notification centre: an account's own notifications, unread counts, read marks.

Every function takes the signed-in account's id: nobody reads or marks another account's
notifications (an id that is not the caller's is answered as not found, so ids reveal nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import NotFound
from gis.incidents.timestamps import iso
from gis.notifications.messages import render

_LIST = text(
    """
    SELECT n.id, n.incident_id, n.event_id, n.trigger, n.data, n.created_at, n.read_at
    FROM notification n
    WHERE n.recipient_id = :r AND (CAST(:before AS bigint) IS NULL OR n.id < :before)
      AND (NOT CAST(:unread AS boolean) OR n.read_at IS NULL)
    ORDER BY n.id DESC LIMIT :lim
    """
)
_UNREAD = text("SELECT count(*) FROM notification WHERE recipient_id = :r AND read_at IS NULL")
_FOR_EVENTS = text(
    """
    SELECT n.id, n.recipient_id, n.incident_id, n.event_id, n.trigger, n.data, n.created_at,
           n.read_at
    FROM notification n WHERE n.event_id = ANY(CAST(:events AS bigint[])) ORDER BY n.id
    """
)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    unread: int
    next_before: int | None


def entry(row: Any, lang: str) -> dict[str, Any]:
    """One notification as the API and the stream show it (title and lines rendered)."""
    message = render(row.trigger, row.data, lang)
    return {
        "id": row.id,
        "incident_id": row.incident_id,
        "trigger": row.trigger,
        "title": message.title,
        "lines": list(message.lines),
        "data": row.data,
        "created_at": iso(row.created_at),
        "read": row.read_at is not None,
        "read_at": iso(row.read_at),
    }


def unread_count(session: Session, account_id: int) -> int:
    return int(session.execute(_UNREAD, {"r": account_id}).scalar_one())


def list_mine(
    session: Session,
    account_id: int,
    *,
    lang: str,
    limit: int = 20,
    before: int | None = None,
    unread_only: bool = False,
) -> Page:
    """The account's notifications, newest first, a page at a time (``before`` an id)."""
    rows = session.execute(
        _LIST, {"r": account_id, "before": before, "unread": unread_only, "lim": limit + 1}
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        [entry(r, lang) for r in rows],
        unread_count(session, account_id),
        rows[-1].id if more else None,
    )


def mark_read(
    session: Session, account_id: int, notification_id: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Mark one of the account's notifications read (again: no change); returns it."""
    row = session.execute(
        text(
            "UPDATE notification SET read_at = coalesce(read_at, :now) "
            "WHERE id = :id AND recipient_id = :r "
            "RETURNING id, incident_id, event_id, trigger, data, created_at, read_at"
        ),
        {"id": notification_id, "r": account_id, "now": now or datetime.now(UTC)},
    ).one_or_none()
    if row is None:
        raise NotFound(f"you have no notification {notification_id}")
    return {"id": row.id, "read_at": iso(row.read_at)}


def mark_all_read(session: Session, account_id: int, *, now: datetime | None = None) -> int:
    """Mark every unread notification of the account read; returns how many were unread."""
    result = session.execute(
        text("UPDATE notification SET read_at = :now WHERE recipient_id = :r AND read_at IS NULL"),
        {"r": account_id, "now": now or datetime.now(UTC)},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def for_events(session: Session, event_ids: list[int]) -> list[Any]:
    """Every notification caused by these events (the live stream sorts them by recipient)."""
    if not event_ids:
        return []
    return list(session.execute(_FOR_EVENTS, {"events": event_ids}).all())
