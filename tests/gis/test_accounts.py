"""Accounts, lock-out, demo accounts, API keys and the append-only audit log on real PostGIS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis import accounts, audit
from gis.errors import Conflict, InvalidInput, NotFound
from gis.scope import ROLES, Viewer


@pytest.fixture
def grid_code(db_session: Session) -> str:
    return (
        db_session.execute(
            text("SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY code")
        )
        .scalars()
        .first()
    )


def test_create_user_stores_an_argon2id_hash_and_checks_input(
    db_session: Session, grid_code: str
) -> None:
    account = accounts.create_user(
        db_session, "wang.wu", "s3cret-lantern-orchid", "grid_worker", grid_code
    )
    stored = db_session.execute(
        text("SELECT password_hash, role, scope_code FROM app_user WHERE id = :i"),
        {"i": account.id},
    ).one()
    assert stored.password_hash.startswith("$argon2id$") and "s3cret" not in stored.password_hash
    assert (stored.role, stored.scope_code) == ("grid_worker", grid_code)
    with pytest.raises(Conflict):
        accounts.create_user(db_session, "wang.wu", "another-basalt-meadow", "planner", grid_code)
    bad = [
        ("x", "long-enough", "planner", grid_code, "username"),
        ("zhao", "short", "planner", grid_code, "password"),
        ("zhao", "long-enough", "emperor", grid_code, "role"),
        ("zhao", "long-enough", "planner", "620881999999999", "scope"),
        ("zhao", "long-enough", "planner", "62088'--", "scope"),
    ]
    for username, password, role, scope, parameter in bad:
        with pytest.raises(InvalidInput) as info:
            accounts.create_user(db_session, username, password, role, scope)
        assert info.value.parameter == parameter


def test_authenticate_locks_with_doubling_delays_and_resets(
    db_session: Session, grid_code: str
) -> None:
    accounts.create_user(db_session, "chen", "right-orchid-lantern", "grid_chief", grid_code)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    locks = []
    for attempt in range(5):
        moment = now + timedelta(hours=attempt)  # each attempt after the previous lock ends
        with pytest.raises(accounts.AuthenticationFailed) as info:
            accounts.authenticate(db_session, "chen", "wrong", now=moment)
        locks.append(None if info.value.locked_until is None else info.value.locked_until - moment)
    assert locks == [None, None, *(timedelta(seconds=s) for s in (5, 10, 20))]
    locked_at = now + timedelta(hours=4)
    with pytest.raises(accounts.AuthenticationFailed):  # right password, but still locked
        accounts.authenticate(db_session, "chen", "right-orchid-lantern", now=locked_at)
    account = accounts.authenticate(
        db_session, "chen", "right-orchid-lantern", now=locked_at + timedelta(minutes=1)
    )
    assert (account.failed_logins, account.locked_until) == (0, None)
    assert accounts.lock_delay(40) == accounts.MAX_LOCK


def test_disabled_accounts_and_unknown_users_fail_the_same_way(
    db_session: Session, grid_code: str
) -> None:
    account = accounts.create_user(db_session, "sun", "right-orchid-lantern", "planner", grid_code)
    started = accounts.start_session(db_session, account, "api", timedelta(hours=1))
    assert accounts.session_account(db_session, started.id).username == "sun"
    accounts.set_active(db_session, "sun", False)
    for username in ("sun", "nobody-here"):
        with pytest.raises(accounts.AuthenticationFailed) as info:
            accounts.authenticate(db_session, username, "right-orchid-lantern")
        assert str(info.value) == "wrong username or password, or the account is locked"
    with pytest.raises(accounts.AuthenticationFailed):
        accounts.session_account(db_session, started.id)
    accounts.set_active(db_session, "sun", True)
    # Disabling revoked the session: re-enabling the account does not bring it back.
    with pytest.raises(accounts.AuthenticationFailed):
        accounts.session_account(db_session, started.id)
    again = accounts.start_session(db_session, account, "api", timedelta(hours=1))
    assert accounts.session_account(db_session, again.id).username == "sun"
    with pytest.raises(NotFound):
        accounts.set_active(db_session, "nobody-here", True)


def test_set_password_changes_the_credential_and_unlocks(
    db_session: Session, grid_code: str
) -> None:
    # Other tests may have committed accounts (the browser tests sign in): compare with those.
    existing = {a.username for a in accounts.list_users(db_session)}
    before = accounts.create_user(db_session, "zhou", "first-orchid-lantern", "planner", grid_code)
    db_session.execute(
        text("UPDATE app_user SET failed_logins = 9, locked_until = now() + interval '1 h'")
    )
    after = accounts.set_password(db_session, "zhou", "second-basalt-meadow")
    assert after.credential_tag != before.credential_tag
    assert (after.failed_logins, after.locked_until) == (0, None)
    assert accounts.authenticate(db_session, "zhou", "second-basalt-meadow").username == "zhou"
    assert {a.username for a in accounts.list_users(db_session)} == existing | {"zhou"}


@pytest.fixture
def demo_conn(demo_database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(demo_database_url) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


def test_demo_accounts_one_per_role_nested_scopes(demo_conn: psycopg.Connection) -> None:
    # Start from a database without demo accounts (rolled back afterwards): browser tests may
    # have committed some to sign in with.
    demo_conn.execute("DELETE FROM app_user WHERE is_demo")
    created, generated = accounts.ensure_demo_accounts(demo_conn, None)
    assert generated is not None and len(generated) >= 12
    assert sorted(role for _, role, _ in created) == sorted(ROLES)
    rows = demo_conn.execute(
        "SELECT u.username, u.role, u.scope_code, a.level FROM app_user u"
        " JOIN area a ON a.code = u.scope_code AND a.valid_to IS NULL WHERE u.is_demo"
    ).fetchall()
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(created)
    scope = {role: code for _, role, code in created}
    level = {r[1]: r[3] for r in rows}
    assert level["grid_chief"] == "grid" and level["street_secretary"] == "street"
    assert scope["grid_chief"].startswith(scope["community_secretary"])
    assert scope["community_secretary"].startswith(scope["street_secretary"][:9])
    assert scope["street_secretary"].startswith(scope["district_secretary"])
    hashes = demo_conn.execute("SELECT DISTINCT password_hash FROM app_user WHERE is_demo")
    (stored,) = hashes.fetchone()  # type: ignore[misc]
    assert accounts._hasher.verify(generated, stored)

    again, none = accounts.ensure_demo_accounts(demo_conn, None)
    assert none is None and again == created  # nothing new, the old password stays
    _, fixed = accounts.ensure_demo_accounts(demo_conn, "chosen-demo-password")
    assert fixed is None
    (new_hash,) = demo_conn.execute(
        "SELECT password_hash FROM app_user WHERE username = 'demo_admin'"
    ).fetchone()  # type: ignore[misc]
    assert accounts._hasher.verify("chosen-demo-password", new_hash)


def test_no_demo_accounts_without_areas(pg_conn: psycopg.Connection) -> None:
    assert accounts.ensure_demo_accounts(pg_conn, "whatever-pass") == ([], None)


def test_api_keys_are_shown_once_and_stored_as_digests(db_session: Session) -> None:
    client, key = accounts.create_api_client(db_session, "wechat-app", "ops@example.cn")
    stored = db_session.execute(
        text("SELECT key_digest, key_prefix FROM api_client WHERE id = :i"), {"i": client.id}
    ).one()
    assert key not in stored.key_digest and key.startswith(stored.key_prefix)
    found = accounts.verify_api_key(db_session, key)
    assert found is not None and found.name == "wechat-app"
    last_used = db_session.execute(
        text("SELECT last_used_at FROM api_client WHERE id = :i"), {"i": client.id}
    ).scalar_one()
    assert last_used is not None
    for wrong in (None, "", key[:-1] + ("A" if key[-1] != "A" else "B"), "x" * 500):
        assert accounts.verify_api_key(db_session, wrong) is None
    accounts.revoke_api_client(db_session, "wechat-app")
    assert accounts.verify_api_key(db_session, key) is None
    # Other tests commit clients of their own into the shared database: look at ours only.
    listed = {c.name: c.is_active for c in accounts.list_api_clients(db_session)}
    assert listed["wechat-app"] is False


def test_api_client_name_is_a_read_only_lookup(db_session: Session) -> None:
    _, key = accounts.create_api_client(db_session, "read-only-app")
    assert accounts.api_client_name(db_session, key) == "read-only-app"
    last_used = db_session.execute(
        text("SELECT last_used_at FROM api_client WHERE name = 'read-only-app'")
    ).scalar_one()
    assert last_used is None  # no stamp, hence no row lock
    for wrong in (None, "", "gg_" + "x" * 40, "x" * 500):
        assert accounts.api_client_name(db_session, wrong) is None
    accounts.revoke_api_client(db_session, "read-only-app")
    assert accounts.api_client_name(db_session, key) is None


def test_demo_accounts_are_counted_and_purged(db_session: Session) -> None:
    db_session.execute(text("DELETE FROM app_user WHERE is_demo"))
    accounts.create_user(db_session, "kept-account", "a-long-password", "admin", "620881")
    db_session.execute(
        text(
            "INSERT INTO app_user (username, password_hash, role, scope_code, is_demo) VALUES "
            "('demo_x', 'h', 'admin', '620881', true), "
            "('demo_y', 'h', 'planner', '620881', true)"
        )
    )
    assert accounts.count_demo_accounts(db_session.connection()) == 2
    assert accounts.purge_demo_accounts(db_session) == ["demo_x", "demo_y"]
    assert accounts.count_demo_accounts(db_session.connection()) == 0
    assert accounts.get_account(db_session, "kept-account") is not None


# Account and API-key data may be touched only by gis/accounts.py (its models and migrations
# define the tables); everything else calls its functions.
_ACCOUNT_TABLE_SQL = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|regclass\(')\s*(?:app_user|api_client)\b", re.IGNORECASE
)
_ACCOUNT_MODELS = re.compile(r"\b(?:AppUser|ApiClient)\b")
_ACCOUNT_OWNERS = {"gis/accounts.py", "gis/models.py", "gis/models_security.py"}


def test_only_gis_accounts_touches_account_tables() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for package in ("api", "web", "gridgov", "data", "gis"):
        for path in sorted((root / package).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.suffix not in {".py", ".sql"} or relative in _ACCOUNT_OWNERS:
                continue
            if relative.startswith(("gis/migrations/", "gis/sql/00")):
                continue  # the schema itself
            source = path.read_text(encoding="utf-8")
            for pattern in (_ACCOUNT_TABLE_SQL, _ACCOUNT_MODELS):
                offenders += [f"{relative}: {m.group(0)}" for m in pattern.finditer(source)]
    assert offenders == [], "use gis.accounts instead of: " + "; ".join(offenders)


def test_audit_log_is_append_only(db_session: Session) -> None:
    viewer = Viewer("li", "grid_chief", "620881001001001", 1)
    audit.record_unmasked_read(
        db_session, viewer, "household:620881H000000001", purpose="走访", rows=3
    )
    rows = audit.query(db_session, username="li")
    assert [(r.action, r.target, r.purpose, r.detail, r.role) for r in rows] == [
        ("read.unmasked", "household:620881H000000001", "走访", {"rows": 3}, "grid_chief")
    ]
    assert audit.query(db_session, username="li", since=rows[0].at + timedelta(seconds=1)) == []
    for statement in (
        "UPDATE audit_log SET purpose = 'nothing to see'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        # The app role lacks the privilege; the triggers refuse even the owner, who has it
        # (tests/gis/test_privileges.py).
        savepoint = db_session.begin_nested()
        with pytest.raises(DBAPIError, match="permission denied"):
            db_session.execute(text(statement))
        savepoint.rollback()
    assert len(audit.query(db_session, username="li")) == 1
