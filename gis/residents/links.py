"""A resident's signed link (``/r/<id>.<expiry>.<signature>``): him, without an account.

Staff who meet residents issue it (by SMS or a QR code on a visit); its holder reads his
notices and confirms them, applies for services, signs up for and checks in to volunteer
activities and redeems his points. The signature is gis/signing.py's HMAC under the app's
secret with this module's own purpose, so a link cannot be forged or moved to another resident,
and rotating the secret revokes every link. Issuing one is audited (who gave whom a link).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from gis import audit, signing
from gis.errors import Forbidden, NotFound
from gis.residents.access import (
    LINK_ISSUERS,
    ResidentActor,
    actor_for_resident,
    check_area,
    check_role,
    resident_area,
)
from gis.scope import Viewer
from gis.settings import get_settings

LINK_LIFETIME = timedelta(days=365)
ISSUE_ACTION = "resident_link.issue"
_PURPOSE = b"gridgov/resident-link/v1"
_LINK = re.compile(r"^([1-9][0-9]{0,17})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})$")
_NOT_FOUND = "this link is not valid; ask your community or grid worker for your link"


def token(resident_id: int, issued_at: datetime, secret: str | None = None) -> str:
    """The signed token of a resident's link.

    >>> t = token(7, datetime(2026, 11, 29, tzinfo=UTC), "s" * 48)
    >>> t.split(".")[:2], t == token(7, datetime(2026, 11, 29, tzinfo=UTC), "s" * 48)
    (['7', '1827446400'], True)
    """
    expires = int((issued_at + LINK_LIFETIME).timestamp())
    message = f"{resident_id}.{expires}"
    return f"{message}.{signing.signature(secret or get_settings().secret_key, _PURPOSE, message)}"


def path(credential: str) -> str:
    return f"/r/{credential}"


def resolve(session: Session, credential: str, *, now: datetime | None = None) -> ResidentActor:
    """The resident a link stands for. Malformed, forged and unknown links are the same
    NotFound (probing learns nothing); a genuine link past its expiry is Forbidden."""
    match = _LINK.match(credential)
    if match is None:
        raise NotFound(_NOT_FOUND)
    resident_id, expires, given = match.groups()
    if not signing.matches(get_settings().secret_key, _PURPOSE, f"{resident_id}.{expires}", given):
        raise NotFound(_NOT_FOUND)
    if int(expires) < (now or datetime.now(UTC)).timestamp():
        raise Forbidden("this link has expired; ask your community for a new one")
    return actor_for_resident(session, int(resident_id), "link")


def issue(session: Session, viewer: Viewer, resident_id: int) -> dict[str, str]:
    """A new link for a resident of the viewer's area; the issue is audited."""
    check_role(viewer, LINK_ISSUERS, "issue residents' links")
    grid = resident_area(session, resident_id)
    check_area(viewer, grid, "resident_id")
    issued = datetime.now(UTC)
    credential = token(resident_id, issued)
    audit.record(
        session,
        viewer,
        ISSUE_ACTION,
        f"resident:{resident_id}",
        subjects=[audit.subject("resident", resident_id)],
        area_code=grid,
        detail={"expires": (issued + LINK_LIFETIME).date().isoformat()},
    )
    return {
        "path": path(credential),
        "token": credential,
        "expires": (issued + LINK_LIFETIME).isoformat(),
    }
