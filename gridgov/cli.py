"""The ``gridgov`` command line: the embedded database, migrations, the demo city, the server.

This package is the composition root: it may import gis, data, api and web; they never import it.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from gis.errors import GridgovError
from gis.pgcluster import ClusterError, EmbeddedCluster
from gis.settings import get_settings

app = typer.Typer(
    help="gridgov: geospatial grid governance (网格化治理) on PostGIS.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The embedded PostGIS cluster under $GRIDGOV_HOME/pg.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


def _cluster() -> EmbeddedCluster:
    settings = get_settings()
    return EmbeddedCluster(settings.home, settings.pg_bindir)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def _external_database() -> bool:
    if get_settings().database_url:
        console.print("GRIDGOV_DATABASE_URL is set: using that database, no embedded cluster.")
        return True
    return False


@db_app.command("start")
def db_start() -> None:
    """Create (first time) and start the embedded PostGIS cluster."""
    if _external_database():
        return
    try:
        state = _cluster().start()
    except ClusterError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"embedded PostGIS running on 127.0.0.1:{state.port} (pid {state.pid})")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    if _external_database():
        return
    try:
        stopped = _cluster().stop()
    except ClusterError as exc:
        raise _fail(str(exc)) from exc
    console.print("stopped" if stopped else "not running")


@db_app.command("destroy")
def db_destroy(
    yes: Annotated[bool, typer.Option("--yes", help="Really delete every table")] = False,
) -> None:
    """Stop the embedded cluster and delete it (its data directory, wherever it lives)."""
    if _external_database():
        return
    if not yes:
        raise _fail("this deletes the embedded database and everything in it; add --yes")
    try:
        _cluster().destroy()
    except ClusterError as exc:
        raise _fail(str(exc)) from exc
    console.print("embedded cluster deleted")


@db_app.command("status")
def db_status() -> None:
    """Say whether the embedded cluster runs; exit 3 when it does not."""
    if _external_database():
        return
    cluster = _cluster()
    if not cluster.initialised:
        console.print("not initialised (run `gridgov db start`)")
        raise typer.Exit(code=3)
    state = cluster.status()
    console.print(
        f"{'running' if state.running else 'stopped'}; port {state.port}; data {state.data_dir}"
    )
    if not state.running:
        raise typer.Exit(code=3)


@db_app.command("url")
def db_url(
    owner: Annotated[
        bool, typer.Option("--owner", help="The owner's URL, for migrations and bulk loads")
    ] = False,
) -> None:
    """Print the app's database URL (for psql, QGIS or GRIDGOV_DATABASE_URL elsewhere)."""
    from gis.db import DatabaseNotConfigured, database_url, migration_database_url
    from gis.settings import libpq_url

    try:
        typer.echo(libpq_url(migration_database_url() if owner else database_url()))
    except DatabaseNotConfigured as exc:
        raise _fail(str(exc)) from exc


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Revision to upgrade to")] = "head",
    down: Annotated[
        str | None,
        typer.Option(
            "--down",
            metavar="REVISION",
            help="Migrate down to REVISION (`base` empties the database); says what it drops",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Migrate down without asking first")
    ] = False,
) -> None:
    """Bring the schema up to date (Alembic, as the owner role), then grant the app role."""
    from alembic.util import CommandError
    from sqlalchemy.exc import DBAPIError

    from gis import migrate as migrations
    from gis.db import DatabaseNotConfigured

    try:
        if down is not None:
            _migrate_down(down, yes)
        else:
            migrations.upgrade(revision=revision)
        heads = migrations.current_heads()
    except (CommandError, DatabaseNotConfigured) as exc:
        raise _fail(str(exc)) from exc
    except DBAPIError as exc:  # e.g. the app role named by GRIDGOV_DATABASE_URL does not exist
        raise _fail(str(exc.orig).strip()) from exc
    console.print(f"schema at {', '.join(sorted(heads)) or 'base'}")
    if down is None and revision == "head":
        from gridgov.commands_calendar import warn_missing_years

        warn_missing_years()


def _migrate_down(revision: str, yes: bool) -> None:
    from gis import migrate as migrations

    plan = migrations.plan_downgrade(None, revision)
    if not plan.revisions:
        console.print(f"already at {revision}: nothing to undo")
        return
    undone = f"{len(plan.revisions)} revision{'s' if len(plan.revisions) != 1 else ''}"
    console.print(f"Migrating down to [bold]{revision}[/] undoes {undone}:")
    for name, doc in plan.revisions:
        console.print(f"  {name}  {doc}")
    if plan.tables:
        count = f"{len(plan.tables)} table{'s' if len(plan.tables) != 1 else ''}"
        console.print(f"and [bold red]drops {count}[/] with their rows:")
        for table, rows in plan.tables:
            console.print(f"  {table} ({rows:,} rows)")
    if plan.columns:
        console.print(f"and drops the columns {', '.join(plan.columns)}")
    if not yes:
        typer.confirm("Go ahead?", abort=True, err=True)
    migrations.downgrade(None, revision)


@app.command()
def demo(
    households: Annotated[
        int | None, typer.Option(min=400, help="Households in the generated city")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same city)")] = None,
) -> None:
    """Load the demo city 华亭市 once (later calls do nothing) and its demo accounts."""
    import psycopg

    from data.demo import DEFAULT_HOUSEHOLDS, DEFAULT_SEED, load_demo
    from data.fieldwork import load_demo_fieldwork
    from gis.accounts import ensure_demo_accounts
    from gridgov.commands_security import print_demo_accounts

    settings = get_settings()
    if settings.environment == "production":
        raise _fail("the demo city and its accounts are refused in production")
    from gis.db import migration_database_url
    from gis.settings import libpq_url

    started = time.monotonic()
    # As the owner: the bulk load moves sequences (setval) and ANALYZEs the fresh tables,
    # which the app role may not do.
    with (
        psycopg.connect(libpq_url(migration_database_url())) as conn,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            counts = load_demo(
                conn,
                households=DEFAULT_HOUSEHOLDS if households is None else households,
                seed=DEFAULT_SEED if seed is None else seed,
                progress=report,
            )
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        conn.commit()
        # Accounts also for a city loaded before accounts existed; existing ones are kept.
        try:
            accounts, generated = ensure_demo_accounts(conn, settings.demo_password)
        except GridgovError as exc:
            raise _fail(f"GRIDGOV_DEMO_PASSWORD: {exc.detail}") from exc
        # The demo grid's patrols, visits and finding photos are its demo accounts' (once).
        fieldwork = load_demo_fieldwork(conn)
        conn.commit()
    if any(fieldwork.values()):
        console.print("demo field work: " + ", ".join(f"{t} {n:,}" for t, n in fieldwork.items()))
    if counts is None:
        console.print("the demo city is already loaded; nothing to do")
    else:
        summary = ", ".join(f"{table} {n:,}" for table, n in counts.items())
        console.print(f"demo city loaded in {time.monotonic() - started:.1f}s: {summary}")
    if generated or counts is not None:
        print_demo_accounts(accounts, generated)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (GRIDGOV_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (GRIDGOV_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (GRIDGOV_WORKERS)")] = None,
) -> None:
    """Serve the API and the map pages."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        proxy_headers=True,
        log_level="info",
    )


def _register_command_modules() -> None:
    """Let every ``gridgov/commands_*.py`` add its commands (``register(app)``).

    Features own their commands (users, audit, import, export) without editing this file.
    """
    import gridgov

    for info in sorted(pkgutil.iter_modules(gridgov.__path__), key=lambda m: m.name):
        if info.name.startswith("commands_"):
            module = importlib.import_module(f"gridgov.{info.name}")
            module.register(app)


_register_command_modules()

if __name__ == "__main__":
    app()
