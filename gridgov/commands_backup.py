"""``gridgov backup …`` and ``gridgov restore``: encrypted dumps of the database, and their restore.

Registered by ``gridgov/cli.py`` (``register(app)``); the work is done by ``gis.backup``. The
schedule, key custody and point-in-time recovery are in docs/operations.md.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from gis.errors import GridgovError
from gis.scope import Viewer

# soft_wrap: file paths and key ids stay whole in cron logs, whatever the width.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
# Its help is the docstring of backup() below, which runs when no subcommand is given.
backup_app = typer.Typer(no_args_is_help=False, invoke_without_command=True)

# GRIDGOV_BACKUP_KEY_FILE is read by gis.settings (backup_key_file), the owner of configuration.
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="The backup key file (made by `gridgov backup keygen`); default "
        "$GRIDGOV_BACKUP_KEY_FILE",
    ),
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def _private_files() -> None:
    # Dumps hold every resident's personal data: nothing this process creates may be readable
    # by group or others, whatever umask the shell or cron left us.
    os.umask(0o077)


def _key(key_file: Path | None) -> Any:
    from gis.backup import load_key
    from gis.settings import get_settings

    key_file = key_file or get_settings().backup_key_file
    if key_file is None:
        raise _fail("no backup key: pass --key-file or set GRIDGOV_BACKUP_KEY_FILE")
    return load_key(key_file)


def _owner_url() -> str:
    """Backups and restores connect as the owner of the tables, as migrations do.

    The app role may not read every sequence (pg_dump needs to) nor create tables.
    """
    from gis.db import DatabaseNotConfigured, migration_database_url

    try:
        return migration_database_url()
    except DatabaseNotConfigured as exc:
        raise _fail(str(exc)) from exc


def _app_role() -> str | None:
    from sqlalchemy.engine import make_url

    from gis.db import DatabaseNotConfigured, database_url

    try:
        return make_url(database_url()).username
    except DatabaseNotConfigured:
        return None


def _audit(url: str, action: str, target: str, detail: dict[str, Any]) -> None:
    """Record the operation in the audit log of the database at ``url``.

    A backup reads every person's data at once, so it is traced like any other disclosure.
    """
    from sqlalchemy import create_engine, pool
    from sqlalchemy.orm import Session

    from gis import audit
    from gis.settings import normalise_database_url

    operator = Viewer(username=f"cli:{getpass.getuser()}", role="cli", scope_code=None)
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    try:
        with Session(engine) as session:
            audit.record(session, operator, action, target, detail=detail)
            session.commit()
    finally:
        engine.dispose()


def _rows(manifest: dict[str, Any]) -> int:
    return sum(int(n) for n in manifest["tables"].values())


@backup_app.callback()
def backup(
    ctx: typer.Context,
    key_file: KeyFileOption = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Directory for the backup (default $GRIDGOV_HOME/backups)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Exact file to write instead of a dated name")
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option(min=1, help="Then delete all but the N newest backups in the directory"),
    ] = None,
) -> None:
    """Back up the database into a new encrypted file only you can read (mode 0600).

    pg_dump custom format sealed with AES-256-GCM under your key file. Subcommands: `keygen`
    makes a key file, `verify` checks a backup without restoring it.
    """
    if ctx.invoked_subcommand is not None:
        return
    from gis import audit
    from gis.backup import (
        backup_file_name,
        create_backup,
        database_name,
        private_directory,
        prune_backups,
    )
    from gis.settings import get_settings

    _private_files()
    if out is not None and (directory is not None or keep is not None):
        raise _fail("--out names one file: it does not go with --dir or --keep")
    key = _key(key_file)
    url = _owner_url()
    database = database_name(url)
    try:
        if out is None:
            folder = private_directory(directory or get_settings().home / "backups")
            target = folder / backup_file_name(database)
        else:
            target = out
        result = create_backup(url, key, target)
        _audit(
            url,
            audit.BACKUP_CREATE,
            f"database:{database}",
            {"file": str(result.path), "key_id": key.key_id.hex(), "rows": _rows(result.manifest)},
        )
        pruned = prune_backups(target.parent, database, keep) if keep else []
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(
        f"backup written: {result.path} ({result.size / 1e6:.1f} MB, mode 0600, key "
        f"{key.key_id.hex()}); {len(result.manifest['tables'])} tables, "
        f"{_rows(result.manifest):,} rows, schema {result.manifest['schema_revision']}"
    )
    for path in pruned:
        console.print(f"deleted old backup {path}")


@backup_app.command("keygen")
def keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the new key file (mode 0600)")],
) -> None:
    """Create a new random backup key file; keep a copy offline, apart from the backups."""
    from gis.backup import generate_key_file

    _private_files()
    try:
        key = generate_key_file(path)
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(
        f"key {key.key_id.hex()} written to {path} (mode 0600). Without this file no backup "
        f"made with it can be restored: keep a copy offline. Use it with --key-file or "
        "GRIDGOV_BACKUP_KEY_FILE."
    )


@backup_app.command("verify")
def verify(
    path: Annotated[Path, typer.Argument(help="A backup file")],
    key_file: KeyFileOption = None,
) -> None:
    """Authenticate a whole backup file with the key and show what it holds. Writes nothing."""
    from gis.backup import verify_backup

    key = _key(key_file)
    try:
        manifest = verify_backup(path, key)
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(
        f"{path}: intact. Database {manifest['database']} at {manifest['created_at']}, "
        f"PostgreSQL {manifest['server_version']}, PostGIS {manifest['postgis_version']}, "
        f"schema {manifest['schema_revision']}; {len(manifest['tables'])} tables, "
        f"{_rows(manifest):,} rows"
    )


def restore(
    path: Annotated[Path, typer.Argument(help="A backup file made by `gridgov backup`")],
    key_file: KeyFileOption = None,
    into: Annotated[
        str | None,
        typer.Option(help="Restore into this database on the same server (created if missing)"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds tables")
    ] = False,
) -> None:
    """Restore a backup into the configured database, or a new one with --into.

    Runs as the database's owner. A wrong key or a damaged file is refused before anything is
    written; a database that holds tables is replaced only with --force.
    """
    from gis import audit
    from gis.backup import database_name, restore_backup, with_database
    from gis.migrate import script_heads
    from gis.pgcluster import EmbeddedCluster
    from gis.settings import get_settings

    _private_files()
    key = _key(key_file)
    url = _owner_url()
    target = with_database(url, into) if into else url
    settings = get_settings()
    # The embedded cluster's superuser creates the database and PostGIS; on your own server the
    # restoring role does, or an administrator has prepared the database (docs/operations.md).
    admin = (
        None if settings.database_url else EmbeddedCluster(settings.home).url(database_name(target))
    )
    try:
        result = restore_backup(
            path, key, target, force=force, admin_url=admin, app_role=_app_role()
        )
        _audit(
            target,
            audit.BACKUP_RESTORE,
            f"database:{result.database}",
            {
                "file": str(path),
                "backup_created_at": result.manifest["created_at"],
                "from_database": result.manifest["database"],
                "key_id": key.key_id.hex(),
            },
        )
    except GridgovError as exc:
        raise _fail(exc.detail) from exc
    console.print(
        f"restored {path} into database {result.database}: {len(result.row_counts)} tables, "
        f"{sum(result.row_counts.values()):,} rows (as in the backup), PostGIS "
        f"{result.postgis_version}, schema {result.schema_revision}"
    )
    heads = ",".join(sorted(script_heads()))
    if result.schema_revision != heads:
        console.print(
            f"the backup's schema ({result.schema_revision}) is not this version's ({heads}): "
            "run `gridgov migrate` against it before serving"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
    app.command("restore")(restore)
