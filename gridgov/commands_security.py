"""``gridgov user …``, ``gridgov apikey …`` and ``gridgov audit``: accounts, API keys, audit log.

Registered by ``gridgov/cli.py`` (``register(app)``). Every change made here is itself written
to the audit log under the operating-system user who ran the command. Passwords are read from a
hidden prompt or, for scripts, from standard input (``--password-stdin``) — never from the command
line, where ``ps`` and the shell history would show them.
"""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gis.errors import GridgovError
from gis.scope import ROLES, Viewer

console = Console()
err = Console(stderr=True)
user_app = typer.Typer(help="Accounts: a role and an area scope each.", no_args_is_help=True)
apikey_app = typer.Typer(
    help="API keys for programs writing to public surfaces (Open311 POST).", no_args_is_help=True
)


def operator_name() -> str:
    """The operating-system user running the command, as the audit log names it."""
    return f"cli:{getpass.getuser()}"


def _operator() -> Viewer:
    return Viewer(username=operator_name(), role="cli", scope_code=None)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (one line) instead of a prompt",
    ),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise _fail("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    entered: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return entered


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="3-64 letters, digits, '_', '.', '-'")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")],
    scope: Annotated[str, typer.Option(help="Area code whose subtree the account sees")],
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Create an account (the password is prompted for, hidden, unless --password-stdin)."""
    from gis import accounts, audit
    from gis.db import session_scope

    secret = _password(password_stdin)
    try:
        with session_scope() as session:
            account = accounts.create_user(session, username, secret, role, scope)
            audit.record(
                session,
                _operator(),
                audit.ACCOUNT_CHANGE,
                f"user:{username}",
                detail={"change": "add", "role": role, "scope": scope},
            )
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"created {account.username} ({account.role}, scope {account.scope_code})")


@user_app.command("passwd")
def user_passwd(
    username: str,
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Set a new password (also unlocks the account and ends its sessions)."""
    from gis import accounts, audit
    from gis.db import session_scope

    secret = _password(password_stdin)
    try:
        with session_scope() as session:
            accounts.set_password(session, username, secret)
            audit.record(
                session,
                _operator(),
                audit.ACCOUNT_CHANGE,
                f"user:{username}",
                detail={"change": "passwd"},
            )
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"password of {username} changed")


@user_app.command("disable")
def user_disable(
    username: str,
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead")] = False,
) -> None:
    """Disable an account (its tokens and sessions stop working at once)."""
    from gis import accounts, audit
    from gis.db import session_scope

    try:
        with session_scope() as session:
            accounts.set_active(session, username, enable)
            audit.record(
                session,
                _operator(),
                audit.ACCOUNT_CHANGE,
                f"user:{username}",
                detail={"change": "enable" if enable else "disable"},
            )
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"{username} {'enabled' if enable else 'disabled'}")


@user_app.command("list")
def user_list() -> None:
    """List accounts with role, scope and state."""
    from gis import accounts
    from gis.db import session_scope

    with session_scope() as session:
        users = accounts.list_users(session)
    table = Table("username", "role", "scope", "state", "failed", "demo")
    for u in users:
        state = "disabled" if not u.is_active else ("locked" if u.locked() else "active")
        table.add_row(
            u.username,
            u.role,
            u.scope_code,
            state,
            str(u.failed_logins),
            "yes" if u.is_demo else "",
        )
    console.print(table)


@user_app.command("demo")
def user_demo() -> None:
    """Create one demo account per role (password from GRIDGOV_DEMO_PASSWORD or generated)."""
    import psycopg

    from gis.accounts import ensure_demo_accounts
    from gis.db import database_url
    from gis.settings import get_settings, libpq_url

    settings = get_settings()
    if settings.environment == "production":
        raise _fail("demo accounts are refused in production")
    try:
        with psycopg.connect(libpq_url(database_url())) as conn:
            created, generated = ensure_demo_accounts(conn, settings.demo_password)
            conn.commit()
    except GridgovError as exc:
        raise _fail(f"GRIDGOV_DEMO_PASSWORD: {exc.detail}") from exc
    print_demo_accounts(created, generated)


def print_demo_accounts(created: list[tuple[str, str, str]], generated: str | None) -> None:
    """Print the demo accounts (and a generated password, once)."""
    if not created:
        console.print("no areas loaded: no demo accounts created")
        return
    table = Table("username", "role", "scope")
    for row in created:
        table.add_row(*row)
    console.print(table)
    if generated:
        console.print(
            f"demo password (shown once; set GRIDGOV_DEMO_PASSWORD to choose it): {generated}"
        )


@user_app.command("purge-demo")
def user_purge_demo() -> None:
    """Delete every demo account (production refuses to start while any exists)."""
    from gis import accounts, audit
    from gis.db import session_scope

    with session_scope() as session:
        names = accounts.purge_demo_accounts(session)
        for name in names:
            audit.record(
                session,
                _operator(),
                audit.ACCOUNT_CHANGE,
                f"user:{name}",
                detail={"change": "delete"},
            )
    console.print(f"deleted {len(names)} demo account(s)")


@apikey_app.command("add")
def apikey_add(
    name: str, contact: Annotated[str | None, typer.Option(help="Who runs the client")] = None
) -> None:
    """Register an API client and print its key once."""
    from gis import accounts, audit
    from gis.db import session_scope

    try:
        with session_scope() as session:
            _, key = accounts.create_api_client(session, name, contact)
            audit.record(
                session,
                _operator(),
                audit.API_CLIENT_CHANGE,
                f"api_client:{name}",
                detail={"change": "add"},
            )
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"api_key for {name} (shown once, store it now):")
    typer.echo(key)  # plain, never wrapped, so it can be copied or piped


@apikey_app.command("revoke")
def apikey_revoke(name: str) -> None:
    """Revoke an API client's key."""
    from gis import accounts, audit
    from gis.db import session_scope

    try:
        with session_scope() as session:
            accounts.revoke_api_client(session, name)
            audit.record(
                session,
                _operator(),
                audit.API_CLIENT_CHANGE,
                f"api_client:{name}",
                detail={"change": "revoke"},
            )
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"revoked {name}")


@apikey_app.command("list")
def apikey_list() -> None:
    """List API clients (key prefixes only)."""
    from gis import accounts
    from gis.db import session_scope

    with session_scope() as session:
        clients = accounts.list_api_clients(session)
        rows = [
            (
                c.name,
                c.key_prefix + "…",
                c.contact or "",
                "active" if c.is_active else "revoked",
                c.last_used_at.isoformat(timespec="seconds") if c.last_used_at else "",
            )
            for c in clients
        ]
    table = Table("name", "key", "contact", "state", "last used")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def audit_command(
    user: Annotated[str | None, typer.Option("--user", help="Only this username")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Only rows at or after this time (ISO 8601)")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. read.unmasked, auth.sign_in")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many rows")] = 100,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject",
            help="Who saw this person's data: an ID number, a mobile number or a subject name "
            "(resident:42, person:7, household:<code>, incident:<code>)",
        ),
    ] = None,
) -> None:
    """Show the audit log, newest first: who read or changed what, when and why."""
    from gis import audit
    from gis.db import session_scope

    with session_scope() as session:
        if subject is not None:
            try:
                found, rows = audit.who_saw(session, subject, limit=limit)
            except GridgovError as exc:
                raise _fail(exc.detail) from None
            if not found.found:
                raise _fail(f"no person or record matches {subject!r}")
            console.print(f"{subject}: {', '.join(found.keys)}")
        else:
            rows = audit.query(session, username=user, since=since, action=action, limit=limit)
    table = Table("at", "user", "role", "action", "target", "purpose", "client", "detail")
    for r in rows:
        table.add_row(
            r.at.isoformat(timespec="seconds"),
            r.username or "",
            r.role,
            r.action,
            r.target,
            r.purpose or "",
            r.client or "",
            ", ".join(f"{k}={v}" for k, v in r.detail.items()),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(apikey_app, name="apikey")
    app.command("audit")(audit_command)
