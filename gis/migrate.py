"""Run Alembic migrations programmatically (``gridgov migrate``), without an alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from gis.db import database_url
from gis.settings import normalise_database_url


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["url"] = normalise_database_url(url or database_url())
    return config


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Migrate the database up to ``revision`` (all heads by default)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate the database down to ``revision`` (empty by default)."""
    command.downgrade(alembic_config(url), revision)


def current_heads(url: str | None = None) -> set[str]:
    """The revisions the database is at."""
    engine = create_engine(normalise_database_url(url or database_url()), poolclass=pool.NullPool)
    with engine.connect() as conn:
        heads = set(MigrationContext.configure(conn).get_current_heads())
    engine.dispose()
    return heads


def script_heads() -> set[str]:
    """The newest revisions the code knows."""
    return set(ScriptDirectory.from_config(alembic_config("postgresql://unused/db")).get_heads())
