"""The reporter rates his own case (一事一评): 1–5 stars and a comment, once, after it is closed.

Nobody signs in for this. The reporter proves the case is his with what he was given when he
reported it: the Open311 ``token`` of his service request, or a **signed rating link**
(``/rate/<id>.<expiry>.<signature>``) that the intake returns (and that anyone holding the case
can re-create, e.g. to send it by SMS when the case closes: it depends only on the case). The
signature is an HMAC-SHA256 of the case id and the expiry under a key derived from the app's
secret (``$GRIDGOV_HOME/secret_key`` or ``GRIDGOV_SECRET_KEY``), so a link cannot be forged or
moved to another case, and rotating the secret revokes every link.

Staff cannot rate on his behalf: the workflow's ``closed → evaluated`` step belongs to
:data:`~gis.incidents.workflow.REPORTER` alone, a role no account has.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import signing
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.incidents.events import append_event, event_payload
from gis.incidents.history import record_history
from gis.incidents.presentation import get_incident
from gis.incidents.timestamps import iso
from gis.incidents.vocabulary import STATUS_LABELS_ZH
from gis.incidents.workflow import INCIDENT_WORKFLOW, REPORTER
from gis.scope import ANONYMOUS
from gis.settings import get_settings

# A link is good for this long after the report: long enough for a slow case to be closed and
# rated, short enough that an old SMS stops working.
LINK_LIFETIME = timedelta(days=180)
COMMENT_MAX = 500
STARS = (1, 2, 3, 4, 5)
# History rows of a reporter's rating name him by how he proved it, never by name.
ACTOR_TOKEN = "reporter:open311-token"  # noqa: S105 - an actor label, not a secret
ACTOR_LINK = "reporter:signed-link"

_PURPOSE = b"gridgov/rating-link/v1"  # domain separation: this key signs nothing else
_LINK = re.compile(r"^([1-9][0-9]{0,17})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})$")
_NOT_FOUND = "this rating link is not valid; use the link or token you received when reporting"


def _signature(secret: str, message: str) -> str:
    return signing.signature(secret, _PURPOSE, message)


def rating_token(incident_id: int, reported_at: datetime, secret: str | None = None) -> str:
    """The signed rating token of a case: ``<id>.<expiry (Unix s)>.<signature>``.

    >>> t = rating_token(42, datetime(2026, 11, 29, tzinfo=UTC), "s" * 48)
    >>> t.split(".")[:2]
    ['42', '1811462400']
    >>> t == rating_token(42, datetime(2026, 11, 29, tzinfo=UTC), "s" * 48)
    True
    """
    expires = int((reported_at + LINK_LIFETIME).timestamp())
    message = f"{incident_id}.{expires}"
    return f"{message}.{_signature(secret or get_settings().secret_key, message)}"


def rating_path(incident_id: int, reported_at: datetime) -> str:
    """The reporter's page for a case (relative to the app's address)."""
    return f"/rate/{rating_token(incident_id, reported_at)}"


@dataclass(frozen=True)
class Credential:
    incident_id: int
    actor: str


def resolve(session: Session, credential: str, *, now: datetime | None = None) -> Credential:
    """The case a rating credential (signed token or Open311 token) stands for.

    A malformed, forged or unknown credential is :class:`~gis.errors.NotFound` with the same
    words whatever was wrong, so probing learns nothing; a genuine link past its expiry is
    :class:`~gis.errors.Forbidden`.
    """
    now = now or datetime.now(UTC)
    if len(credential) <= 40 and "-" in credential and "." not in credential:
        try:
            token = uuid.UUID(credential)
        except ValueError:
            raise NotFound(_NOT_FOUND) from None
        found = session.execute(
            text("SELECT id FROM incident WHERE token = :t"), {"t": token}
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(_NOT_FOUND)
        return Credential(int(found), ACTOR_TOKEN)
    match = _LINK.match(credential)
    if match is None:
        raise NotFound(_NOT_FOUND)
    incident_id, expires, signature = match.groups()
    if not signing.matches(
        get_settings().secret_key, _PURPOSE, f"{incident_id}.{expires}", signature
    ):
        raise NotFound(_NOT_FOUND)
    if int(expires) < now.timestamp():
        raise Forbidden("this rating link has expired")
    return Credential(int(incident_id), ACTOR_LINK)


def why_not(status: str) -> str | None:
    """Why a case in ``status`` cannot be rated now (None if it can)."""
    if status == "closed":
        return None
    if status == "evaluated":
        return "this case has already been rated; each case is rated once (一事一评)"
    if status == "rejected":
        return "this case was not taken on (不予立案), so there is nothing to rate"
    return (
        f"this case is not closed yet (now: {STATUS_LABELS_ZH[status]}); "
        "you can rate it once it is closed"
    )


def public_case(session: Session, credential: str) -> dict[str, Any]:
    """What the reporter's page shows: the case's public fields and public history, its rating
    and whether it can be rated now."""
    cred = resolve(session, credential)
    case = get_incident(session, ANONYMOUS, cred.incident_id)
    rated = session.execute(
        text(
            "SELECT i.rating, t.at FROM incident i LEFT JOIN incident_transition t"
            " ON t.incident_id = i.id AND t.to_status = 'evaluated' WHERE i.id = :i"
            " ORDER BY t.at DESC NULLS LAST LIMIT 1"
        ),
        {"i": cred.incident_id},
    ).one()
    reason = why_not(case["status"])
    return {
        "code": case["code"],
        "category": case["category"],
        "description": case["description"],
        "address": case["address"],
        "status": case["status"],
        "status_label": case["status_label"],
        "reported_at": case["reported_at"],
        "closed_at": case["closed_at"],
        "history": [
            {
                "at": h["at"],
                "status": h["to"],
                "status_label": STATUS_LABELS_ZH[h["to"]],
                "note": h["public_note"],
            }
            for h in case["history"]
        ],
        "rating": rated.rating,
        "rated_at": iso(rated.at),
        "can_rate": reason is None,
        "reason": reason,
    }


def rate(
    session: Session,
    credential: str,
    stars: int,
    comment: str | None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record the reporter's rating: the case goes closed → evaluated with its stars, and the
    comment is kept in the history row (an internal note: it may name people). Once only.

    Raises InvalidInput for stars outside 1–5 or a comment too long, Conflict (409) if the case
    is not closed or already rated, NotFound/Forbidden for a bad or expired credential.
    """
    now = now or datetime.now(UTC)
    cred = resolve(session, credential, now=now)
    if stars not in STARS:
        raise InvalidInput("rating must be a whole number of stars from 1 to 5", parameter="rating")
    note = (comment or "").strip() or None
    if note is not None and len(note) > COMMENT_MAX:
        raise InvalidInput(
            f"the comment has {len(note)} characters; at most {COMMENT_MAX}", parameter="comment"
        )
    status = session.execute(
        text("SELECT status FROM incident WHERE id = :i FOR UPDATE"), {"i": cred.incident_id}
    ).scalar_one_or_none()
    if status is None:
        raise NotFound(_NOT_FOUND)
    reason = why_not(status)
    if reason is not None:
        raise Conflict(reason, parameter="status")
    INCIDENT_WORKFLOW.check(status, "evaluated", REPORTER)
    session.execute(
        text(
            "UPDATE incident SET status = 'evaluated', rating = :r, updated_at = :now WHERE id = :i"
        ),
        {"r": stars, "now": now, "i": cred.incident_id},
    )
    record_history(
        session,
        cred.incident_id,
        now,
        cred.actor,
        status,
        "evaluated",
        note,
        [],
        f"评价：{stars}星",
        [],
    )
    append_event(
        session,
        cred.incident_id,
        "transition",
        "evaluated",
        event_payload(session, cred.incident_id),
        now,
    )
    return public_case(session, credential)
