"""Alembic environment, for ``gridgov migrate`` and for ``alembic`` with the repo's alembic.ini.

It connects as the owner of the tables: ``config.attributes["url"]`` (set by gis/migrate.py),
else ``GRIDGOV_MIGRATION_DATABASE_URL`` and its fallbacks (gis.db.migration_database_url).
After migrating it grants the app role (the user of the app's URL, or
``config.attributes["app_role"]``) what it needs (gis/privileges.py).
"""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, create_engine, make_url, pool, text

from gis.db import DatabaseNotConfigured, database_url, migration_database_url
from gis.models import Base
from gis.privileges import grant_app_privileges

config = context.config
if config.config_file_name is not None:  # the alembic command with alembic.ini
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = Base.metadata
log = logging.getLogger("alembic.env")


def _url() -> str:
    return str(config.attributes.get("url") or migration_database_url())


def _app_role() -> str | None:
    role = config.attributes.get("app_role")
    if role:
        return str(role)
    try:
        return make_url(database_url()).username
    except DatabaseNotConfigured:
        return None


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        transaction_per_migration=True,
        on_version_apply=config.attributes.get("on_version_apply"),
    )
    with context.begin_transaction():
        context.run_migrations()
    if config.attributes.get("grant", True):
        _grant(connection)


def _grant(connection: Connection) -> None:
    app_role = _app_role()
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    if not app_role or app_role == owner:
        log.warning(
            "the app connects as %s, the owner of the tables: set GRIDGOV_MIGRATION_DATABASE_URL "
            "to the owner's URL and GRIDGOV_DATABASE_URL to a role of its own "
            "(docs/operations.md)",
            owner,
        )
        return
    grant_app_privileges(connection, app_role)
    connection.commit()
    log.info("granted the app role %s its privileges", app_role)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
