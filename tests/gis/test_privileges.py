"""The app's database role: neither superuser nor owner, with only the grants it needs.

Every test database is made as in production (tests/conftest.py): the URLs the fixtures hand
out (and ``pg_conn``) connect as the app role, and ``owner_url`` gives the owner that migrated it.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors

from gis.privileges import APPEND_ONLY_TABLES, READ_ONLY_TABLES
from tests.conftest import owner_url

AUDIT_ROW = (
    "INSERT INTO audit_log (username, role, action, target) "
    "VALUES ('tester', 'admin', 'household.read', 'household/1') RETURNING id"
)


def _fails(conn: psycopg.Connection, sql: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught, conn.transaction():
        conn.execute(sql)  # type: ignore[arg-type]
    return caught.value


def test_the_app_role_is_neither_superuser_nor_owner(pg_conn: psycopg.Connection) -> None:
    me, superuser, createrole, createdb, bypassrls = pg_conn.execute(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
        "FROM pg_roles WHERE rolname = current_user"
    ).fetchone()  # type: ignore[misc]
    assert (superuser, createrole, createdb, bypassrls) == (False, False, False, False)
    owned = pg_conn.execute(
        "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole"
    ).fetchone()
    assert owned == (0,)
    database_owner = pg_conn.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    ).fetchone()
    assert database_owner is not None and database_owner[0] != me


def test_the_app_cannot_rewrite_the_audit_log(
    pg_conn: psycopg.Connection, empty_database_url: str
) -> None:
    row = pg_conn.execute(AUDIT_ROW).fetchone()
    assert row is not None
    pg_conn.commit()
    audit_id = row[0]

    # The two ways a superuser could get past the append-only triggers, then the plain ones.
    bypass = _fails(pg_conn, "SET session_replication_role = replica")
    assert isinstance(bypass, errors.InsufficientPrivilege)
    disable = _fails(pg_conn, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
    assert isinstance(disable, errors.InsufficientPrivilege)
    assert "owner" in str(disable)
    disable_all = _fails(pg_conn, "ALTER TABLE audit_log DISABLE TRIGGER ALL")
    assert isinstance(disable_all, errors.InsufficientPrivilege)
    for statement in (
        f"UPDATE audit_log SET target = 'household/2' WHERE id = {audit_id}",
        f"DELETE FROM audit_log WHERE id = {audit_id}",
        "TRUNCATE audit_log",
        "DROP TABLE audit_log",
        "ALTER TABLE audit_log OWNER TO CURRENT_USER",
    ):
        assert isinstance(_fails(pg_conn, statement), errors.InsufficientPrivilege), statement

    assert pg_conn.execute(
        "SELECT target FROM audit_log WHERE id = %s", (audit_id,)
    ).fetchone() == ("household/1",)
    assert pg_conn.execute(
        "SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_log_no_update'"
    ).fetchone() == ("O",)
    pg_conn.rollback()
    # What the app role lacks is exactly what the owner has (the operations guide keeps it
    # for the administrator): here only to clean up.
    with psycopg.connect(owner_url(empty_database_url)) as owner:
        owner.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        owner.execute("DELETE FROM audit_log WHERE id = %s", (audit_id,))
        owner.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
        owner.commit()


def test_the_triggers_refuse_even_the_owner(empty_database_url: str) -> None:
    with psycopg.connect(owner_url(empty_database_url)) as owner:
        owner.execute(AUDIT_ROW)
        for statement in (
            "UPDATE audit_log SET purpose = 'nothing to see'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with (
                pytest.raises(errors.InsufficientPrivilege, match="append-only"),
                owner.transaction(),
            ):
                owner.execute(statement)  # type: ignore[arg-type]
        owner.rollback()


def test_the_app_reads_and_writes_tables_and_uses_sequences(
    pg_conn: psycopg.Connection,
) -> None:
    person = pg_conn.execute(
        "INSERT INTO person (name, district_code) VALUES ('张三', '620881') RETURNING id"
    ).fetchone()
    assert person is not None and person[0] > 0
    pg_conn.execute("UPDATE person SET title = '网格长' WHERE id = %s", (person[0],))
    pg_conn.execute("DELETE FROM person WHERE id = %s", (person[0],))
    # Functions of the schema, called as the app (the writers refresh statistics this way).
    assert pg_conn.execute("SELECT area_stats_refresh('620881001')").fetchone() == (0,)
    # The migration history is read (health), never written.
    assert pg_conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    denied = _fails(pg_conn, "UPDATE alembic_version SET version_num = 'x'")
    assert isinstance(denied, errors.InsufficientPrivilege)


def test_every_table_grants_the_app_exactly_its_privileges(
    pg_conn: psycopg.Connection,
) -> None:
    rows = pg_conn.execute(
        "SELECT c.relname, "
        "has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'), "
        "has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE'), "
        "has_table_privilege(c.oid, 'TRUNCATE'), has_table_privilege(c.oid, 'TRIGGER') "
        "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        "AND c.relname <> 'spatial_ref_sys'"
    ).fetchall()
    assert len(rows) > 30
    for table, select, insert, update, delete, truncate, trigger in rows:
        if table in APPEND_ONLY_TABLES:
            expected = (True, True, False, False)
        elif table in READ_ONLY_TABLES:
            expected = (True, False, False, False)
        else:
            expected = (True, True, True, True)
        assert (select, insert, update, delete) == expected, table
        assert (truncate, trigger) == (False, False), table


def test_tables_the_owner_adds_later_are_granted_by_default(empty_database_url: str) -> None:
    table = f"later_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(owner_url(empty_database_url), autocommit=True) as owner:
        owner.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, note text)")  # type: ignore[arg-type]
    try:
        with psycopg.connect(empty_database_url) as app:
            row = app.execute(
                f"INSERT INTO {table} (note) VALUES ('新表') RETURNING id"  # type: ignore[arg-type]
            ).fetchone()
            assert row == (1,)
            app.rollback()
    finally:
        with psycopg.connect(owner_url(empty_database_url), autocommit=True) as owner:
            owner.execute(f"DROP TABLE {table}")  # type: ignore[arg-type]


def test_bulk_loads_need_the_owner(pg_conn: psycopg.Connection) -> None:
    # Why `gridgov demo` and `gridgov import` connect as the owner (docs/operations.md): the
    # loader moves sequences past the rows it copied, which the app role may not do.
    from data.demo import load_demo

    with pytest.raises(errors.InsufficientPrivilege, match="sequence"):
        load_demo(pg_conn, households=400)
