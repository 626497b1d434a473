"""Phone verification for residents' self-registration: a short code sent to a phone that is on
a resident record, checked once (docs/residents.md, "Resident accounts").

Sending is pluggable: :class:`PhoneCodeSender` is the interface; :func:`set_sender` installs
the deployment's SMS gateway at start-up. The built-in :class:`DevSender` only logs the code and
keeps it in memory for tests and development; outside development and test it refuses to send, so
a production deployment that forgot its gateway fails loudly instead of "sending" codes nobody
gets. Only an HMAC of each code is stored, codes live ten minutes, a phone gets at most one code
a minute, and a code dies after five wrong tries.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput
from gis.settings import get_settings

CODE_LIFETIME = timedelta(minutes=10)
RESEND_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 5
PHONE_PATTERN = r"^1[3-9][0-9]{9}$"
_PURPOSE = b"gridgov/phone-code/v1"
log = logging.getLogger(__name__)


class PhoneCodeSender(Protocol):
    """Delivers a verification code to a phone (an SMS gateway in production)."""

    def send(self, phone: str, code: str) -> None: ...


class DevSender:
    """Logs the code and remembers the last one per phone (development and tests only)."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}

    def send(self, phone: str, code: str) -> None:
        if get_settings().environment == "production":
            raise RuntimeError(
                "no SMS gateway is installed: call gis.phone_codes.set_sender() at start-up"
            )
        self.sent[phone] = code
        log.warning("phone verification code for %s: %s (development sender)", phone, code)


_sender: PhoneCodeSender = DevSender()


def set_sender(sender: PhoneCodeSender) -> None:
    global _sender
    _sender = sender


def get_sender() -> PhoneCodeSender:
    return _sender


def _digest(phone: str, code: str) -> str:
    key = hmac.new(get_settings().secret_key.encode(), _PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def start(session: Session, phone: str, *, now: datetime | None = None) -> datetime:
    """Send a code if ``phone`` is on a resident record; returns when a code would expire.

    The answer is the same whether or not the phone is known (so the endpoint does not tell who
    lives here); only a known phone gets a code. Asking again within a minute is 409.
    """
    now = now or datetime.now(UTC)
    recent = session.execute(
        text("SELECT max(created_at) FROM phone_verification WHERE phone = :p"), {"p": phone}
    ).scalar_one()
    if recent is not None and recent > now - RESEND_AFTER:
        raise Conflict(
            "a code was sent less than a minute ago; wait before asking again", parameter="phone"
        )
    known = session.execute(
        text("SELECT 1 FROM resident WHERE phone = :p LIMIT 1"), {"p": phone}
    ).first()
    expires = now + CODE_LIFETIME
    code = f"{secrets.randbelow(10**6):06d}"
    session.execute(
        text(
            "INSERT INTO phone_verification (phone, code_hash, created_at, expires_at)"
            " VALUES (:p, :h, :now, :exp)"
        ),
        {"p": phone, "h": _digest(phone, code), "now": now, "exp": expires},
    )
    if known is not None:
        _sender.send(phone, code)
    return expires


def check(session: Session, phone: str, code: str, *, now: datetime | None = None) -> bool:
    """Whether ``code`` is the phone's live code; a right code is used up, a wrong one counts
    as a try (the caller commits either way, so the count sticks)."""
    now = now or datetime.now(UTC)
    row = session.execute(
        text(
            "SELECT id, code_hash, attempts FROM phone_verification WHERE phone = :p"
            " AND used_at IS NULL AND expires_at > :now ORDER BY created_at DESC LIMIT 1"
            " FOR UPDATE"
        ),
        {"p": phone, "now": now},
    ).one_or_none()
    if row is None or row.attempts >= MAX_ATTEMPTS:
        raise InvalidInput("no valid code for this phone: ask for a new one", parameter="code")
    if hmac.compare_digest(row.code_hash, _digest(phone, code)):
        session.execute(
            text("UPDATE phone_verification SET used_at = :now WHERE id = :i"),
            {"now": now, "i": row.id},
        )
        return True
    session.execute(
        text("UPDATE phone_verification SET attempts = attempts + 1 WHERE id = :i"), {"i": row.id}
    )
    return False
