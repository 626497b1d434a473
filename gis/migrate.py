"""Run Alembic migrations programmatically (``gridgov migrate``); ``alembic`` works too.

Migrations connect as the owner of the tables (:func:`gis.db.migration_database_url`) and end
by granting the app role what it needs (gis/privileges.py, called by gis/migrations/env.py).
The history is one line: :func:`script_head` is its single newest revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool, text

from gis.db import migration_database_url
from gis.settings import normalise_database_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None, app_role: str | None = None) -> Config:
    """Alembic's configuration without an alembic.ini.

    ``url`` defaults to the migration URL; ``app_role`` (default: the app URL's user) is the
    role gis/privileges.py grants to after migrating.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = normalise_database_url(url or migration_database_url())
    if app_role:
        config.attributes["app_role"] = app_role
    return config


def upgrade(url: str | None = None, revision: str = "head", app_role: str | None = None) -> None:
    """Migrate the database up to ``revision`` (the head by default), then grant the app role.

    At the head it also copies the holiday schedules this release ships for years the database
    has none of yet (:func:`gis.incidents.holidays.load_shipped`; idempotent).
    """
    command.upgrade(alembic_config(url, app_role), revision)
    if revision == "head":
        load_shipped_holidays(url)


def load_shipped_holidays(url: str | None = None) -> list[int]:
    """The shipped holiday years newly copied into the ``holiday`` table (as the owner)."""
    from gis.incidents.holidays import load_shipped

    engine = create_engine(
        normalise_database_url(url or migration_database_url()), poolclass=pool.NullPool
    )
    try:
        with engine.begin() as conn:
            return load_shipped(conn)
    finally:
        engine.dispose()


def downgrade(url: str | None, revision: str, app_role: str | None = None) -> None:
    """Migrate the database down to ``revision`` (``base`` empties it); no default on purpose."""
    command.downgrade(alembic_config(url, app_role), revision)


def current_heads(url: str | None = None) -> set[str]:
    """The revisions the database is at."""
    engine = create_engine(
        normalise_database_url(url or migration_database_url()), poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        heads = set(MigrationContext.configure(conn).get_current_heads())
    engine.dispose()
    return heads


@lru_cache(maxsize=1)
def _script_directory_heads() -> tuple[str, ...]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def script_heads() -> set[str]:
    """The newest revisions the code knows (read and compiled once per process)."""
    return set(_script_directory_heads())


def script_head() -> str:
    """The newest revision: the history is one line, so there is exactly one."""
    heads = _script_directory_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads, expected one: {heads}")
    return heads[0]


@dataclass
class DowngradePlan:
    """What migrating down to ``target`` would undo, found by doing it and rolling it back."""

    target: str
    revisions: list[tuple[str, str]] = field(default_factory=list)  # (revision, what it did)
    tables: list[tuple[str, int]] = field(default_factory=list)  # dropped, with their rows
    columns: list[str] = field(default_factory=list)  # "table.column" dropped from kept tables


def plan_downgrade(url: str | None, revision: str) -> DowngradePlan:
    """Run the downgrade to ``revision`` inside a transaction, note what it removes, roll back.

    PostgreSQL's DDL is transactional, so the plan is exact (it is what the downgrade does),
    and nothing changes. While it runs it holds the locks the downgrade takes.
    """
    plan = DowngradePlan(target=revision)

    def note(*, step: Any, **_: Any) -> None:
        for script in step.up_revisions:
            doc = (script.doc or "").strip().splitlines()
            plan.revisions.append((script.revision, doc[0] if doc else ""))

    engine = create_engine(
        normalise_database_url(url or migration_database_url()), poolclass=pool.NullPool
    )
    try:
        with engine.connect() as conn:
            try:  # all in the one transaction the connection begins here
                before = _columns(conn)
                config = alembic_config(url)
                config.attributes.update(connection=conn, grant=False, on_version_apply=note)
                command.downgrade(config, revision)
                after = _columns(conn)
            finally:
                conn.rollback()
            dropped = sorted(set(before) - set(after))
            plan.tables = [(table, _count(conn, table)) for table in dropped]
            plan.columns = sorted(
                f"{table}.{column}"
                for table in set(before) & set(after)
                for column in before[table] - after[table]
            )
            conn.rollback()
    finally:
        engine.dispose()
    return plan


def _columns(conn: Connection) -> dict[str, set[str]]:
    rows = conn.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name NOT IN ('spatial_ref_sys', "
            "'alembic_version', 'geometry_columns', 'geography_columns')"
        )
    ).all()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def _count(conn: Connection, table: str) -> int:
    quoted = conn.dialect.identifier_preparer.quote(table)
    return int(conn.execute(text(f"SELECT count(*) FROM {quoted}")).scalar_one())
