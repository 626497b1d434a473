"""The ``media`` table: storing an upload, deciding who may see a photo, attaching photos to
cases.

Who may see a stored photo (docs/media.md):

- not attached yet: only the account that uploaded it;
- attached to a case as a public attachment (a report photo, a step's ``public_media``): anyone,
  as Open311 publishes it with the case;
- attached internally (a step's ``media``, e.g. 处置反馈 photos): whoever has the case in scope
  (``Viewer.covers`` of its grid, community, street or district), as its internal notes.

Anyone else is told the photo does not exist (404), so ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, NotFound
from gis.fieldwork import access as fieldwork_access
from gis.incidents.history import actor_of
from gis.incidents.presentation import scope_code
from gis.media.images import CleanImage, clean_image
from gis.media.store import MediaStore, get_store
from gis.media.urls import media_url, thumbnail_url
from gis.scope import Viewer
from gis.settings import get_settings

# The most photos one report or one step may carry (the API's schemas say the same).
MAX_PER_STEP = 9

# psycopg's own parameter style, so the API's upload (through the Session's connection) and the
# bulk loaders (a psycopg connection) write the row with this one statement.
_INSERT = """
    INSERT INTO media (sha256, content_type, bytes, width, height, thumbnail_sha256,
                       thumbnail_bytes, geom, uploaded_by, uploader, created_at, client_id)
    VALUES (%(sha)s, %(type)s, %(bytes)s, %(width)s, %(height)s, %(thumb_sha)s, %(thumb_bytes)s,
            CASE WHEN CAST(%(lon)s AS float8) IS NULL THEN NULL
                 ELSE ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) END,
            %(user_id)s, %(uploader)s, %(now)s, %(client_id)s)
    ON CONFLICT (uploaded_by, client_id) DO NOTHING
    RETURNING id
    """

# A photo not yet attached to a case may be named by a patrol finding: then whoever may see
# the patrol sees it too (``patrol_finding_media_idx`` answers the containment).
_SERVE = text(
    """
    SELECT m.sha256, m.thumbnail_sha256, m.content_type, m.uploaded_by, m.incident_id,
           m.public, g.code AS grid_code, c.code AS community_code, s.code AS street_code,
           i.district_code, pf.patrol_grid, pf.patrol_user
    FROM media m
    LEFT JOIN incident i ON i.id = m.incident_id
    LEFT JOIN area g ON g.id = i.grid_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area s ON s.id = i.street_id
    LEFT JOIN LATERAL (
        SELECT p.grid_code AS patrol_grid, p.user_id AS patrol_user
        FROM patrol_finding f JOIN patrol p ON p.id = f.patrol_id
        WHERE m.incident_id IS NULL AND f.media @> ARRAY[m.id]
        LIMIT 1
    ) pf ON true
    WHERE m.id = :id
    """
)


@dataclass(frozen=True)
class Served:
    """The bytes of a photo (or its thumbnail) a viewer may see, and how to cache them."""

    data: bytes
    content_type: str
    sha256: str
    public: bool


def _stored(
    viewer: Viewer,
    data: bytes,
    store: MediaStore | None,
    now: datetime | None,
    client_id: str | None = None,
) -> tuple[CleanImage, dict[str, Any]]:
    """Check, clean and store ``data``; the cleaned image and the parameters of its ``media`` row.

    The bytes are stored before the row is written: a transaction that then fails leaves an
    object no row names (harmless, content-addressed), never a row without its bytes.
    """
    if viewer.user_id is None:
        raise Forbidden("sign in to upload photos")
    settings = get_settings()
    image = clean_image(
        data, max_bytes=settings.media_max_bytes, max_pixels=settings.media_max_pixels
    )
    store = store or get_store()
    sha = store.put(image.data, image.content_type)
    thumb_sha = store.put(image.thumbnail, "image/jpeg")
    position = image.position
    return image, {
        "sha": sha,
        "type": image.content_type,
        "bytes": len(image.data),
        "width": image.width,
        "height": image.height,
        "thumb_sha": thumb_sha,
        "thumb_bytes": len(image.thumbnail),
        "lon": position.lon if position else None,
        "lat": position.lat if position else None,
        "user_id": viewer.user_id,
        "uploader": actor_of(viewer),
        "now": now or datetime.now(UTC),
        "client_id": client_id,
    }


def upload(
    session: Session,
    viewer: Viewer,
    data: bytes,
    *,
    store: MediaStore | None = None,
    now: datetime | None = None,
    client_id: str | None = None,
) -> dict[str, Any]:
    """Check, clean and store an uploaded photo; record it as an unattached upload of ``viewer``.

    With ``client_id`` (the phone's Idempotency-Key of a photo it queued offline) a repeat of
    the same photo returns the first row; the key reused for another photo is refused.
    """
    if client_id is not None and not 1 <= len(client_id) <= 200:
        raise InvalidInput("Idempotency-Key needs 1 to 200 characters", parameter="Idempotency-Key")
    image, row = _stored(viewer, data, store, now, client_id)
    media_id = session.connection().exec_driver_sql(_INSERT, row).scalar_one_or_none()
    if media_id is None:
        # A repeat: the first upload under this key (its uploader is this viewer).
        earlier = session.execute(
            text("SELECT id, sha256 FROM media WHERE uploaded_by = :u AND client_id = :c"),
            {"u": viewer.user_id, "c": client_id},
        ).one()
        if earlier.sha256 != row["sha"]:
            raise InvalidInput(
                "this Idempotency-Key was already used for another photo; use a new key",
                parameter="Idempotency-Key",
            )
        media_id = earlier.id
    position = image.position
    return {
        "id": int(media_id),
        "url": media_url(media_id),
        "thumbnail_url": thumbnail_url(media_id),
        "content_type": image.content_type,
        "bytes": len(image.data),
        "width": image.width,
        "height": image.height,
        "sha256": row["sha"],
        # Only the uploader hears where the camera was (e.g. to place a new report there).
        "position": None if position is None else {"lon": position.lon, "lat": position.lat},
    }


def upload_for_loading(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    data: bytes,
    *,
    now: datetime,
    store: MediaStore | None = None,
) -> int:
    """:func:`upload` for bulk loaders on a psycopg connection (the demo's field-work photos):
    the same checks, cleaning, thumbnail and storage; the new row's id. No commit."""
    _, row = _stored(viewer, data, store, now)
    inserted = conn.execute(_INSERT, row).fetchone()
    assert inserted is not None
    return int(inserted[0])


def _visible(row: Any, viewer: Viewer) -> bool:
    if row.incident_id is None:
        if viewer.user_id is not None and viewer.user_id == row.uploaded_by:
            return True
        # A finding's photo is seen as its patrol is (the field-work scope rule).
        return row.patrol_grid is not None and fieldwork_access.sees(
            viewer, row.patrol_grid, row.patrol_user
        )
    return bool(row.public) or viewer.covers(scope_code(row))


def serve(
    session: Session,
    viewer: Viewer,
    media_id: int,
    *,
    thumbnail: bool = False,
    store: MediaStore | None = None,
) -> Served:
    """A photo (or its thumbnail) if ``viewer`` may see it; NotFound otherwise."""
    row = session.execute(_SERVE, {"id": media_id}).one_or_none()
    if row is None or not _visible(row, viewer):
        raise NotFound(f"no photo {media_id}")
    key = row.thumbnail_sha256 if thumbnail else row.sha256
    try:
        data = (store or get_store()).get(key)
    except KeyError:
        raise NotFound(f"the file of photo {media_id} is missing from the media store") from None
    content_type = "image/jpeg" if thumbnail else str(row.content_type)
    return Served(data, content_type, str(key), bool(row.public))


def claim(session: Session, viewer: Viewer, media_ids: Sequence[int], parameter: str) -> list[int]:
    """Lock the unattached uploads ``media_ids`` of ``viewer`` for attaching; InvalidInput
    naming the first that is not one (someone else's, already attached, or unknown)."""
    ids = list(dict.fromkeys(media_ids))
    if not ids:
        return []
    if len(ids) > MAX_PER_STEP:
        raise InvalidInput(f"at most {MAX_PER_STEP} photos at once", parameter=parameter)
    rows = {
        int(r.id): r
        for r in session.execute(
            text(
                "SELECT id, uploaded_by, incident_id FROM media"
                " WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"
            ),
            {"ids": ids},
        ).all()
    }
    for media_id in ids:
        row = rows.get(media_id)
        if (
            row is None
            or row.incident_id is not None
            or viewer.user_id is None
            or row.uploaded_by != viewer.user_id
        ):
            raise InvalidInput(
                f"photo {media_id} is not a photo you uploaded and have not attached yet; "
                "upload it again",
                parameter=parameter,
            )
    return ids


def attach(
    session: Session,
    media_ids: Sequence[int],
    *,
    incident_id: int,
    transition_id: int | None,
    public: bool,
    now: datetime,
) -> None:
    """Attach claimed uploads to a case (and one step of its history)."""
    if not media_ids:
        return
    session.execute(
        text(
            "UPDATE media SET incident_id = :i, transition_id = :t, public = :p,"
            " attached_at = :now WHERE id = ANY(CAST(:ids AS bigint[]))"
        ),
        {"i": incident_id, "t": transition_id, "p": public, "now": now, "ids": list(media_ids)},
    )
