"""The real ``gridgov user`` and ``gridgov export --as`` commands (issue 14, finding 6).

Passwords never go on the command line (a prompt, or ``--password-stdin``), the password policy
applies, a new password ends the account's sessions, and a command run as an account records the
operating-system user who really ran it.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gis import accounts, audit
from gis.settings import normalise_database_url
from tests.e2e.cli_helpers import demo_cli_database, gridgov

STRONG = "quartz-lantern-meadow-42"
NEW = "ember-fjord-cobalt-7"


@pytest.fixture(scope="module")
def cli_db(server_url: str) -> Iterator[str]:
    with demo_cli_database(server_url, "authcli") as url:
        yield url


def _grid(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT g.code FROM area g WHERE g.level = 'grid' AND g.valid_to IS NULL"
            " AND EXISTS (SELECT 1 FROM building b JOIN household h ON h.building_id = b.id"
            "             WHERE b.grid_id = g.id) ORDER BY g.code LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


def _users(url: str, name: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM app_user WHERE username = %s", (name,)).fetchone()
    assert row is not None
    return int(row[0])


def test_passwords_come_from_stdin_never_argv_and_meet_the_policy(cli_db: str) -> None:
    grid = _grid(cli_db)
    add = ("user", "add", "cli_chief", "--role", "grid_chief", "--scope", grid)
    on_argv = gridgov(cli_db, *add, "--password", STRONG)
    assert on_argv.returncode == 2 and "--password" in on_argv.stderr
    assert _users(cli_db, "cli_chief") == 0
    weak = gridgov(cli_db, *add, "--password-stdin", stdin="12345678\n")
    assert weak.returncode == 1 and "password" in weak.stderr
    assert _users(cli_db, "cli_chief") == 0
    made = gridgov(cli_db, *add, "--password-stdin", stdin=STRONG + "\n")
    assert made.returncode == 0, made.stderr
    engine = create_engine(normalise_database_url(cli_db))
    try:
        with Session(engine) as session:
            account = accounts.authenticate(session, "cli_chief", STRONG)
            started = accounts.start_session(session, account, "api", timedelta(hours=1))
            session.commit()
        changed = gridgov(
            cli_db, "user", "passwd", "cli_chief", "--password-stdin", stdin="1qaz2wsx3edc\n"
        )
        assert changed.returncode == 1  # a keyboard walk is refused
        changed = gridgov(
            cli_db,
            "user",
            "passwd",
            "cli_chief",
            "--password-stdin",
            stdin=NEW + "\n",
        )
        assert changed.returncode == 0, changed.stderr
        with Session(engine) as session:
            with pytest.raises(accounts.AuthenticationFailed):
                accounts.session_account(session, started.id)  # the new password ended it
            assert accounts.authenticate(session, "cli_chief", NEW)
            session.rollback()
    finally:
        engine.dispose()


def test_export_as_an_account_records_the_real_operator(cli_db: str, tmp_path: Path) -> None:
    grid = _grid(cli_db)
    made = gridgov(
        cli_db,
        *("user", "add", "cli_worker", "--role", "grid_worker", "--scope", grid),
        "--password-stdin",
        stdin=STRONG + "\n",
    )
    assert made.returncode == 0, made.stderr
    out = tmp_path / "hh.csv"
    done = gridgov(
        cli_db,
        *("export", "households", "-f", "csv", "--as", "cli_worker"),
        *("--purpose", "入户走访", "-o", str(out)),
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(cli_db) as conn:
        rows = conn.execute(
            "SELECT username, role, detail->>'operator' FROM audit_log"
            " WHERE username = 'cli_worker' AND action = ANY(%s)",
            ([audit.EXPORT_UNMASKED, audit.EXPORT_MASKED],),
        ).fetchall()
    assert rows and all(
        (name, role, operator) == ("cli_worker", "grid_worker", f"cli:{getpass.getuser()}")
        for name, role, operator in rows
    )
