"""What the Open311 interface needs beyond intake and listing: the update history, a
reporter's comments and the tokens handed to clients.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound
from gis.incidents.events import append_event, event_payload


def updates_between(
    session: Session,
    start: datetime,
    end: datetime,
    codes: list[str] | None = None,
    limit: int = 1000,
) -> list[Any]:
    """History rows of [start, end) for Open311 updates: public fields only (status, time, the
    public note and public attachments; never the internal note)."""
    return list(
        session.execute(
            text(
                """
                SELECT t.id, t.at, t.from_status, t.to_status, t.public_note,
                       t.public_attachments,
                       i.code, i.resolution, i.media_url
                FROM incident_transition t JOIN incident i ON i.id = t.incident_id
                WHERE t.at >= :start AND t.at < :end
                  AND (CAST(:codes AS text[]) IS NULL OR i.code = ANY(CAST(:codes AS text[])))
                ORDER BY t.at, t.id
                LIMIT :lim
                """
            ),
            {"start": start, "end": end, "codes": codes, "lim": limit},
        ).all()
    )


def add_comment(
    session: Session,
    code: str,
    actor: str,
    description: str,
    media_url: str | None,
    now: datetime | None = None,
) -> int:
    """A reporter's follow-up on a case (Open311 POST servicerequestupdates): a history row
    that keeps the status, plus a stream event. Returns the update id."""
    now = now or datetime.now(UTC)
    row = session.execute(
        text("SELECT id, status FROM incident WHERE code = :c FOR UPDATE"), {"c": code}
    ).one_or_none()
    if row is None:
        raise NotFound(f"no service request {code}")
    if not 1 <= len(description.strip()) <= 2000:
        raise InvalidInput("description needs 1 to 2000 characters", parameter="description")
    attachments = [media_url] if media_url else []
    update_id = session.execute(
        # The GeoReport spec publishes updates: a client's comment is a public note.
        text(
            "INSERT INTO incident_transition (incident_id, at, actor, from_status, to_status, "
            "public_note, public_attachments) VALUES (:i, :at, :actor, :s, :s, :note,"
            " CAST(:att AS jsonb)) RETURNING id"
        ),
        {
            "i": row.id,
            "at": now,
            "actor": actor,
            "s": row.status,
            "note": description.strip(),
            "att": json.dumps(attachments),
        },
    ).scalar_one()
    session.execute(
        text("UPDATE incident SET updated_at = :now WHERE id = :i"), {"now": now, "i": row.id}
    )
    append_event(session, row.id, "updated", row.status, event_payload(session, row.id), now)
    return int(update_id)


def incident_by_token(session: Session, token: str) -> str | None:
    """The case code of an Open311 token, or None."""
    try:
        value = uuid.UUID(token)
    except ValueError:
        return None
    return session.execute(
        text("SELECT code FROM incident WHERE token = :t"), {"t": value}
    ).scalar_one_or_none()


def incident_token(session: Session, incident_id: int) -> str:
    """The Open311 token of a case (handed to the client that created it)."""
    return str(
        session.execute(
            text("SELECT token FROM incident WHERE id = :i"), {"i": incident_id}
        ).scalar_one()
    )


def latest_public_notes(session: Session, incident_ids: Sequence[int]) -> dict[int, str]:
    """The newest public note of each case (Open311 ``status_notes``); internal notes never."""
    if not incident_ids:
        return {}
    rows = session.execute(
        text(
            "SELECT DISTINCT ON (incident_id) incident_id, public_note FROM incident_transition"
            " WHERE incident_id = ANY(CAST(:ids AS bigint[])) AND public_note IS NOT NULL"
            " ORDER BY incident_id, at DESC, id DESC"
        ),
        {"ids": list(incident_ids)},
    ).all()
    return {int(r.incident_id): str(r.public_note) for r in rows}
