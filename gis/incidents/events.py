"""The change log of the live stream: append an event, replay events after a position."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.incidents.timestamps import iso
from gis.notifications.derive import on_event as notify_of_event


def append_event(
    session: Session,
    incident_id: int,
    kind: str,
    status: str,
    payload: dict[str, Any],
    at: datetime,
) -> int:
    """Append one change to ``incident_event``.

    No lock: the row records its transaction (column ``xid``, filled by its default), and
    :func:`events_after` delivers events in (xid, id) order only once every transaction that
    could still sort before them has finished (see migration 0007).

    The people the change concerns are told in the same transaction (gis/notifications): a
    notification exists exactly when the step committed, whoever wrote the event.
    """
    event_id = int(
        session.execute(
            text(
                "INSERT INTO incident_event (incident_id, kind, status, payload, at) "
                "VALUES (:i, :k, :s, CAST(:p AS jsonb), :at) RETURNING id"
            ),
            {"i": incident_id, "k": kind, "s": status, "p": json.dumps(payload), "at": at},
        ).scalar_one()
    )
    notify_of_event(session, event_id, incident_id, kind, status, at)
    return event_id


# A position in the stream: (writing transaction, event id). Events are delivered in this order.
Position = tuple[int, int]

# Transactions below this xid have all finished; any that may still commit an event are at or
# above it (xid8 as bigint, as stored by migration 0007).
_HORIZON = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


# Both parts are stored as bigint: a larger number cannot name an event.
BIGINT_MAX = 2**63 - 1


def format_position(position: Position) -> str:
    """The SSE id of a position: ``<xid>-<event id>``."""
    return f"{position[0]}-{position[1]}"


def parse_position(value: str, parameter: str = "Last-Event-ID") -> Position:
    """Read an SSE id back: ``<xid>-<event id>``, or a bare event id from before migration 0007
    (those events all carry xid 0 and were numbered in commit order)."""
    xid, sep, event_id = value.strip().rpartition("-")
    if not sep:
        xid = "0"
    if not (
        xid.isdigit()
        and event_id.isdigit()
        and int(xid) <= BIGINT_MAX
        and int(event_id) <= BIGINT_MAX
    ):
        raise InvalidInput(
            f"{parameter} must be an event id as sent by the stream (e.g. 7301-52)",
            parameter=parameter,
        )
    return int(xid), int(event_id)


def event_payload(session: Session, incident_id: int) -> dict[str, Any]:
    """The public summary of a case that a stream subscriber (the map) receives."""
    row = session.execute(
        text(
            """
            SELECT i.id, i.code, i.kind, i.category, i.status, i.escalation_level,
                   ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, g.code AS grid_code,
                   i.due_at, i.updated_at
            FROM incident i LEFT JOIN area g ON g.id = i.grid_id WHERE i.id = :id
            """
        ),
        {"id": incident_id},
    ).one()
    return {
        "id": row.id,
        "code": row.code,
        "kind": row.kind,
        "category": row.category,
        "status": row.status,
        "escalation_level": row.escalation_level,
        "lon": row.lon,
        "lat": row.lat,
        "grid_code": row.grid_code,
        "due_at": iso(row.due_at),
        "updated_at": iso(row.updated_at),
    }


def events_after(session: Session, after: Position, limit: int = 100) -> list[dict[str, Any]]:
    """Events after ``after`` in stream order (public fields only), finished transactions only.

    An event is delivered once its transaction is older than every transaction still running:
    it has committed (or aborted, and then it is not there), and any event committed later
    belongs to a transaction at or above the horizon, so it sorts after this one. A client
    resuming from the last position it saw therefore never misses or repeats an event.
    """
    rows = session.execute(
        text(
            "SELECT id, xid, incident_id, at, kind, status, payload FROM incident_event "
            f"WHERE (xid, id) > (:xid, :id) AND xid < {_HORIZON} "
            "ORDER BY xid, id LIMIT :lim"
        ),
        {"xid": after[0], "id": after[1], "lim": limit},
    ).all()
    return [
        {
            "event_id": r.id,
            "position": format_position((r.xid, r.id)),
            "incident_id": r.incident_id,
            "at": iso(r.at),
            **{k: v for k, v in r.payload.items() if k not in {"id"}},
            # What happened (created, transition, escalated, linked, updated); the payload's
            # own "kind" is the case kind (event or component).
            "change": r.kind,
            "status": r.status,
        }
        for r in rows
    ]


def last_position(session: Session) -> Position:
    """The position of the newest deliverable event: a stream started now resumes after it."""
    row = session.execute(
        text(
            f"SELECT xid, id FROM incident_event WHERE xid < {_HORIZON} "
            "ORDER BY xid DESC, id DESC LIMIT 1"
        )
    ).one_or_none()
    return (0, 0) if row is None else (int(row.xid), int(row.id))
