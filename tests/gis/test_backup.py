"""Encrypted backups and their restore (gis/backup.py, ``gridgov backup`` / ``gridgov restore``).

The drill does what an operator does, with the real commands: make a key, back up the demo
database, restore it into a fresh database, and check the copy table by table, its PostGIS, its
triggers, and the app serving from it. The other tests attack the file: wrong key, changed bytes,
truncation, loose permissions, and a restore over a database that holds data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from gis.backup import (
    BACKUP_SUFFIX,
    BackupError,
    BackupKey,
    DamagedBackup,
    RefusedOverwrite,
    WrongKey,
    backup_file_name,
    create_backup,
    generate_key_file,
    load_key,
    prune_backups,
    restore_backup,
    table_row_counts,
    user_tables,
    verify_backup,
    with_database,
)
from tests.conftest import (
    TEST_DB_PREFIX,
    LiveServer,
    app_url,
    database_roles,
    drop_test_database,
    owner_url,
)

REPO = Path(__file__).resolve().parents[2]
HEADER_SIZE = 54


def _database_exists(server_url: str, name: str) -> bool:
    with psycopg.connect(with_database(server_url, "postgres")) as admin:
        return (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


def _scratch_name(suffix: str) -> str:
    # Named like the session's other test databases, so a killed run's leftovers are dropped.
    return f"{TEST_DB_PREFIX}{os.getpid()}_{suffix}"


@pytest.fixture
def scratch_db(server_url: str) -> Iterator[str]:
    """The URL of a database that does not exist yet; dropped afterwards if a test made it."""
    url = with_database(server_url, _scratch_name("restore"))
    drop_test_database(server_url, url)
    yield url
    drop_test_database(server_url, url)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> BackupKey:
    return generate_key_file(tmp_path_factory.mktemp("keys") / "backup.key")


@pytest.fixture(scope="module")
def small_backup(
    empty_database_url: str, key: BackupKey, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A backup of the migrated, empty database: quick to make and to restore."""
    path = tmp_path_factory.mktemp("backups") / backup_file_name("empty")
    create_backup(owner_url(empty_database_url), key, path)
    return path


# --- the drill ----------------------------------------------------------------------------------
def _gridgov(*args: str, database_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the real ``gridgov`` command line as an operator's cron job would, with umask 000."""
    env = {
        **os.environ,
        # As deployed: the app's role, and the owner's for migrations, backups and restores.
        "GRIDGOV_DATABASE_URL": database_url,
        "GRIDGOV_MIGRATION_DATABASE_URL": owner_url(database_url),
        "GRIDGOV_HOME": str(home),
    }
    env.pop("GRIDGOV_BACKUP_KEY_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "gridgov", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        # A careless umask, as cron may leave one: the files must still be private.
        preexec_fn=lambda: os.umask(0),
    )


def _catalogue(url: str) -> dict[str, list[tuple[str, ...]]]:
    """What a restore must bring back besides rows: triggers, indexes, functions, constraints."""
    with psycopg.connect(url) as conn:
        return {
            "triggers": conn.execute(
                "SELECT c.relname, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid)"
                " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal ORDER BY 1, 2"
            ).fetchall(),
            "indexes": conn.execute(
                "SELECT tablename, indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = 'public' ORDER BY 1, 2"
            ).fetchall(),
            "functions": conn.execute(
                "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p"
                " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid"
                " AND d.deptype = 'e') ORDER BY 1, 2"
            ).fetchall(),
            # Kind, not text: a restored CHECK's expression is deparsed with fewer parentheses.
            "constraints": conn.execute(
                "SELECT conrelid::regclass::text, conname, contype, convalidated"
                " FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
            ).fetchall(),
            "postgis": conn.execute("SELECT postgis_full_version()").fetchall(),
            "area_m2": conn.execute(
                "SELECT level, round(sum(ST_Area(geom::geography))) FROM area GROUP BY 1 ORDER BY 1"
            ).fetchall(),
        }


def test_restore_drill(
    demo_database_url: str, server_url: str, tmp_path: Path, scratch_db: str
) -> None:
    home = tmp_path / "home"
    key_file = tmp_path / "backup.key"
    made = _gridgov("backup", "keygen", str(key_file), database_url=demo_database_url, home=home)
    assert made.returncode == 0, made.stderr
    assert key_file.stat().st_mode & 0o777 == 0o600

    with psycopg.connect(demo_database_url) as conn:
        before = table_row_counts(conn)
    assert before["public.household"] > 0 and before["public.incident"] > 0

    backed_up = _gridgov(
        "backup", "--key-file", str(key_file), database_url=demo_database_url, home=home
    )
    assert backed_up.returncode == 0, backed_up.stderr
    (backup,) = (home / "backups").iterdir()
    assert backup.name.endswith(BACKUP_SUFFIX)
    assert backup.stat().st_mode & 0o777 == 0o600
    assert (home / "backups").stat().st_mode & 0o777 == 0o700
    # Encrypted at rest: no personal value of the source is in the file in clear.
    with psycopg.connect(demo_database_url) as conn:
        name, phone = conn.execute(
            "SELECT name, phone FROM resident WHERE phone IS NOT NULL LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    content = backup.read_bytes()
    # A plain custom-format dump starts with PGDMP and keeps its table of contents uncompressed.
    for clear in (b"PGDMP", b"CREATE TABLE", b"household", phone.encode(), name.encode()):
        assert clear not in content
    # The backup itself is in the source's audit log: it read every person's data.
    with psycopg.connect(demo_database_url) as conn:
        action, target = conn.execute(
            "SELECT action, target FROM audit_log ORDER BY id DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    assert (action, target) == ("backup.create", f"database:{demo_database_url.rpartition('/')[2]}")

    # On a server of one's own the owner may not create databases or PostGIS: the
    # administrator prepares the empty target (docs/operations.md).
    copy_name = scratch_db.rpartition("/")[2]
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{copy_name}" OWNER "{database_roles(server_url).owner}"')
    with psycopg.connect(scratch_db, autocommit=True) as admin:
        admin.execute("CREATE EXTENSION postgis")
    restored = _gridgov(
        "restore",
        str(backup),
        "--key-file",
        str(key_file),
        "--into",
        copy_name,
        database_url=demo_database_url,
        home=home,
    )
    assert restored.returncode == 0, restored.stderr
    assert f"into database {copy_name}" in restored.stdout

    # Every table has the rows it had at the backup; the copy's audit log has one more row:
    # the restore itself.
    with psycopg.connect(scratch_db) as conn:
        after = table_row_counts(conn)
    assert set(after) == set(before)
    assert {t: n for t, n in after.items() if t != "public.audit_log"} == {
        t: n for t, n in before.items() if t != "public.audit_log"
    }
    assert after["public.audit_log"] == before["public.audit_log"] + 1
    assert _catalogue(scratch_db) == _catalogue(demo_database_url)

    with psycopg.connect(scratch_db) as conn:
        assert conn.execute("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1").fetchone() == (
            "backup.restore",
        )
        # The append-only triggers came back and fire.
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("UPDATE audit_log SET purpose = 'rewritten'")
        conn.rollback()
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("TRUNCATE audit_log")
        conn.rollback()

    _app_serves_the_copy(scratch_db, demo_database_url)


def _app_serves_the_copy(copy_url: str, source_url: str) -> None:
    from gis.accounts import ensure_demo_accounts

    password = "drill-password-for-the-copy-123"
    with psycopg.connect(copy_url) as conn:
        ensure_demo_accounts(conn, password)
        conn.commit()
    with psycopg.connect(source_url) as conn:
        grid_code, grid_name = conn.execute(
            "SELECT code, name FROM area WHERE level = 'grid' AND valid_to IS NULL"
            " ORDER BY code LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        incident_id, incident_code, description, status, transitions = conn.execute(
            "SELECT i.id, i.code, i.description, i.status,"
            " (SELECT count(*) FROM incident_transition t WHERE t.incident_id = i.id)"
            " FROM incident i ORDER BY i.id DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    # As the app role: the restore brought no grants, so this works only if it re-applied them.
    server = LiveServer(app_url(copy_url))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            signed_in = client.post(
                "/api/v1/auth/token", data={"username": "demo_admin", "password": password}
            )
            assert signed_in.status_code == 200, signed_in.text
            auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
            area = client.get(f"/api/v1/areas/{grid_code}", headers=auth)
            assert area.status_code == 200, area.text
            assert (area.json()["code"], area.json()["name"]) == (grid_code, grid_name)
            incident = client.get(f"/api/v1/incidents/{incident_id}", headers=auth)
            assert incident.status_code == 200, incident.text
            body = incident.json()
            assert (body["code"], body["description"], body["status"]) == (
                incident_code,
                description,
                status,
            )
            assert len(body["history"]) == transitions
    finally:
        server.stop()


# --- attacks on the file ------------------------------------------------------------------------
def test_wrong_key_is_refused_before_anything_is_written(
    small_backup: Path, scratch_db: str, server_url: str, tmp_path: Path
) -> None:
    other = generate_key_file(tmp_path / "other.key")
    with pytest.raises(WrongKey, match="was encrypted with key") as raised:
        restore_backup(small_backup, other, scratch_db)
    assert other.key_id.hex() in raised.value.detail
    assert not _database_exists(server_url, scratch_db.rpartition("/")[2])


def _flip(path: Path, offset: int, target: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize("where", ["header salt", "manifest", "last byte of the dump"])
def test_changed_byte_fails_authentication(
    small_backup: Path, key: BackupKey, scratch_db: str, server_url: str, tmp_path: Path, where: str
) -> None:
    size = small_backup.stat().st_size
    offset = {"header salt": 30, "manifest": HEADER_SIZE + 10, "last byte of the dump": size - 1}[
        where
    ]
    tampered = _flip(small_backup, offset, tmp_path / "tampered.gridgov-backup")
    with pytest.raises(DamagedBackup, match="fails authentication"):
        verify_backup(tampered, key)
    with pytest.raises(DamagedBackup):
        restore_backup(tampered, key, scratch_db)
    assert not _database_exists(server_url, scratch_db.rpartition("/")[2])


def test_truncation_at_a_record_boundary_is_detected(
    small_backup: Path, key: BackupKey, tmp_path: Path
) -> None:
    data = small_backup.read_bytes()
    manifest_length = int.from_bytes(data[HEADER_SIZE : HEADER_SIZE + 4], "big")
    # Only the header and the manifest remain: every record that is left is whole and genuine.
    cut = tmp_path / "cut.gridgov-backup"
    cut.write_bytes(data[: HEADER_SIZE + 4 + manifest_length])
    with pytest.raises(DamagedBackup, match="fails authentication"):
        verify_backup(cut, key)
    # Extra bytes after the last record are refused as well.
    longer = tmp_path / "longer.gridgov-backup"
    longer.write_bytes(data + data[HEADER_SIZE : HEADER_SIZE + 40])
    with pytest.raises(DamagedBackup):
        verify_backup(longer, key)


def test_not_a_backup(tmp_path: Path, key: BackupKey) -> None:
    stranger = tmp_path / "x.gridgov-backup"
    stranger.write_bytes(b"PGDMP" + bytes(200))
    with pytest.raises(DamagedBackup, match="not a gridgov backup"):
        verify_backup(stranger, key)


# --- files and keys -----------------------------------------------------------------------------
def test_files_are_private_whatever_the_umask(
    empty_database_url: str, key: BackupKey, tmp_path: Path
) -> None:
    previous = os.umask(0)
    try:
        key_path = tmp_path / "k.key"
        generate_key_file(key_path)
        result = create_backup(owner_url(empty_database_url), key, tmp_path / "b.gridgov-backup")
    finally:
        os.umask(previous)
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert result.path.stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob(".*partial"))
    with pytest.raises(BackupError, match="never overwritten"):
        create_backup(owner_url(empty_database_url), key, result.path)
    with pytest.raises(BackupError, match="never overwritten"):
        generate_key_file(key_path)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    made = generate_key_file(path)
    assert load_key(path) == made
    path.chmod(0o644)
    with pytest.raises(BackupError, match="chmod 600"):
        load_key(path)
    path.chmod(0o600)
    path.write_text("not a key\n")
    with pytest.raises(BackupError, match="not a gridgov backup key file"):
        load_key(path)


def test_failed_backup_leaves_no_file(server_url: str, key: BackupKey, tmp_path: Path) -> None:
    missing = with_database(server_url, _scratch_name("no_such_database"))
    with pytest.raises(psycopg.OperationalError):
        create_backup(missing, key, tmp_path / "b.gridgov-backup")
    assert list(tmp_path.iterdir()) == []


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    names = [
        "gridgov-city-20261101T020000Z.gridgov-backup",
        "gridgov-city-20261102T020000Z.gridgov-backup",
        "gridgov-city-20261103T020000Z.gridgov-backup",
        "gridgov-other-20261101T020000Z.gridgov-backup",
        "notes.txt",
    ]
    for name in names:
        (tmp_path / name).write_text("x")
    deleted = prune_backups(tmp_path, "city", keep=2)
    assert [p.name for p in deleted] == [names[0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])


# --- restore over existing data -----------------------------------------------------------------
def test_restore_refuses_a_database_with_tables_unless_forced(
    small_backup: Path, key: BackupKey, scratch_db: str
) -> None:
    first = restore_backup(small_backup, key, scratch_db)
    assert first.row_counts == first.manifest["tables"]
    assert first.postgis_version == first.manifest["postgis_version"]
    with psycopg.connect(scratch_db) as conn:
        conn.execute("CREATE TABLE operator_notes (note text)")
        conn.execute("INSERT INTO operator_notes VALUES ('kept unless --force')")
        conn.commit()

    with pytest.raises(RefusedOverwrite, match="--force"):
        restore_backup(small_backup, key, scratch_db)
    with psycopg.connect(scratch_db) as conn:
        assert conn.execute("SELECT note FROM operator_notes").fetchall() == [
            ("kept unless --force",)
        ]

    forced = restore_backup(small_backup, key, scratch_db, force=True)
    assert forced.row_counts == forced.manifest["tables"]
    with psycopg.connect(scratch_db) as conn:
        assert conn.execute("SELECT to_regclass('operator_notes')").fetchone() == (None,)


def test_cli_reports_a_wrong_key_clearly(
    small_backup: Path, empty_database_url: str, tmp_path: Path, server_url: str
) -> None:
    other = tmp_path / "other.key"
    generate_key_file(other)
    name = _scratch_name("cli_wrong_key")
    result = _gridgov(
        "restore",
        str(small_backup),
        "--key-file",
        str(other),
        "--into",
        name,
        database_url=empty_database_url,
        home=tmp_path,
    )
    assert result.returncode == 1
    assert "was encrypted with key" in result.stderr and "nothing was restored" in result.stderr
    assert not _database_exists(server_url, name)


def test_file_changed_after_verification_commits_nothing(
    empty_database_url: str,
    key: BackupKey,
    scratch_db: str,
    server_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Swapped between the check and the restore: pg_restore is stopped before it commits."""
    import gis.backup

    # Small records, so pg_restore has run part of the archive when the bad record arrives.
    monkeypatch.setattr(gis.backup, "CHUNK_SIZE", 4096)
    original = create_backup(owner_url(empty_database_url), key, tmp_path / "small-records").path
    genuine = verify_backup(original, key)
    tampered = _flip(original, original.stat().st_size - 1, tmp_path / "swapped")
    monkeypatch.setattr(gis.backup, "verify_backup", lambda path, key: genuine)
    # An empty database made beforehand is kept on failure: what it holds shows what committed.
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{scratch_db.rpartition("/")[2]}"')
    with pytest.raises(DamagedBackup, match="fails authentication"):
        restore_backup(tampered, key, scratch_db)
    with psycopg.connect(scratch_db) as conn:
        assert user_tables(conn) == []


@pytest.fixture
def unprivileged_owner(server_url: str) -> Iterator[tuple[str, str]]:
    """A login role that is neither superuser nor allowed to create databases, as in production."""
    role = f"{TEST_DB_PREFIX}{os.getpid()}_owner"
    password = "owner-password-for-the-test"
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.execute(f"CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEDB PASSWORD '{password}'")
    yield role, password
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        for (name,) in admin.execute(
            "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = %s", (role,)
        ).fetchall():
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_restore_as_an_owner_that_is_not_a_superuser(
    small_backup: Path, key: BackupKey, scratch_db: str, unprivileged_owner: tuple[str, str]
) -> None:
    from sqlalchemy.engine import make_url

    role, password = unprivileged_owner
    as_owner = (
        make_url(scratch_db)
        .set(username=role, password=password)
        .render_as_string(hide_password=False)
    )
    # Alone it may neither create the database nor PostGIS: a clear refusal, nothing made.
    with pytest.raises(BackupError, match="may not create database"):
        restore_backup(small_backup, key, as_owner)

    # An administrator's connection creates both; everything restored belongs to the owner.
    result = restore_backup(small_backup, key, as_owner, admin_url=scratch_db)
    assert result.row_counts == result.manifest["tables"]
    assert result.postgis_version == result.manifest["postgis_version"]
    with psycopg.connect(scratch_db) as conn:
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'S', 'v')"
            " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid"
            " AND d.deptype = 'e')"
        ).fetchall()
        database_owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    assert owners == [(role,)]
    assert database_owner == (role,)
    # Replacing it needs a role that can make it again: refused before anything is dropped.
    with pytest.raises(BackupError, match="may not create database"):
        restore_backup(small_backup, key, as_owner, force=True)
    with psycopg.connect(scratch_db) as conn:
        assert len(user_tables(conn)) == len(result.manifest["tables"])
    # Restoring as another role into the owner's database is refused.
    with pytest.raises(BackupError, match=f"belongs to {role}"):
        restore_backup(small_backup, key, scratch_db)


@pytest.fixture
def custom_srs_backup(server_url: str, key: BackupKey, tmp_path: Path) -> Iterator[Path]:
    """A backup of a small database that added its own coordinate system to spatial_ref_sys."""
    url = with_database(server_url, _scratch_name("srs_source"))
    drop_test_database(server_url, url)
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{url.rpartition("/")[2]}"')
    try:
        with psycopg.connect(url) as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute(
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text)"
                " VALUES (990001, 'gridgov', 990001, '', '+proj=longlat +datum=WGS84 +no_defs')"
            )
            conn.execute("CREATE TABLE place (id int PRIMARY KEY, geom geometry(Point, 990001))")
            conn.execute(
                "INSERT INTO place VALUES (1, ST_SetSRID(ST_MakePoint(106.6, 35.2), 990001))"
            )
            conn.commit()
        yield create_backup(url, key, tmp_path / "srs.gridgov-backup").path
    finally:
        drop_test_database(server_url, url)


def test_rows_users_added_to_postgis_tables_come_back(
    custom_srs_backup: Path,
    key: BackupKey,
    scratch_db: str,
    server_url: str,
    unprivileged_owner: tuple[str, str],
) -> None:
    from sqlalchemy.engine import make_url

    role, password = unprivileged_owner
    as_owner = (
        make_url(scratch_db)
        .set(username=role, password=password)
        .render_as_string(hide_password=False)
    )
    assert verify_backup(custom_srs_backup, key)["extension_rows"] == {"public.spatial_ref_sys": 1}
    # Prepared by an administrator, restored by the owner alone: it may not write the row.
    name = scratch_db.rpartition("/")[2]
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
    with psycopg.connect(scratch_db, autocommit=True) as admin:
        admin.execute("CREATE EXTENSION postgis")
    with pytest.raises(BackupError, match=r"rows users added to public\.spatial_ref_sys"):
        restore_backup(custom_srs_backup, key, as_owner)
    with psycopg.connect(scratch_db) as conn:
        assert user_tables(conn) == []

    # With the administrator's connection the row comes back, and the grant is taken back.
    restore_backup(custom_srs_backup, key, as_owner, admin_url=scratch_db)
    with psycopg.connect(scratch_db) as conn:
        assert conn.execute(
            "SELECT ST_SRID(geom), proj4text FROM place JOIN spatial_ref_sys ON srid = 990001"
        ).fetchall() == [(990001, "+proj=longlat +datum=WGS84 +no_defs")]
        assert conn.execute(
            "SELECT has_table_privilege(%s, 'spatial_ref_sys', 'INSERT')", (role,)
        ).fetchone() == (False,)
