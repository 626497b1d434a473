"""Accounts and API clients: create, change password, disable, list, sign in, sessions, lock-out.

Passwords are hashed with argon2id (pwdlib) and must pass :func:`check_password_policy` (length,
and zxcvbn's estimate, which knows the common and breached passwords). API keys for the public
write surfaces (Open311) are random 256-bit tokens stored as SHA-256 digests.

Sign-in (:func:`authenticate`) is throttled twice, and neither throttle ever ends a session that
is already signed in:

- per **source address**, over every username: after :data:`ADDRESS_FREE_FAILURES` failures the
  address waits 1 min, then 2, 4 … up to an hour, so one address cannot guess at scale;
- per **account**: after :data:`FREE_FAILURES` consecutive failures the account's sign-ins wait
  5 s, 10 s, 20 s … up to 15 min — except from an address this account signed in from during the
  last :data:`TRUSTED_ADDRESS_DAYS` days, so a stranger cannot lock the real user out.

Every failure path costs exactly one argon2 verification (an unknown user, a locked account or
address verify against a dummy hash), and all answer alike, so neither timing nor message tells
which usernames exist.

A successful sign-in starts an ``auth_session`` row. Access tokens and the session cookie name
it, and it is checked on every request (:func:`session_account`): logout, a new password or a
disabled account revoke it at once. Refresh tokens rotate on every use; a reused one revokes its
session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import zxcvbn
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Connection, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput, NotFound
from gis.models import AppUser
from gis.models_security import ApiClient, AuthSession, SignInThrottle
from gis.scope import RESIDENT_ROLE, ROLES

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
SCOPE_RE = re.compile(r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$")
# NIST SP 800-63B asks for at least 8 characters and a check against known passwords; 10 plus
# zxcvbn's score leaves room for passphrases and refuses what guessing lists start with.
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# zxcvbn scores 0-4; 3 means "safely unguessable" (about 10^10 guesses) against its lists of
# common and breached passwords, words, names, dates, keyboard patterns and sequences.
MIN_PASSWORD_SCORE = 3
_ZXCVBN_MAX_LENGTH = 72
# Account lock-out: failures allowed before sign-ins of the account wait; then 5 s, 10 s, 20 s
# ... up to 15 min. Addresses the account signed in from lately are not held back by it.
FREE_FAILURES = 2
BASE_LOCK = timedelta(seconds=5)
MAX_LOCK = timedelta(minutes=15)
TRUSTED_ADDRESS_DAYS = 30
# Address lock-out: failures (any usernames) before the address waits; then 1 min, 2, 4 ... 1 h.
# Failures older than the window are forgotten.
ADDRESS_FREE_FAILURES = 10
ADDRESS_BASE_LOCK = timedelta(minutes=1)
ADDRESS_MAX_LOCK = timedelta(hours=1)
ADDRESS_WINDOW = timedelta(hours=1)
API_KEY_PREFIX = "gg_"
SESSION_KINDS = ("api", "cookie")

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against whenever no real hash may be checked (unknown user, locked account or
# address), so every failure costs one argon2 verification, like a real check.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    scope_code: str
    is_active: bool
    is_demo: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    credential_tag: str = ""
    """A digest of the password hash: tokens carry it, so a new password ends old sessions."""
    household_id: int | None = None
    """A resident's household (role ``resident`` only): what his account may read besides
    public data."""

    def locked(self, now: datetime | None = None) -> bool:
        """Whether new sign-ins of this account wait (from addresses it has not used lately)."""
        now = now or datetime.now(UTC)
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class SignInSession:
    """A session started by a sign-in: its id, when it ends and (API only) its refresh token."""

    id: str
    expires_at: datetime
    refresh_token: str | None = None


class AuthenticationFailed(Exception):
    """Wrong username or password, or the account is disabled or temporarily locked.

    The message never says which, so it cannot be used to discover usernames.
    """

    def __init__(self, locked_until: datetime | None = None) -> None:
        super().__init__("wrong username or password, or the account is locked")
        self.locked_until = locked_until


def _account(user: AppUser) -> Account:
    return Account(
        id=user.id,
        username=user.username,
        role=user.role,
        scope_code=user.scope_code,
        is_active=user.is_active,
        is_demo=user.is_demo,
        failed_logins=user.failed_logins,
        locked_until=user.locked_until,
        created_at=user.created_at,
        credential_tag=credential_tag(user.password_hash),
        household_id=user.household_id,
    )


def credential_tag(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


# --- passwords -------------------------------------------------------------------------------


def check_password_policy(password: str, *, username: str | None = None) -> None:
    """Refuse a password that is too short or long, or guessable (zxcvbn score below 3).

    zxcvbn ships lists of common and breached passwords, English words, names and keyboard
    patterns, and penalises the username and the product's name inside the password.

    >>> check_password_policy("correct-horse-battery")
    >>> check_password_policy("password123")
    Traceback (most recent call last):
    ...
    gis.errors.InvalidInput: the password is too easy to guess: This is a very common password. ...
    """
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            parameter="password",
        )
    if username and username.lower() in password.lower():
        raise InvalidInput("a password must not contain the username", parameter="password")
    hints = ["gridgov", "网格", *([username] if username else [])]
    result = zxcvbn.zxcvbn(
        password[:_ZXCVBN_MAX_LENGTH], user_inputs=hints, max_length=_ZXCVBN_MAX_LENGTH
    )
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        parts = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
        advice = " ".join(part for part in parts if part)
        raise InvalidInput(
            "the password is too easy to guess: "
            + (advice or "use a longer passphrase of several uncommon words"),
            parameter="password",
        )


def hash_password(password: str, *, username: str | None = None) -> str:
    """An argon2id hash of ``password``, which must pass :func:`check_password_policy`."""
    check_password_policy(password, username=username)
    return _hasher.hash(password)


def lock_delay(failures: int) -> timedelta | None:
    """How long the account's sign-ins wait after its ``failures``-th consecutive failure.

    >>> [lock_delay(n) for n in (1, 2)]
    [None, None]
    >>> [int(lock_delay(n).total_seconds()) for n in (3, 4, 5, 12)]
    [5, 10, 20, 900]
    """
    return _backoff(failures, FREE_FAILURES, BASE_LOCK, MAX_LOCK)


def address_lock_delay(failures: int) -> timedelta | None:
    """How long an address waits after its ``failures``-th failure within the window.

    >>> address_lock_delay(10) is None, int(address_lock_delay(11).total_seconds())
    (True, 60)
    >>> int(address_lock_delay(40).total_seconds())
    3600
    """
    return _backoff(failures, ADDRESS_FREE_FAILURES, ADDRESS_BASE_LOCK, ADDRESS_MAX_LOCK)


def _backoff(failures: int, free: int, base: timedelta, cap: timedelta) -> timedelta | None:
    if failures <= free:
        return None
    exponent = min(failures - free - 1, 20)
    return min(base * (2**exponent), cap)


# --- accounts --------------------------------------------------------------------------------


def _check_scope(session: Session, scope_code: str) -> None:
    if not SCOPE_RE.match(scope_code):
        raise InvalidInput(
            "scope must be an area code of 6 (district), 12 (street or community) or 15 (grid) "
            "digits",
            parameter="scope",
        )
    exists = session.execute(
        text("SELECT 1 FROM area WHERE code = :code AND valid_to IS NULL"), {"code": scope_code}
    ).first()
    if exists is None:
        raise InvalidInput(f"no current area has the code {scope_code}", parameter="scope")


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    scope_code: str,
    *,
    demo: bool = False,
) -> Account:
    """Create an account whose scope is an existing area's subtree."""
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "a username has 3 to 64 characters: letters, digits, '_', '.', '-'",
            parameter="username",
        )
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", parameter="role")
    if role == RESIDENT_ROLE:
        raise InvalidInput(
            "a resident's account belongs to a household: create it with the household's code "
            "(POST /api/v1/resident-accounts)",
            parameter="role",
        )
    _check_scope(session, scope_code)
    return _insert_user(session, username, password, role=role, scope_code=scope_code, is_demo=demo)


def _insert_user(session: Session, username: str, password: str, **columns: Any) -> Account:
    """Hash the password (policy checked), refuse a taken name, store the account."""
    password_hash = hash_password(password, username=username)
    if session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
        raise Conflict(f"the username {username} is taken", parameter="username")
    user = AppUser(username=username, password_hash=password_hash, **columns)
    session.add(user)
    session.flush()
    session.refresh(user)
    return _account(user)


def _user(session: Session, username: str, *, for_update: bool = False) -> AppUser:
    stmt = select(AppUser).where(AppUser.username == username)
    if for_update:
        stmt = stmt.with_for_update()
    user = session.scalar(stmt)
    if user is None:
        raise NotFound(f"no account is called {username}", parameter="username")
    return user


def set_password(session: Session, username: str, password: str) -> Account:
    """Set a new password; clears failed sign-ins and any lock, and ends every session."""
    user = _user(session, username, for_update=True)
    user.password_hash = hash_password(password, username=username)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    revoke_sessions(session, user.id, "password changed")
    return _account(user)


def change_own_password(session: Session, username: str, current: str, new: str) -> Account:
    """A signed-in user's own change: the current password first, then the policy.

    Every session of the account ends (its tokens carry the old credential), so the user signs
    in again with the new password, everywhere.
    """
    user = _user(session, username, for_update=True)
    valid, _ = _hasher.verify_and_update(current[:MAX_PASSWORD_LENGTH], user.password_hash)
    if not valid:
        raise InvalidInput("the current password is wrong", parameter="current_password")
    if hmac.compare_digest(current.encode(), new.encode()):
        raise InvalidInput(
            "the new password must differ from the current one", parameter="new_password"
        )
    try:
        return set_password(session, username, new)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, parameter="new_password") from None


def set_active(session: Session, username: str, active: bool) -> Account:
    """Disable (or re-enable) an account; disabling ends every session at once."""
    user = _user(session, username, for_update=True)
    user.is_active = active
    session.flush()
    if not active:
        revoke_sessions(session, user.id, "account disabled")
    return _account(user)


def list_users(session: Session) -> list[Account]:
    users = session.scalars(select(AppUser).order_by(AppUser.username)).all()
    return [_account(u) for u in users]


def get_account(session: Session, username: str) -> Account | None:
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    return None if user is None else _account(user)


_ACCOUNTS_TO_NOTIFY = text(
    """
    SELECT DISTINCT u.id FROM app_user u
    WHERE u.is_active AND u.username IS DISTINCT FROM :besides AND (
        (u.role, u.scope_code) IN (
            SELECT * FROM unnest(CAST(:roles AS text[]), CAST(:scopes AS text[])))
        OR u.person_id = ANY(CAST(:people AS bigint[]))
        OR u.username = ANY(CAST(:usernames AS text[])))
    ORDER BY u.id
    """
)


def person_of_user(session: Session, user_id: int | None) -> int | None:
    """The staff record (person) behind an account, if it has one."""
    if user_id is None:
        return None
    return session.scalar(select(AppUser.person_id).where(AppUser.id == user_id))


def member_of_user(session: Session, user_id: int | None) -> int | None:
    """The party-member record an account acts as (``app_user.member_id``), if it has one."""
    if user_id is None:
        return None
    return session.scalar(select(AppUser.member_id).where(AppUser.id == user_id))


def accounts_to_notify(
    session: Session,
    *,
    desks: Sequence[tuple[str, str]] = (),
    person_ids: Sequence[int] = (),
    usernames: Sequence[str] = (),
    besides: str | None = None,
) -> list[int]:
    """Ids of the active accounts that hold one of ``desks`` (a role scoped to exactly that
    area code), stand for one of the people ``person_ids``, or are named in ``usernames`` —
    except the account ``besides`` (who took the step needs no telling)."""
    if not (desks or person_ids or usernames):
        return []
    rows = session.execute(
        _ACCOUNTS_TO_NOTIFY,
        {
            "roles": [role for role, _ in desks],
            "scopes": [scope for _, scope in desks],
            "people": list(person_ids),
            "usernames": list(usernames),
            "besides": besides,
        },
    )
    return [int(r) for r in rows.scalars()]


# --- sign-in ---------------------------------------------------------------------------------


def _address_locked_until(session: Session, client: str | None, now: datetime) -> datetime | None:
    if not client:
        return None
    locked_until = session.scalar(
        select(SignInThrottle.locked_until).where(SignInThrottle.address == client)
    )
    return locked_until if locked_until is not None and locked_until > now else None


def _count_address_failure(session: Session, client: str | None, now: datetime) -> None:
    """One more failure from ``client`` (any username); the address waits once they repeat."""
    if not client:
        return
    window_start = now - ADDRESS_WINDOW
    stmt = insert(SignInThrottle).values(address=client[:100], failures=1, last_failure_at=now)
    failures = session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SignInThrottle.address],
            set_={
                "failures": text(
                    "CASE WHEN sign_in_throttle.last_failure_at < :window_start THEN 1"
                    " ELSE sign_in_throttle.failures + 1 END"
                ).bindparams(window_start=window_start),
                "last_failure_at": now,
            },
        ).returning(SignInThrottle.failures)
    ).scalar_one()
    delay = address_lock_delay(failures)
    if delay is not None:
        session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.address == client[:100])
            .values(locked_until=now + delay)
        )


def _trusted_address(session: Session, user_id: int, client: str | None, now: datetime) -> bool:
    """Whether this account signed in from ``client`` lately (its lock-out does not apply)."""
    if not client:
        return False
    return (
        session.scalar(
            select(AuthSession.id)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.client == client,
                AuthSession.created_at > now - timedelta(days=TRUSTED_ADDRESS_DAYS),
            )
            .limit(1)
        )
        is not None
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    client: str | None = None,
    now: datetime | None = None,
) -> Account:
    """Check a password under the address and account lock-outs (see the module docstring).

    Exactly one argon2 verification on every path. The caller must commit even when this
    raises, so that the failure is counted. Never touches existing sessions.

    Raises
    ------
    AuthenticationFailed
        Unknown user, wrong password, disabled account, locked account or address
        (indistinguishable to the caller's client).
    """
    now = now or datetime.now(UTC)
    password = password[:MAX_PASSWORD_LENGTH]
    user = None
    if USERNAME_RE.match(username):
        user = session.scalar(select(AppUser).where(AppUser.username == username).with_for_update())
    held_until = _address_locked_until(session, client, now)
    if (
        user is not None
        and held_until is None
        and user.locked_until is not None
        and user.locked_until > now
        and not _trusted_address(session, user.id, client, now)
    ):
        held_until = user.locked_until
    if user is None or held_until is not None:
        # Same work as a real check; the password is not tried, so guessing gains nothing.
        _hasher.verify(password, _DUMMY_HASH)
        _count_address_failure(session, client, now)
        session.flush()
        raise AuthenticationFailed(held_until)
    valid, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not valid or not user.is_active:
        if not valid:
            user.failed_logins += 1
            delay = lock_delay(user.failed_logins)
            if delay is not None:
                user.locked_until = now + delay
        _count_address_failure(session, client, now)
        session.flush()
        raise AuthenticationFailed(user.locked_until if not valid else None)
    user.failed_logins = 0
    user.locked_until = None
    if new_hash is not None:
        user.password_hash = new_hash
    session.flush()
    return _account(user)


# --- sessions --------------------------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def start_session(
    session: Session,
    account: Account,
    kind: str,
    lifetime: timedelta,
    *,
    client: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> SignInSession:
    """Record a sign-in; an ``api`` session also gets a refresh token (shown once)."""
    if kind not in SESSION_KINDS:
        raise ValueError(f"session kind must be one of {SESSION_KINDS}")
    now = now or datetime.now(UTC)
    session_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32) if kind == "api" else None
    row = AuthSession(
        id=session_id,
        user_id=account.id,
        kind=kind,
        refresh_digest=_digest(secret) if secret else None,
        client=client[:100] if client else None,
        user_agent=user_agent[:300] if user_agent else None,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    refresh = f"{session_id}.{secret}" if secret else None
    return SignInSession(str(session_id), row.expires_at, refresh)


def _session_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def session_account(session: Session, session_id: str, *, now: datetime | None = None) -> Account:
    """The account of a live session (not revoked, not expired, account active); else raise.

    One indexed read per request. Account locks do not matter here: a lock-out holds back new
    sign-ins only, never a session already signed in.
    """
    now = now or datetime.now(UTC)
    sid = _session_uuid(session_id)
    if sid is None:
        raise AuthenticationFailed()
    user = session.scalar(
        select(AppUser)
        .join(AuthSession, AuthSession.user_id == AppUser.id)
        .where(
            AuthSession.id == sid,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
            AppUser.is_active,
        )
    )
    if user is None:
        raise AuthenticationFailed()
    return _account(user)


def refresh_session(
    session: Session, refresh_token: str, *, now: datetime | None = None
) -> tuple[Account, SignInSession]:
    """Exchange a refresh token for a new one (rotation) on the same session.

    A token that was already exchanged revokes the session: one of the two holders is a thief.
    """
    now = now or datetime.now(UTC)
    sid_text, _, secret = refresh_token.partition(".")
    sid = _session_uuid(sid_text)
    if sid is None or not secret or len(refresh_token) > 200:
        raise AuthenticationFailed()
    row = session.scalar(select(AuthSession).where(AuthSession.id == sid).with_for_update())
    if row is None or row.kind != "api" or row.revoked_at is not None or row.expires_at <= now:
        raise AuthenticationFailed()
    if row.refresh_digest is None or not hmac.compare_digest(row.refresh_digest, _digest(secret)):
        row.revoked_at = now
        row.revoked_reason = "refresh token reused"
        session.flush()
        raise AuthenticationFailed()
    user = session.get(AppUser, row.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed()
    new_secret = secrets.token_urlsafe(32)
    row.refresh_digest = _digest(new_secret)
    row.last_used_at = now
    session.flush()
    return _account(user), SignInSession(str(sid), row.expires_at, f"{sid}.{new_secret}")


def revoke_session(session: Session, session_id: str, reason: str = "signed out") -> bool:
    """End one session (logout); whether it was live."""
    sid = _session_uuid(session_id)
    if sid is None:
        return False
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.id == sid, AuthSession.revoked_at.is_(None))
        .values(revoked_at=text("now()"), revoked_reason=reason)
        .returning(AuthSession.id)
    )
    return result.first() is not None


def revoke_sessions(session: Session, user_id: int, reason: str) -> int:
    """End every live session of an account; how many there were."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=text("now()"), revoked_reason=reason)
        .returning(AuthSession.id)
    )
    return len(result.all())


def has_demo_accounts(session: Session) -> bool:
    return session.scalar(select(AppUser.id).where(AppUser.is_demo).limit(1)) is not None


def count_demo_accounts(conn: Connection) -> int:
    """How many demo accounts exist (0 when the schema is not migrated yet).

    Takes a connection rather than a session: the production start-up check runs before any
    request session exists.
    """
    if not conn.execute(text("SELECT to_regclass('app_user') IS NOT NULL")).scalar():
        return 0
    return int(conn.execute(select(func.count()).where(AppUser.is_demo)).scalar_one())


def purge_demo_accounts(session: Session) -> list[str]:
    """Delete every demo account; returns their usernames (the caller audits and commits)."""
    deleted = session.scalars(delete(AppUser).where(AppUser.is_demo).returning(AppUser.username))
    return sorted(deleted.all())


# --- demo accounts ---------------------------------------------------------------------------

DEMO_ROLE_LEVEL = {
    "admin": "district",
    "district_secretary": "district",
    "street_secretary": "street",
    "community_secretary": "community",
    "grid_chief": "grid",
    "grid_worker": "grid",
    "party_instructor": "grid",
    "command_operator": "district",
    "planner": "district",
    "party_member": "community",
    # The demo resident lives in the demo grid's first household (ensure_demo_accounts).
    "resident": "grid",
}


# The grid_staff post each grid-level demo account holds.
DEMO_STAFF_POST = {"grid_chief": "chief", "grid_worker": "worker", "party_instructor": "instructor"}


def accounts_for_loading(
    conn: psycopg.Connection[Any], usernames: Sequence[str]
) -> list[tuple[int, str, int | None, str]]:
    """(id, username, person id, scope) of these accounts, by username: for bulk loaders that
    write rows on an account's behalf (the demo's patrols and visits)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, username, person_id, scope_code FROM app_user WHERE username = ANY(%s)"
            " ORDER BY username",
            (list(usernames),),
        )
        return list(cur.fetchall())


# Links a party member's account to the first member of the register living in its scope who
# has no account yet (pyformat: run with a psycopg cursor or ``exec_driver_sql``).
LINK_FIRST_MEMBER_SQL = (
    "UPDATE app_user u SET member_id = ("
    "  SELECT m.id FROM party_member m JOIN resident r ON r.id = m.resident_id"
    "  JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id"
    "  JOIN area g ON g.id = b.grid_id"
    "  WHERE g.code LIKE u.scope_code || '%%' AND m.org_id IS NOT NULL"
    "    AND NOT EXISTS (SELECT 1 FROM app_user o WHERE o.member_id = m.id)"
    "  ORDER BY m.id LIMIT 1)"
    " WHERE u.username = %(username)s AND u.member_id IS NULL"
)


def demo_username(role: str) -> str:
    return "demo_" + role


def ensure_demo_accounts(
    conn: psycopg.Connection[Any], password: str | None
) -> tuple[list[tuple[str, str, str]], str | None]:
    """One demo account per role, scoped to the first area of the matching level.

    The street, community and grid are nested (the grid lies in the community, which lies in
    the street), so the accounts show how scope narrows. With ``password`` (from
    ``GRIDGOV_DEMO_PASSWORD``) every demo account gets it; without, missing accounts are created
    with a random password that is returned so the caller can print it once. Existing demo
    accounts keep their password when none is given. Does not commit.

    Returns
    -------
    (accounts, generated_password)
        ``accounts`` as (username, role, scope code); ``generated_password`` is None unless one
        was made.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT g.code, c.code, s.code, d.code FROM area g"
            " JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id"
            " JOIN area d ON d.id = s.parent_id"
            " WHERE g.level = 'grid' AND g.valid_to IS NULL ORDER BY g.code LIMIT 1"
        )
        row = cur.fetchone()
        if row is None:
            return [], None
        scope_by_level = dict(zip(("grid", "community", "street", "district"), row, strict=True))
        cur.execute("SELECT username FROM app_user WHERE username LIKE 'demo\\_%%'")
        existing = {r[0] for r in cur.fetchall()}
        wanted = [
            (demo_username(role), role, scope_by_level[level])
            for role, level in DEMO_ROLE_LEVEL.items()
        ]
        generated = None
        if password is None and any(name not in existing for name, _, _ in wanted):
            generated = secrets.token_urlsafe(12)
        effective = password or generated
        password_hash = hash_password(effective) if effective else None
        cur.execute(
            "SELECT h.id, (SELECT min(r.id) FROM resident r WHERE r.household_id = h.id)"
            " FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id WHERE g.code = %s ORDER BY h.code LIMIT 1",
            (scope_by_level["grid"],),
        )
        home = cur.fetchone()
        if home is None:  # a demo grid without households has no demo resident
            wanted = [w for w in wanted if w[1] != RESIDENT_ROLE]
        for username, role, scope in wanted:
            if username in existing:
                if password is not None:
                    cur.execute(
                        "UPDATE app_user SET password_hash = %s, role = %s, scope_code = %s,"
                        " is_demo = true, failed_logins = 0, locked_until = NULL"
                        " WHERE username = %s",
                        (password_hash, role, scope, username),
                    )
                continue
            household, resident = home if role == RESIDENT_ROLE and home else (None, None)
            cur.execute(
                "INSERT INTO app_user (username, password_hash, role, scope_code, is_demo,"
                " household_id, resident_id) VALUES (%s, %s, %s, %s, true, %s, %s)",
                (username, password_hash, role, scope, household, resident),
            )
        # The grid's demo accounts are its real staff (一长两员), so "my cases" (the cases
        # routed to the worker) and the staff list on the grid page name the same people.
        for role, post in DEMO_STAFF_POST.items():
            cur.execute(
                "UPDATE app_user u SET person_id = ("
                "  SELECT gs.person_id FROM grid_staff gs JOIN area a ON a.id = gs.area_id"
                "  WHERE a.code = u.scope_code AND a.valid_to IS NULL AND gs.role = %s"
                "  ORDER BY gs.person_id LIMIT 1)"
                " WHERE u.username = %s AND u.person_id IS NULL",
                (post, demo_username(role)),
            )
        # The demo party member is a real member of his community: he acts only as that record
        # (service orders he claims are his; docs/party-building.md, "Member accounts").
        cur.execute(LINK_FIRST_MEMBER_SQL, {"username": demo_username("party_member")})
    return wanted, generated


# --- API clients -----------------------------------------------------------------------------


def create_api_client(
    session: Session, name: str, contact: str | None = None
) -> tuple[ApiClient, str]:
    """Register a client; return it and its key (shown once, only its digest is stored)."""
    if not USERNAME_RE.match(name):
        raise InvalidInput(
            "a client name has 3 to 64 characters: letters, digits, '_', '.', '-'",
            parameter="name",
        )
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise Conflict(f"an API client called {name} exists", parameter="name")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(name=name, key_digest=_digest(key), key_prefix=key[:10], contact=contact)
    session.add(client)
    session.flush()
    session.refresh(client)
    return client, key


def api_client_name(session: Session, key: str | None) -> str | None:
    """The name of the active client holding ``key``, or None; a read only.

    Unlike :func:`verify_api_key` it takes no row lock, so concurrent requests of one client do
    not queue behind each other while their transactions run.
    """
    if not key or len(key) > 200 or not key.startswith(API_KEY_PREFIX):
        return None
    name = session.scalar(
        select(ApiClient.name).where(ApiClient.key_digest == _digest(key), ApiClient.is_active)
    )
    return None if name is None else str(name)


def verify_api_key(session: Session, key: str | None) -> ApiClient | None:
    """The active client holding ``key``, or None. Records when the key was last used."""
    if not key or len(key) > 200 or not key.startswith(API_KEY_PREFIX):
        return None
    client = session.scalar(
        select(ApiClient).where(ApiClient.key_digest == _digest(key), ApiClient.is_active)
    )
    if client is None:
        return None
    # Stamp the use at most once a minute: an UPDATE per request would queue every request of a
    # busy client on this row until the previous one commits.
    session.execute(
        update(ApiClient)
        .where(
            ApiClient.id == client.id,
            or_(
                ApiClient.last_used_at.is_(None),
                ApiClient.last_used_at < text("now() - interval '1 minute'"),
            ),
        )
        .values(last_used_at=text("now()"))
    )
    return client


def revoke_api_client(session: Session, name: str) -> None:
    client = session.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise NotFound(f"no API client is called {name}", parameter="name")
    client.is_active = False
    session.flush()


def list_api_clients(session: Session) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).order_by(ApiClient.name)).all())


# --- resident accounts (docs/residents.md) ------------------------------------------------------


@dataclass(frozen=True)
class ResidentHousehold:
    """A resident account's household and the areas it lies in (current grid versions)."""

    household_id: int
    household_code: str
    address: str
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    district_code: str
    resident_id: int | None


_HOUSEHOLD_SQL = text(
    """
    SELECT h.id AS household_id, h.code AS household_code, h.address, g.code AS grid_code,
           c.code AS community_code, s.code AS street_code, h.district_code
    FROM household h
    JOIN building b ON b.id = h.building_id
    LEFT JOIN area g ON g.id = b.grid_id
    LEFT JOIN area c ON c.id = g.parent_id
    LEFT JOIN area s ON s.id = c.parent_id
    WHERE h.id = :h
    """
)


def household_by_code(session: Session, household_code: str) -> ResidentHousehold:
    row = session.execute(
        text("SELECT id FROM household WHERE code = :c"), {"c": household_code}
    ).scalar_one_or_none()
    if row is None:
        raise InvalidInput(f"no household has the code {household_code}", parameter="household")
    return _household(session, int(row), None)


def _household(session: Session, household_id: int, resident_id: int | None) -> ResidentHousehold:
    row = session.execute(_HOUSEHOLD_SQL, {"h": household_id}).one()
    return ResidentHousehold(
        household_id=row.household_id,
        household_code=row.household_code,
        address=row.address,
        grid_code=row.grid_code,
        community_code=row.community_code,
        street_code=row.street_code,
        district_code=row.district_code,
        resident_id=resident_id,
    )


def resident_household(session: Session, user_id: int | None) -> ResidentHousehold | None:
    """The household of a resident's account (None for any other account): the one place the
    resident features (petitions, notices, services …) learn whose household is asking."""
    if user_id is None:
        return None
    user = session.execute(
        select(AppUser.household_id, AppUser.resident_id).where(
            AppUser.id == user_id, AppUser.role == RESIDENT_ROLE
        )
    ).one_or_none()
    if user is None or user.household_id is None:
        return None
    return _household(session, user.household_id, user.resident_id)


def create_resident_account(
    session: Session,
    username: str,
    password: str,
    household_code: str,
    *,
    resident_id: int | None = None,
    demo: bool = False,
) -> Account:
    """A resident's account, created by staff (or by :func:`register_resident`): role
    ``resident``, tied to one household; its stored scope is the household's grid."""
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "a username has 3 to 64 characters: letters, digits, '_', '.', '-'",
            parameter="username",
        )
    household = household_by_code(session, household_code)
    if resident_id is not None:
        belongs = session.execute(
            text("SELECT 1 FROM resident WHERE id = :r AND household_id = :h"),
            {"r": resident_id, "h": household.household_id},
        ).first()
        if belongs is None:
            raise InvalidInput(
                f"resident {resident_id} is not a member of household {household_code}",
                parameter="resident_id",
            )
    return _insert_user(
        session,
        username,
        password,
        role=RESIDENT_ROLE,
        scope_code=household.grid_code or household.district_code,
        household_id=household.household_id,
        resident_id=resident_id,
        is_demo=demo,
    )


def register_resident(
    session: Session,
    phone: str,
    code: str,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
) -> Account | None:
    """Self-registration: a code sent to a phone on a resident record proves the caller is that
    resident; his account joins his household (gis/phone_codes.py checks the code).

    Returns None for a wrong code: the try is counted and the caller must commit it (and answer
    400) rather than raise, or the count would roll back with the request.
    """
    from gis import phone_codes  # the verification owns its table; accounts own the account

    if not phone_codes.check(session, phone, code, now=now):
        return None
    found = session.execute(
        text(
            "SELECT r.id, h.code FROM resident r JOIN household h ON h.id = r.household_id"
            " WHERE r.phone = :p ORDER BY r.id LIMIT 1"
        ),
        {"p": phone},
    ).one_or_none()
    if found is None:  # the code was only sent to a known phone; the record went since
        raise InvalidInput("no resident record has this phone", parameter="phone")
    taken = session.execute(
        select(AppUser.id).where(AppUser.resident_id == found.id)
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict("this resident already has an account", parameter="phone")
    return create_resident_account(session, username, password, found.code, resident_id=found.id)


def resident_accounts(session: Session, household_id: int) -> list[Account]:
    users = session.scalars(
        select(AppUser).where(AppUser.household_id == household_id).order_by(AppUser.username)
    ).all()
    return [_account(u) for u in users]
