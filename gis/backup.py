"""Encrypted backups of gridgov's database, and their restore.

A backup is ``pg_dump --format=custom`` of one database, streamed through AES-256-GCM into a file
only its owner can read (mode 0600). The key is 32 random bytes in a key file the operator keeps
(``gridgov backup keygen``); without it a backup is unreadable, with a wrong one it is refused
before anything is written, and a changed, truncated or re-ordered file fails authentication.

File format, version 1 (all integers big-endian)::

    offset  size  field
    0       8     magic  b"GGBACKUP"
    8       1     format version (1)
    9       1     algorithm (1 = AES-256-GCM, HKDF-SHA256 file key, STREAM chunking)
    10      4     plaintext chunk size in bytes (1 MiB)
    14      8     key id: HKDF-SHA256(key, info="gridgov-backup v1 key id"), 8 bytes
    22      32    salt, random per file
    54      ...   records: u32 ciphertext length, then ciphertext (plaintext + 16-byte tag)

The file key is HKDF-SHA256(key, salt, info="gridgov-backup v1 file key"). Record *n* is
sealed with the nonce ``n`` (11 bytes) followed by one byte that is 1 on the last record and 0
otherwise (the STREAM construction, as in age and Tink), and the 54 header bytes as associated
data: so records cannot be altered, dropped, re-ordered, or cut off at a record boundary, and the
header cannot be swapped. Record 0 is the manifest (JSON: when, which database, the server and
PostGIS versions, the schema revision, the extensions, and the row count of every table, and of
the rows users added to the extensions' tables, taken in the very snapshot that was dumped); the
records after it, joined, are exactly the pg_dump archive.

Nothing here holds a whole dump in memory: pg_dump's output is sealed one chunk at a time, and a
restore authenticates the whole file first (so a damaged file writes nothing), then streams it
into ``pg_restore --single-transaction``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import struct
import subprocess
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
import psycopg.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.engine import make_url

from gis.errors import GridgovError
from gis.pgcluster import ClusterError, find_client_bindir
from gis.settings import get_settings, libpq_url, normalise_database_url

MAGIC = b"GGBACKUP"
FORMAT_VERSION = 1
ALGORITHM_AES256GCM_STREAM = 1
CHUNK_SIZE = 1 << 20
KEY_BYTES = 32
SALT_BYTES = 32
KEY_ID_BYTES = 8
TAG_BYTES = 16
_HEADER = struct.Struct(">8sBBI8s32s")
_RECORD_LENGTH = struct.Struct(">I")
BACKUP_SUFFIX = ".gridgov-backup"
# gridgov-<database>-<UTC time>.gridgov-backup: names sort by time, which retention relies on.
_BACKUP_NAME = re.compile(
    r"^gridgov-(?P<db>.+)-(?P<ts>\d{8}T\d{6}Z)" + re.escape(BACKUP_SUFFIX) + "$"
)
_KEY_FILE_TAG = "gridgov-backup-key-v1"
# pg_restore --list lines such as "2; 3079 16385 EXTENSION - postgis" and its COMMENT.
_EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ (EXTENSION - |COMMENT - EXTENSION )")
_TABLE_DATA_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")


class BackupError(GridgovError):
    """A backup or restore could not be done; ``detail`` says why and what to do."""

    title = "Backup or restore failed"


class WrongKey(BackupError):
    title = "Wrong backup key"


class DamagedBackup(BackupError):
    title = "Backup file damaged"


class RefusedOverwrite(BackupError):
    title = "Target database is not empty"


# -- keys ----------------------------------------------------------------------------------------
def _hkdf(key: bytes, salt: bytes | None, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)


@dataclass(frozen=True)
class BackupKey:
    """The operator's backup key (32 random bytes) and the id that names it in backup headers."""

    secret: bytes

    @property
    def key_id(self) -> bytes:
        return _hkdf(self.secret, None, b"gridgov-backup v1 key id", KEY_ID_BYTES)


def _create_private(path: Path) -> int:
    """Open a new file that only its owner can read, whatever the process umask is."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    os.fchmod(fd, 0o600)
    return fd


def generate_key_file(path: Path) -> BackupKey:
    """Write a new random key to ``path`` (mode 0600); never replaces an existing file."""
    key = BackupKey(os.urandom(KEY_BYTES))
    text = (
        f"# gridgov backup key, id {key.key_id.hex()}, created "
        f"{datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        "# Whoever holds this file can read every backup made with it; without it they cannot\n"
        "# be restored. Keep a copy offline, apart from the backups (docs/operations.md).\n"
        f"{_KEY_FILE_TAG}:{base64.urlsafe_b64encode(key.secret).decode()}\n"
    )
    try:
        fd = _create_private(path)
    except FileExistsError as exc:
        raise BackupError(f"{path} already exists; a key file is never overwritten") from exc
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return key


def load_key(path: Path) -> BackupKey:
    """Read a key file written by :func:`generate_key_file`.

    A key file that group or others may read is refused, as ssh refuses such private keys.
    """
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text()
    except OSError as exc:
        raise BackupError(f"cannot read the backup key file {path}: {exc.strerror}") from exc
    if mode & 0o077:
        raise BackupError(
            f"the backup key file {path} may be read by others (mode {mode:04o}); "
            f"run chmod 600 {path}"
        )
    for line in text.splitlines():
        tag, _, value = line.strip().partition(":")
        if tag == _KEY_FILE_TAG:
            try:
                secret = base64.urlsafe_b64decode(value.encode())
            except ValueError:
                break
            if len(secret) == KEY_BYTES:
                return BackupKey(secret)
            break
    raise BackupError(f"{path} is not a gridgov backup key file (make one: gridgov backup keygen)")


# -- sealing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Header:
    chunk_size: int
    key_id: bytes
    salt: bytes

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC,
            FORMAT_VERSION,
            ALGORITHM_AES256GCM_STREAM,
            self.chunk_size,
            self.key_id,
            self.salt,
        )

    @classmethod
    def read(cls, stream: IO[bytes], path: Path) -> _Header:
        raw = stream.read(_HEADER.size)
        if len(raw) < _HEADER.size or not raw.startswith(MAGIC):
            raise DamagedBackup(f"{path} is not a gridgov backup (no GGBACKUP header)")
        _, version, algorithm, chunk_size, key_id, salt = _HEADER.unpack(raw)
        if version != FORMAT_VERSION or algorithm != ALGORITHM_AES256GCM_STREAM:
            raise DamagedBackup(
                f"{path} is a gridgov backup of format {version}/{algorithm}, which this version "
                f"does not read (it reads {FORMAT_VERSION}/{ALGORITHM_AES256GCM_STREAM})"
            )
        if not 0 < chunk_size <= 64 * CHUNK_SIZE:
            raise DamagedBackup(f"{path}: the header's chunk size {chunk_size} is not plausible")
        return cls(chunk_size, key_id, salt)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class _Stream:
    """Seals or opens the numbered records of one file with that file's key."""

    def __init__(self, key: BackupKey, header: _Header) -> None:
        self._aead = AESGCM(
            _hkdf(key.secret, header.salt, b"gridgov-backup v1 file key", KEY_BYTES)
        )
        self._aad = header.pack()
        self._counter = 0

    def seal(self, plaintext: bytes, last: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._counter, last), plaintext, self._aad)
        self._counter += 1
        return _RECORD_LENGTH.pack(len(sealed)) + sealed

    def open(self, ciphertext: bytes, last: bool) -> bytes:
        plaintext = self._aead.decrypt(_nonce(self._counter, last), ciphertext, self._aad)
        self._counter += 1
        return plaintext


def _read_records(stream: IO[bytes], header: _Header, path: Path) -> Iterator[tuple[bytes, bool]]:
    """Yield each record's ciphertext and whether it is the file's last one."""
    limit = header.chunk_size + TAG_BYTES

    def read_one() -> bytes | None:
        raw = stream.read(_RECORD_LENGTH.size)
        if not raw:
            return None
        if len(raw) < _RECORD_LENGTH.size:
            raise DamagedBackup(f"{path} is truncated (a record length is cut off)")
        (length,) = _RECORD_LENGTH.unpack(raw)
        if not TAG_BYTES <= length <= limit:
            raise DamagedBackup(f"{path} is damaged (a record claims {length} bytes)")
        body = stream.read(length)
        if len(body) < length:
            raise DamagedBackup(f"{path} is truncated (a record is cut off)")
        return body

    current = read_one()
    if current is None:
        raise DamagedBackup(f"{path} holds no data after its header")
    while current is not None:
        following = read_one()
        yield current, following is None
        current = following


def _open_records(path: Path, key: BackupKey) -> Generator[bytes, None, None]:
    """Yield the authenticated plaintext of every record of ``path``, the manifest first.

    Raises :class:`WrongKey` before reading any record when the key's id differs from the one in
    the header, and :class:`DamagedBackup` at the first record that fails authentication.
    """
    with path.open("rb") as stream:
        header = _Header.read(stream, path)
        if header.key_id != key.key_id:
            raise WrongKey(
                f"{path} was encrypted with key {header.key_id.hex()}, but the key file given is "
                f"key {key.key_id.hex()}; nothing was restored. Use the key file that was in use "
                "when this backup was made."
            )
        opener = _Stream(key, header)
        for ciphertext, last in _read_records(stream, header, path):
            try:
                yield opener.open(ciphertext, last)
            except InvalidTag as exc:
                raise DamagedBackup(
                    f"{path} fails authentication: it was changed, truncated or damaged after it "
                    "was written; nothing was restored. Use another copy."
                ) from exc


# -- the database side ---------------------------------------------------------------------------
_USER_TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


# The extensions' configuration tables (PostGIS's spatial_ref_sys): pg_dump keeps the rows that
# match each one's condition (those users added), with whether the current role may insert.
_EXTENSION_CONFIG_TABLES = """
SELECT n.nspname, c.relname, coalesce(e.extcondition[config.i], ''),
       has_table_privilege(c.oid, 'INSERT')
FROM pg_extension e
CROSS JOIN LATERAL unnest(e.extconfig) WITH ORDINALITY AS config(oid, i)
JOIN pg_class c ON c.oid = config.oid AND c.relkind = 'r'
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY 1, 2
"""


def _extension_config_tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str, bool]]:
    return [
        (str(schema), str(table), str(condition), bool(writable))
        for schema, table, condition, writable in conn.execute(_EXTENSION_CONFIG_TABLES)
    ]


def _extension_rows(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """How many rows of each extension configuration table pg_dump keeps."""
    counts: dict[str, int] = {}
    for schema, table, condition, _ in _extension_config_tables(conn):
        # The condition is the extension's own SQL from the catalogue, e.g. "WHERE NOT (...)".
        query = sql.SQL("SELECT count(*) FROM {}.{} {}").format(
            sql.Identifier(schema),
            sql.Identifier(table),
            sql.SQL(condition),
        )
        row = conn.execute(query).fetchone()
        counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts


def user_tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Schema and name of every table that is not part of PostgreSQL or of an extension."""
    return [(str(s), str(t)) for s, t in conn.execute(_USER_TABLES).fetchall()]


def table_row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Exact row count of every user table, keyed ``schema.table``."""
    counts: dict[str, int] = {}
    for schema, table in user_tables(conn):
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        row = conn.execute(query).fetchone()
        counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts


def _scalar(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def _schema_revision(conn: psycopg.Connection[Any]) -> str | None:
    if _scalar(conn, "SELECT to_regclass('public.alembic_version') IS NOT NULL"):
        revisions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
        return ",".join(sorted(revisions)) or None
    return None


def _manifest(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    extensions = {
        str(name): str(version)
        for name, version in conn.execute(
            "SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1"
        )
    }
    return {
        "format": FORMAT_VERSION,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": _scalar(conn, "SELECT current_database()"),
        "server_version": _scalar(conn, "SHOW server_version"),
        "server_version_num": int(_scalar(conn, "SHOW server_version_num")),
        "postgis_version": (
            _scalar(conn, "SELECT postgis_lib_version()") if "postgis" in extensions else None
        ),
        "schema_revision": _schema_revision(conn),
        "extensions": extensions,
        "tables": table_row_counts(conn),
        "extension_rows": _extension_rows(conn),
    }


def _client_env_and_dsn(url: str) -> tuple[dict[str, str], str]:
    """The password goes to the child's environment, never its command line (``ps`` shows it)."""
    params = conninfo_to_dict(libpq_url(url))
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return env, make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def _bindir(conn: psycopg.Connection[Any]) -> Path:
    try:
        return find_client_bindir(conn.info.server_version // 10000, get_settings().pg_bindir)
    except ClusterError as exc:
        raise BackupError(str(exc)) from exc


def _stderr_text(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read().decode(errors="replace").strip()


# -- backup --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    manifest: dict[str, Any]


def backup_file_name(database: str, when: datetime | None = None) -> str:
    """``gridgov-<database>-<UTC time>.gridgov-backup``.

    >>> backup_file_name("gridgov", datetime(2026, 11, 29, 2, 30, tzinfo=UTC))
    'gridgov-gridgov-20261129T023000Z.gridgov-backup'
    """
    stamp = (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"gridgov-{database}-{stamp}{BACKUP_SUFFIX}"


def private_directory(path: Path) -> Path:
    """Create ``path`` (and parents) for backups; a directory created here is mode 0700."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        path.chmod(0o700)
    elif not path.is_dir():
        raise BackupError(f"{path} is not a directory")
    return path


def create_backup(url: str, key: BackupKey, destination: Path) -> BackupResult:
    """Dump the database at ``url`` into the new encrypted file ``destination`` (mode 0600).

    The row counts in the manifest and the dump come from one snapshot: the dump is taken with
    ``pg_dump --snapshot`` of the transaction that counted. The file appears under its name only
    once complete and flushed to disk; a failed backup leaves nothing behind.
    """
    if destination.exists():
        raise BackupError(f"{destination} already exists; a backup is never overwritten")
    partial = destination.with_name(f".{destination.name}.partial")
    env, dsn = _client_env_and_dsn(url)
    with psycopg.connect(libpq_url(url)) as snap:
        snap.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = str(_scalar(snap, "SELECT pg_export_snapshot()"))
        manifest = _manifest(snap)
        pg_dump = _bindir(snap) / "pg_dump"
        header = _Header(CHUNK_SIZE, key.key_id, os.urandom(SALT_BYTES))
        sealer = _Stream(key, header)
        fd = _create_private(partial)
        try:
            with os.fdopen(fd, "wb") as out, tempfile.TemporaryFile() as errors:
                out.write(header.pack())
                out.write(sealer.seal(json.dumps(manifest).encode(), last=False))
                proc = subprocess.Popen(
                    [
                        str(pg_dump),
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        "--no-password",
                        f"--dbname={dsn}",
                    ],
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    env=env,
                )
                assert proc.stdout is not None
                try:
                    chunk = proc.stdout.read(CHUNK_SIZE)
                    while True:
                        following = proc.stdout.read(CHUNK_SIZE)
                        out.write(sealer.seal(chunk, last=not following))
                        if not following:
                            break
                        chunk = following
                except BaseException:
                    proc.kill()
                    proc.wait()
                    raise
                if proc.wait() != 0:
                    raise BackupError(f"pg_dump failed: {_stderr_text(errors)}")
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, destination)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        snap.rollback()
    with contextlib.suppress(OSError):
        dir_fd = os.open(destination.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return BackupResult(destination, destination.stat().st_size, manifest)


def prune_backups(directory: Path, database: str, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest backups of ``database`` in ``directory``.

    Only files named by :func:`backup_file_name` are considered; returns what was deleted.
    """
    if keep < 1:
        raise BackupError("keep at least one backup")
    ours = sorted(
        (
            p
            for p in directory.iterdir()
            if (m := _BACKUP_NAME.match(p.name)) and m["db"] == database
        ),
        key=lambda p: p.name,
    )
    doomed = ours[:-keep]
    for path in doomed:
        path.unlink()
    return doomed


# -- verify and restore --------------------------------------------------------------------------
def verify_backup(path: Path, key: BackupKey) -> dict[str, Any]:
    """Authenticate every record of ``path``; return its manifest. Writes nothing."""
    records = _open_records(path, key)
    manifest = json.loads(next(records))
    for _ in records:
        pass
    return dict(manifest)


def _feed(path: Path, key: BackupKey, sink: IO[bytes]) -> None:
    """Write the pg_dump archive held in ``path`` to ``sink`` (skipping the manifest)."""
    with contextlib.closing(_open_records(path, key)) as records:
        next(records)
        try:
            for plaintext in records:
                sink.write(plaintext)
        except BrokenPipeError:
            # pg_restore --list stops reading once it has the table of contents.
            return
        finally:
            with contextlib.suppress(BrokenPipeError):
                sink.close()


def _run_fed(command: list[str], path: Path, key: BackupKey, env: dict[str, str]) -> str:
    """Run ``command`` with the decrypted archive on its stdin; return its stdout."""
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=output, stderr=errors, env=env, cwd="/"
        )
        assert proc.stdin is not None
        # The child's output goes to files, so it never waits on us while we write its input.
        try:
            _feed(path, key, proc.stdin)
        except BaseException:
            # The file changed since it was verified: pg_restore must not commit what it has.
            proc.kill()
            proc.wait()
            raise
        code = proc.wait()
        if code != 0:
            raise BackupError(f"{Path(command[0]).name} failed: {_stderr_text(errors)}")
        output.seek(0)
        return output.read().decode(errors="replace")


def _restore_list(listing: str, skip_data: set[str]) -> str:
    """pg_restore's table of contents without the extensions themselves and ``skip_data``.

    The restore creates the extensions the manifest names before pg_restore runs, so an owner
    that is not a superuser can restore into a database where an administrator created PostGIS
    beforehand (``COMMENT ON EXTENSION`` would fail for him). ``skip_data`` names tables
    (``schema.table``) whose rows are left out.
    """
    kept = []
    for line in listing.splitlines():
        data = _TABLE_DATA_ENTRY.match(line)
        if _EXTENSION_ENTRY.match(line) or (data and f"{data[1]}.{data[2]}" in skip_data):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def _pg_restore(bindir: Path, path: Path, key: BackupKey, target: str, skip_data: set[str]) -> None:
    """``pg_restore`` the archive in ``path`` into ``target`` in one transaction, fed decrypted."""
    env, dsn = _client_env_and_dsn(target)
    listing = _run_fed([str(bindir / "pg_restore"), "--list"], path, key, env)
    with tempfile.NamedTemporaryFile("w", suffix=".list") as restore_list:
        restore_list.write(_restore_list(listing, skip_data))
        restore_list.flush()
        _run_fed(
            [
                str(bindir / "pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--no-password",
                f"--use-list={restore_list.name}",
                f"--dbname={dsn}",
            ],
            path,
            key,
            env,
        )


@contextlib.contextmanager
def _extension_tables_writable(
    admin_target: str, target: str, manifest: dict[str, Any]
) -> Iterator[set[str]]:
    """Let the restoring role write the extensions' configuration tables while it restores.

    Those tables belong to whoever created the extension, so an owner that is not a superuser
    may write the rows users added (kept by pg_dump) only by a grant, which an administrator's
    connection gives for the restore and takes back after. Yields the tables whose (empty) data
    the restore must skip because it could not be made writable; refuses when such a table has
    rows in the backup.
    """
    role = str(make_url(normalise_database_url(target)).username)
    with psycopg.connect(target) as conn:
        closed = [
            f"{schema}.{table}"
            for schema, table, _, writable in _extension_config_tables(conn)
            if not writable
        ]
    with psycopg.connect(admin_target, autocommit=True) as admin:
        grantable = [] if admin.info.user == role else closed
        tables = [sql.SQL(".").join(map(sql.Identifier, t.split(".", 1))) for t in grantable]
        for table in tables:
            admin.execute(sql.SQL("GRANT INSERT ON {} TO {}").format(table, sql.Identifier(role)))
        try:
            skip = set(closed) - set(grantable)
            lost = {t: manifest["extension_rows"].get(t, 0) for t in skip}
            if any(lost.values()):
                raise BackupError(
                    f"the backup holds rows users added to {', '.join(sorted(lost))}, which "
                    f"{role} may not write: have a superuser run GRANT INSERT on them to {role} "
                    "for the restore (docs/operations.md)"
                )
            yield skip
        finally:
            for table in tables:
                admin.execute(
                    sql.SQL("REVOKE INSERT ON {} FROM {}").format(table, sql.Identifier(role))
                )


def _grant_app(target: str, app_role: str) -> None:
    """Give the app role its privileges on what was restored (gis/privileges.py owns them)."""
    from sqlalchemy import create_engine, pool

    from gis.privileges import grant_app_privileges

    engine = create_engine(normalise_database_url(target), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            grant_app_privileges(connection, app_role)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class RestoreResult:
    database: str
    manifest: dict[str, Any]
    row_counts: dict[str, int]
    postgis_version: str | None
    schema_revision: str | None


def with_database(url: str, database: str) -> str:
    """The libpq URL of another database on the same server, as the same user.

    >>> with_database("postgresql+psycopg://u:p%40ss@db:5432/gridgov?sslmode=require", "drill")
    'postgresql://u:p%40ss@db:5432/drill?sslmode=require'
    """
    changed = make_url(normalise_database_url(url)).set(database=database)
    return libpq_url(changed.render_as_string(hide_password=False))


def database_name(url: str) -> str:
    """The database a URL names.

    >>> database_name("postgresql://u@db/gridgov?sslmode=require")
    'gridgov'
    """
    return str(make_url(normalise_database_url(url)).database or "")


def _database_state(admin: psycopg.Connection[Any], name: str) -> tuple[bool, str | None]:
    row = admin.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (name,)
    ).fetchone()
    return (row is not None, str(row[0]) if row else None)


def _create_database(admin: psycopg.Connection[Any], name: str, owner: str) -> None:
    admin.execute(
        sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(name), sql.Identifier(owner)
        )
    )


def _drop_database(admin: psycopg.Connection[Any], name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _prepare_target(
    url: str, admin_url: str, force: bool, extensions: list[str]
) -> tuple[str, bool]:
    """Make sure the target database exists, is empty and has the extensions; return its name
    and whether it was created here.

    The restore runs as the database's owner (the role of ``url``): an existing database owned
    by another role is refused, and one created here belongs to that role. ``admin_url``'s role
    creates and drops the database and creates the extensions (PostGIS is not a trusted
    extension: an owner that is not a superuser cannot create it). A database that holds tables
    is replaced only with ``force``.
    """
    name = database_name(url)
    role = make_url(normalise_database_url(url)).username
    if not name or not role:
        raise BackupError("the target database URL must name its database and its user")
    created = False
    with psycopg.connect(with_database(admin_url, "postgres"), autocommit=True) as admin:
        exists, owner = _database_state(admin, name)
        row = admin.execute(
            "SELECT rolsuper OR (rolcreatedb AND pg_has_role(current_user, %s, 'MEMBER'))"
            " FROM pg_roles WHERE rolname = current_user",
            (role,),
        ).fetchone()
        may_create = bool(row and row[0])
        refusal = (
            f"{admin.info.user} may not create database {name}: have an administrator create "
            f"it (owner {role}, with PostGIS) and restore into it, or run the restore with a "
            "role that may (docs/operations.md)"
        )
        if exists:
            if owner != role:
                raise BackupError(
                    f"database {name} belongs to {owner}, not to {role}: restore as its owner"
                )
            with psycopg.connect(with_database(url, name)) as conn:
                tables = user_tables(conn)
            if tables and not force:
                raise RefusedOverwrite(
                    f"database {name} already holds {len(tables)} tables; restore into a new "
                    "database (--into NAME) or pass --force to replace it (its current content "
                    "is lost, and connections to it are ended)"
                )
            if tables:
                # Checked first: dropping a database that cannot be made again loses it.
                if not may_create:
                    raise BackupError(refusal)
                _drop_database(admin, name)
                exists = False
        if not exists:
            if not may_create:
                raise BackupError(refusal)
            _create_database(admin, name, role)
            created = True
    try:
        with psycopg.connect(with_database(admin_url, name), autocommit=True) as conn:
            for extension in extensions:
                try:
                    conn.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                            sql.Identifier(extension)
                        )
                    )
                except psycopg.errors.InsufficientPrivilege as exc:
                    raise BackupError(
                        f"{conn.info.user} may not create the extension {extension} in {name}: "
                        "have a superuser create it first (docs/operations.md)"
                    ) from exc
    except BaseException:
        if created:
            _drop_created(admin_url, name)
        raise
    return name, created


def _drop_created(admin_url: str, name: str) -> None:
    with psycopg.connect(with_database(admin_url, "postgres"), autocommit=True) as admin:
        _drop_database(admin, name)


def restore_backup(
    path: Path,
    key: BackupKey,
    target_url: str,
    force: bool = False,
    admin_url: str | None = None,
    app_role: str | None = None,
) -> RestoreResult:
    """Restore ``path`` into the database at ``target_url``, created if it does not exist.

    ``target_url`` connects as the role that will own everything restored; ``admin_url``, when
    given, as a role that may create that database and PostGIS (the embedded cluster's
    superuser), else the target's role does it. ``app_role`` is the role the app connects as:
    it gets its grants again, since the restore brings none from the source server.

    Order: authenticate the whole file (a wrong key or a damaged file writes nothing); prepare
    the target (refusing a non-empty one unless ``force``) with the manifest's extensions;
    ``pg_restore --no-owner --no-privileges --single-transaction``; re-apply the application's
    grants; ``ANALYZE``; check every table's row count against the manifest.
    """
    manifest = verify_backup(path, key)
    admin = admin_url or target_url
    name, created = _prepare_target(target_url, admin, force, list(manifest["extensions"]))
    target = with_database(target_url, name)
    try:
        with psycopg.connect(target) as conn:
            bindir = _bindir(conn)
        with _extension_tables_writable(with_database(admin, name), target, manifest) as skip:
            _pg_restore(bindir, path, key, target, skip)
    except BaseException:
        if created:
            _drop_created(admin, name)
        raise
    if app_role and app_role != make_url(normalise_database_url(target)).username:
        _grant_app(target, app_role)
    with psycopg.connect(target, autocommit=True) as conn:
        # A restored database has no planner statistics; the first map requests would pay.
        conn.execute("ANALYZE")
        counts = table_row_counts(conn)
        postgis = (
            _scalar(conn, "SELECT postgis_lib_version()")
            if "postgis" in manifest["extensions"]
            else None
        )
        revision = _schema_revision(conn)
    if counts != manifest["tables"]:
        differ = sorted(
            t
            for t in set(counts) | set(manifest["tables"])
            if counts.get(t) != manifest["tables"].get(t)
        )
        raise BackupError(
            f"database {name} was restored but its row counts differ from the backup's in "
            f"{', '.join(differ)}; do not use it"
        )
    return RestoreResult(name, manifest, counts, postgis, revision)
