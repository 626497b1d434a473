"""The history of a case (``incident_transition``): who did what, shown per viewer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.timestamps import iso
from gis.scope import Viewer


def history_entry(
    at: datetime,
    frm: str | None,
    to: str,
    actor: str,
    note: str | None,
    attachments: Any,
    full: bool,
) -> dict[str, Any]:
    """One history step as shown to a viewer (actor, note and attachments in scope only)."""
    entry: dict[str, Any] = {"at": iso(at), "from": frm, "to": to}
    if full:
        entry.update(actor=actor, note=note, attachments=attachments)
    return entry


def actor_of(viewer: Viewer, source: str | None = None) -> str:
    """Who a history row names: the signed-in user, else where an anonymous report came from."""
    if viewer.username:
        return f"{viewer.role}:{viewer.username}"
    if source is not None:
        return {"open311": "Open311", "hotline": "12345热线"}.get(source, "群众")
    return viewer.role


def record_history(
    session: Session,
    incident_id: int,
    at: datetime,
    actor: str,
    frm: str | None,
    to: str,
    note: str | None,
    attachments: Sequence[str],
) -> None:
    session.execute(
        text(
            "INSERT INTO incident_transition (incident_id, at, actor, from_status, to_status, "
            "note, attachments) VALUES (:i, :at, :actor, :frm, :to, :note, CAST(:att AS jsonb))"
        ),
        {
            "i": incident_id,
            "at": at,
            "actor": actor,
            "frm": frm,
            "to": to,
            "note": note,
            "att": json.dumps(list(attachments)),
        },
    )
