"""Accounts and API clients: create, change password, disable, list, authenticate, lock out.

Passwords are hashed with argon2id (pwdlib). Repeated failed sign-ins lock the account for a
delay that doubles with each further failure (:func:`lock_delay`), so online guessing slows to a
crawl while a user who mistypes twice is not bothered. API keys for the public write surfaces
(Open311) are random 256-bit tokens stored as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Connection, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput, NotFound
from gis.models import AppUser
from gis.models_security import ApiClient
from gis.scope import ROLES

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
SCOPE_RE = re.compile(r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
# Failures allowed before the account starts locking; then 5 s, 10 s, 20 s ... up to 15 min.
FREE_FAILURES = 2
BASE_LOCK = timedelta(seconds=5)
MAX_LOCK = timedelta(minutes=15)
API_KEY_PREFIX = "gg_"

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the username does not exist, so both paths cost one argon2 verify and
# response time does not reveal which usernames exist.
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

    def locked(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return self.locked_until is not None and self.locked_until > now


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
        credential_tag=hashlib.sha256(user.password_hash.encode()).hexdigest()[:16],
    )


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (checked for length first)."""
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            parameter="password",
        )


def lock_delay(failures: int) -> timedelta | None:
    """How long the account locks after its ``failures``-th consecutive failure.

    >>> [lock_delay(n) for n in (1, 2)]
    [None, None]
    >>> [int(lock_delay(n).total_seconds()) for n in (3, 4, 5, 12)]
    [5, 10, 20, 900]
    """
    if failures <= FREE_FAILURES:
        return None
    exponent = min(failures - FREE_FAILURES - 1, 20)
    return min(BASE_LOCK * (2**exponent), MAX_LOCK)


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
    _check_scope(session, scope_code)
    password_hash = hash_password(password)
    if session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
        raise Conflict(f"the username {username} is taken", parameter="username")
    user = AppUser(
        username=username,
        password_hash=password_hash,
        role=role,
        scope_code=scope_code,
        is_demo=demo,
    )
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
    """Set a new password; also clears failed sign-ins and any lock."""
    user = _user(session, username, for_update=True)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return _account(user)


def set_active(session: Session, username: str, active: bool) -> Account:
    """Disable (or re-enable) an account; a disabled account's tokens stop working at once."""
    user = _user(session, username, for_update=True)
    user.is_active = active
    session.flush()
    return _account(user)


def list_users(session: Session) -> list[Account]:
    users = session.scalars(select(AppUser).order_by(AppUser.username)).all()
    return [_account(u) for u in users]


def get_account(session: Session, username: str) -> Account | None:
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    return None if user is None else _account(user)


def authenticate(
    session: Session, username: str, password: str, *, now: datetime | None = None
) -> Account:
    """Check a password; count failures and lock the account as they repeat.

    The caller must commit even when this raises, so that the failure is counted.

    Raises
    ------
    AuthenticationFailed
        Unknown user, wrong password, disabled or locked account (indistinguishable).
    """
    now = now or datetime.now(UTC)
    user = None
    if USERNAME_RE.match(username) and len(password) <= MAX_PASSWORD_LENGTH:
        user = session.scalar(select(AppUser).where(AppUser.username == username).with_for_update())
    if user is None:
        _hasher.verify(password[:MAX_PASSWORD_LENGTH], _DUMMY_HASH)
        raise AuthenticationFailed()
    if user.locked_until is not None and user.locked_until > now:
        # While locked, the password is not even checked: guessing gains nothing.
        raise AuthenticationFailed(user.locked_until)
    valid, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not valid or not user.is_active:
        if valid is False:
            user.failed_logins += 1
            delay = lock_delay(user.failed_logins)
            user.locked_until = now + delay if delay else None
        session.flush()
        raise AuthenticationFailed(user.locked_until)
    user.failed_logins = 0
    user.locked_until = None
    if new_hash is not None:
        user.password_hash = new_hash
    session.flush()
    return _account(user)


def active_account(session: Session, username: str, *, now: datetime | None = None) -> Account:
    """The account behind a token, if it is still active and not locked; else raise."""
    account = get_account(session, username)
    if account is None or not account.is_active or account.locked(now):
        raise AuthenticationFailed(None if account is None else account.locked_until)
    return account


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
}


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
            cur.execute(
                "INSERT INTO app_user (username, password_hash, role, scope_code, is_demo)"
                " VALUES (%s, %s, %s, %s, true)",
                (username, password_hash, role, scope),
            )
    return wanted, generated


# --- API clients -----------------------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


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
