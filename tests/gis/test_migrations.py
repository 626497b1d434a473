"""Migrations run up and down on a real PostGIS, and the models agree with the schema."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

import gis
from gis.migrate import current_heads, downgrade, script_heads, upgrade
from gis.models import Base
from gis.settings import normalise_database_url
from tests.conftest import create_test_database, drop_test_database

TABLES = {
    "person",
    "area",
    "grid_staff",
    "building",
    "household",
    "resident",
    "party_org",
    "party_member",
    "service_facility",
    "incident",
    "incident_transition",
    "app_user",
    "dataset_load",
}


def _import_all_models() -> None:
    """Models of later features live in their own modules of gis; load them all."""
    for info in pkgutil.walk_packages(gis.__path__, "gis."):
        if "migrations" not in info.name:
            importlib.import_module(info.name)


@pytest.fixture
def scratch_url(server_url: str) -> Iterator[str]:
    url = create_test_database(server_url, "migrations")
    yield url
    drop_test_database(server_url, url)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows} - {"spatial_ref_sys", "alembic_version"}


def test_up_down_up(scratch_url: str) -> None:
    assert current_heads(scratch_url) == script_heads()
    assert _tables(scratch_url) >= TABLES

    downgrade(scratch_url, "base")
    assert current_heads(scratch_url) == set()
    assert _tables(scratch_url) == set()

    upgrade(scratch_url)
    assert current_heads(scratch_url) == script_heads()
    assert _tables(scratch_url) >= TABLES


def test_models_match_the_migrated_schema(empty_database_url: str) -> None:
    _import_all_models()
    engine = create_engine(normalise_database_url(empty_database_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": alembic_helpers.include_object,
                "compare_type": True,
            },
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    # Indexes and unique constraints are the migration's business (partial and GiST indexes
    # have no model-level spelling); tables, columns and types must agree.
    relevant = [
        d
        for d in diff
        if not (
            isinstance(d, tuple)
            and d[0] in {"add_index", "remove_index", "add_constraint", "remove_constraint"}
        )
    ]
    assert relevant == []
