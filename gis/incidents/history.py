"""The history of a case (``incident_transition``): who did what, shown per viewer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.timestamps import iso
from gis.masking import mask_name
from gis.media.urls import photos_of
from gis.scope import Viewer

# Who a history row names for an anonymous report (a web form, the app): imported records may
# follow it with the reporter's name ("群众张三").
PUBLIC_ACTOR = "群众"


@dataclass(frozen=True)
class HistoryRow:
    """An ``incident_transition`` row as history_entry reads it (for the one not yet read)."""

    at: datetime
    from_status: str | None
    to_status: str
    actor: str
    note: str | None
    attachments: list[str]
    public_note: str | None
    public_attachments: list[str]
    action: str | None = None


def history_entry(h: Any, full: bool, unmasked: bool) -> dict[str, Any]:
    """One history step as shown to a viewer: the public note and attachments for everyone;
    the actor, the internal note and internal attachments in scope only (a reporter named in
    the actor, as imported records have it, masked unless the case is shown unmasked)."""
    entry: dict[str, Any] = {
        "at": iso(h.at),
        "from": h.from_status,
        "to": h.to_status,
        "public_note": h.public_note,
        "public_attachments": h.public_attachments,
        # The stored photos among the attachments, with their thumbnails (gis/media/urls.py).
        "public_photos": photos_of(h.public_attachments),
        # The workflow step (改派, 延期申请 … keep the status); None on rows older than 0020.
        "action": getattr(h, "action", None),
    }
    if full:
        actor = h.actor
        if not unmasked and actor.startswith(PUBLIC_ACTOR) and len(actor) > len(PUBLIC_ACTOR):
            actor = PUBLIC_ACTOR + (mask_name(actor[len(PUBLIC_ACTOR) :]) or "")
        entry.update(
            actor=actor, note=h.note, attachments=h.attachments, photos=photos_of(h.attachments)
        )
    return entry


def actor_of(viewer: Viewer, source: str | None = None) -> str:
    """Who a history row names: the signed-in user, else where an anonymous report came from."""
    if viewer.username:
        return f"{viewer.role}:{viewer.username}"
    if source is not None:
        return {"open311": "Open311", "hotline": "12345热线"}.get(source, PUBLIC_ACTOR)
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
    public_note: str | None = None,
    public_attachments: Sequence[str] = (),
    action: str | None = None,
) -> int:
    """Append one step; ``note``/``attachments`` are internal, the public ones are published.
    Returns the new row's id."""
    step_id = session.execute(
        text(
            "INSERT INTO incident_transition (incident_id, at, actor, from_status, to_status, "
            "note, attachments, public_note, public_attachments, action) VALUES (:i, :at, :actor,"
            " :frm, :to, :note, CAST(:att AS jsonb), :public_note, CAST(:public_att AS jsonb),"
            " :action) RETURNING id"
        ),
        {
            "i": incident_id,
            "at": at,
            "actor": actor,
            "frm": frm,
            "to": to,
            "note": note,
            "att": json.dumps(list(attachments)),
            "public_note": public_note,
            "public_att": json.dumps(list(public_attachments)),
            "action": action,
        },
    ).scalar_one()
    return int(step_id)
