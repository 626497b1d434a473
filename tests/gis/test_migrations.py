"""Migrations run up and down on a real PostGIS, and the models agree with the schema."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

import gis
from gis.incidents.holidays import shipped
from gis.migrate import (
    MIGRATIONS,
    current_heads,
    downgrade,
    plan_downgrade,
    script_head,
    script_heads,
    upgrade,
)
from gis.models import Base
from gis.settings import normalise_database_url
from tests.conftest import app_role, create_test_database, drop_test_database, owner_url

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"

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


def test_the_history_is_one_line() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert len(scripts.get_heads()) == 1, scripts.get_heads()
    assert script_heads() == {script_head()} == set(scripts.get_heads())
    # Every revision lies below the head: nothing hangs on a branch of its own.
    below_head = {rev.revision for rev in scripts.iterate_revisions(script_head(), "base")}
    assert below_head == {rev.revision for rev in scripts.walk_revisions()}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows} - {"spatial_ref_sys", "alembic_version"}


def test_up_down_up(scratch_url: str) -> None:
    owner = owner_url(scratch_url)
    assert current_heads(owner) == {script_head()}
    assert _tables(scratch_url) >= TABLES

    downgrade(owner, "base", app_role=app_role())
    assert current_heads(owner) == set()
    assert _tables(scratch_url) == set()

    upgrade(owner, app_role=app_role())
    assert current_heads(owner) == {script_head()}
    assert _tables(scratch_url) >= TABLES


def _run(
    command: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def test_plain_alembic_upgrades_from_the_repository_root(scratch_url: str) -> None:
    owner = owner_url(scratch_url)
    downgrade(owner, "base", app_role=app_role())
    env = {
        **os.environ,
        "GRIDGOV_MIGRATION_DATABASE_URL": owner,
        "GRIDGOV_DATABASE_URL": scratch_url,
    }
    done = _run([str(BIN / "alembic"), "upgrade", "head"], env)
    assert done.returncode == 0, done.stderr
    assert current_heads(owner) == {script_head()}
    assert "granted the app role" in done.stderr
    # The grants came with it: the app's URL reads and writes.
    with psycopg.connect(scratch_url) as conn:
        assert conn.execute("SELECT count(*) FROM area").fetchone() == (0,)
        conn.execute("INSERT INTO person (name, district_code) VALUES ('迁移测试', '620881')")
        conn.rollback()


def test_planning_a_downgrade_lists_what_it_undoes_and_changes_nothing(scratch_url: str) -> None:
    owner = owner_url(scratch_url)
    plan = plan_downgrade(owner, "0008_area_stats")
    # From the head down the one line to 0010 (later migrations sit between the two).
    revisions = [rev for rev, _ in plan.revisions]
    assert revisions[0] == script_head()
    assert revisions[-2:] == ["0011_one_line", "0010_building_stats"]
    assert plan.revisions[-1][1].startswith("Building statistics")
    assert sorted(plan.tables) == [
        ("activity_signup", 0),
        ("auth_session", 0),
        ("building_stats", 0),
        ("changeset_attachment", 0),
        ("dispute", 0),
        ("dispute_agreement", 0),
        ("dispute_followup", 0),
        ("dispute_party", 0),
        ("dispute_session", 0),
        ("dispute_transition", 0),
        ("household_visit", 0),
        ("incident_extension", 0),
        ("joint_agreement", 0),
        ("media", 0),
        ("notice", 0),
        ("notice_receipt", 0),
        ("notification", 0),
        ("notification_attempt", 0),
        ("notification_delivery", 0),
        ("org_meeting", 0),
        ("org_meeting_attendance", 0),
        ("party_care_record", 0),
        ("party_central_household", 0),
        ("party_central_household_served", 0),
        ("party_course", 0),
        ("party_learning_record", 0),
        ("party_member_away", 0),
        ("party_member_transfer", 0),
        ("patrol", 0),
        ("patrol_finding", 0),
        ("patrol_point", 0),
        ("petition", 0),
        ("petition_transition", 0),
        ("phone_verification", 0),
        ("points_ledger", 0),
        ("points_reward", 0),
        ("regional_committee_seat", 0),
        ("regional_resource", 0),
        ("regional_unit", 0),
        ("regional_unit_building", 0),
        ("resident_service", 6),  # the services catalogue the migration seeds
        ("service_application", 0),
        ("service_application_step", 0),
        ("sign_in_throttle", 0),
        ("volunteer_activity", 0),
        ("volunteer_team", 0),
    ]
    assert current_heads(owner) == {script_head()}
    assert "building_stats" in _tables(scratch_url)


def _gridgov(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRIDGOV_MIGRATION_DATABASE_URL": owner_url(url)}
    env["GRIDGOV_DATABASE_URL"] = url
    env["COLUMNS"] = "200"
    return _run([str(BIN / "gridgov"), *args], env, stdin)


def test_migrate_down_names_its_revision_says_what_it_drops_and_asks(scratch_url: str) -> None:
    owner = owner_url(scratch_url)
    with psycopg.connect(owner) as conn:
        # A day beside the shipped schedules (migration 0020 loads those).
        conn.execute("INSERT INTO holiday (day, name) VALUES ('2030-10-01', '国庆节')")
        conn.commit()

    missing = _gridgov(scratch_url, "migrate", "--down")
    assert missing.returncode == 2
    assert "requires an argument" in missing.stderr

    refused = _gridgov(scratch_url, "migrate", "--down", "0001_foundation", stdin="n\n")
    assert refused.returncode == 1
    # Every revision but the foundation (one migration per file).
    undone = len(list((ROOT / "gis" / "migrations" / "versions").glob("[0-9]*.py"))) - 1
    assert f"undoes {undone} revisions" in refused.stdout
    assert all(rev in refused.stdout for rev in (script_head(), "0002_security", "0004_incidents"))
    assert f"holiday ({len(shipped()) + 1} rows)" in refused.stdout
    assert "audit_log (0 rows)" in refused.stdout
    assert "  area (" not in refused.stdout  # 0001_foundation's tables stay
    assert current_heads(owner) == {script_head()}  # nothing was done
    assert "holiday" in _tables(scratch_url)

    done = _gridgov(scratch_url, "migrate", "--down", "0001_foundation", "--yes")
    assert done.returncode == 0, done.stderr
    assert current_heads(owner) == {"0001_foundation"}
    assert "holiday" not in _tables(scratch_url)
    assert "area" in _tables(scratch_url)

    again = _gridgov(scratch_url, "migrate")
    assert again.returncode == 0, again.stderr
    assert current_heads(owner) == {script_head()}


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
