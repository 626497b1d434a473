"""The embedded PostGIS cluster that gridgov runs by default.

A private PostgreSQL cluster lives under ``$GRIDGOV_HOME/pg``: its data directory, its log, the
port it listens on (remembered between runs) and the passwords of its three roles:

- ``gridgov``, the superuser that initdb creates: it creates the other roles, the database and
  the PostGIS extension, and nothing else connects as it;
- ``gridgov_owner`` owns the database and every table: migrations (``gridgov migrate``) and bulk
  loads (``gridgov demo``) run as it;
- ``gridgov_app``, neither superuser nor owner, is what the application connects as; it gets only
  the grants ``gridgov migrate`` gives it (gis/privileges.py).

It listens on 127.0.0.1 only and uses password authentication.

PostgreSQL refuses to run as root. When this process is root, initdb and pg_ctl run as the
``postgres`` system user, who then owns the data directory. If that user cannot reach
``$GRIDGOV_HOME`` (for example a checkout under ``/root``), the data directory is placed under
``/var/lib/gridgov`` instead and the choice is remembered in ``$GRIDGOV_HOME/pg/datadir``.

This module uses only the standard library so that it can be run by any Python 3.11, for example
by a non-root user in tests: ``python -m gis.pgcluster start --home DIR``. For the same reason it
reads no settings: ``GRIDGOV_HOME`` and ``GRIDGOV_PG_BINDIR`` belong to :mod:`gis.settings`, and
callers pass their values in (``EmbeddedCluster(settings.home, settings.pg_bindir)``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "gridgov"
OWNER_ROLE = "gridgov_owner"
APP_ROLE = "gridgov_app"
DATABASE = "gridgov"
# Where each role's password is kept, under home/pg (0600).
PASSWORD_FILES = {SUPERUSER: "password", OWNER_ROLE: "owner.password", APP_ROLE: "app.password"}
SYSTEM_USER_FOR_ROOT = "postgres"
ROOT_FALLBACK_BASE = Path("/var/lib/gridgov")


class ClusterError(RuntimeError):
    """The embedded cluster could not be set up, started or stopped; the message says why."""


def find_bindir(override: Path | None = None) -> Path:
    """Return the newest PostgreSQL bin directory that has PostGIS available.

    ``override`` (``GRIDGOV_PG_BINDIR``, passed in by the caller) replaces the search.
    """
    if override is not None:
        if not (override / "pg_ctl").exists():
            raise ClusterError(f"GRIDGOV_PG_BINDIR={override} has no pg_ctl")
        return override
    candidates: list[tuple[int, Path]] = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        version = bindir.parent.name
        if version.isdigit() and (bindir / "pg_ctl").exists():
            candidates.append((int(version), bindir))
    with_postgis = [
        (v, b)
        for v, b in candidates
        if Path(f"/usr/share/postgresql/{v}/extension/postgis.control").exists()
    ]
    chosen = sorted(with_postgis or candidates)
    if not chosen:
        raise ClusterError(
            "PostgreSQL server binaries were not found under /usr/lib/postgresql. Install them "
            "(Debian/Ubuntu: apt-get install postgresql postgresql-<version>-postgis-3), set "
            "GRIDGOV_PG_BINDIR, or point GRIDGOV_DATABASE_URL at an existing PostGIS database."
        )
    if not with_postgis:
        newest = chosen[-1][0]
        raise ClusterError(
            f"PostgreSQL {newest} is installed but PostGIS is not. Install it "
            f"(apt-get install postgresql-{newest}-postgis-3) or point GRIDGOV_DATABASE_URL at "
            "an existing PostGIS database."
        )
    return chosen[-1][1]


def find_client_bindir(server_major: int, override: Path | None = None) -> Path:
    """Return the bin directory whose ``pg_dump``/``pg_restore`` suit a server of this version.

    The same major version is preferred (its archives are what the server's own tools make);
    a newer one also works, an older one cannot dump a newer server. ``override``
    (``GRIDGOV_PG_BINDIR``, passed in by the caller) replaces the search.
    """
    if override is not None:
        if not (override / "pg_dump").exists():
            raise ClusterError(f"GRIDGOV_PG_BINDIR={override} has no pg_dump")
        return override
    usable = sorted(
        (int(bindir.parent.name), bindir)
        for bindir in Path("/usr/lib/postgresql").glob("*/bin")
        if bindir.parent.name.isdigit()
        and int(bindir.parent.name) >= server_major
        and (bindir / "pg_dump").exists()
        and (bindir / "pg_restore").exists()
    )
    if not usable:
        raise ClusterError(
            f"pg_dump and pg_restore for PostgreSQL {server_major} or newer were not found under "
            f"/usr/lib/postgresql (Debian/Ubuntu: apt-get install postgresql-client-{server_major})"
            "; or set GRIDGOV_PG_BINDIR to their directory"
        )
    return usable[0][1]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    pid: int | None
    port: int
    data_dir: Path
    url: str


class EmbeddedCluster:
    """A private PostgreSQL + PostGIS cluster under ``home/pg``.

    Parameters
    ----------
    home
        The gridgov home directory (``$GRIDGOV_HOME``, by default ``.gridgov`` in the repo).
    bindir
        PostgreSQL's bin directory; found automatically when omitted.
    """

    def __init__(self, home: Path, bindir: Path | None = None) -> None:
        self.home = home.resolve()
        self.pg_dir = self.home / "pg"
        self._bindir = bindir
        self.run_as = SYSTEM_USER_FOR_ROOT if _is_root() else None

    # -- files -------------------------------------------------------------------------------
    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    @property
    def data_dir(self) -> Path:
        pointer = self.pg_dir / "datadir"
        if pointer.exists():
            return Path(pointer.read_text().strip())
        return self.pg_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgresql.log"

    @property
    def port(self) -> int:
        port_file = self.pg_dir / "port"
        if port_file.exists():
            return int(port_file.read_text().strip())
        port = _free_port()
        port_file.write_text(f"{port}\n")
        return port

    @property
    def password(self) -> str:
        """The superuser's password."""
        return self.password_of(SUPERUSER)

    def password_of(self, role: str) -> str:
        """The password of one of the cluster's roles (made when the cluster first starts)."""
        return (self.pg_dir / PASSWORD_FILES[role]).read_text().strip()

    def _make_password_file(self, role: str) -> None:
        path = self.pg_dir / PASSWORD_FILES[role]
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(24) + "\n")

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def url(self, database: str = DATABASE, role: str = SUPERUSER) -> str:
        """The libpq URL of a database in this cluster, as one of its roles."""
        return (
            f"postgresql://{role}:{quote(self.password_of(role), safe='')}@127.0.0.1:{self.port}/"
            f"{database}"
        )

    # -- running commands ----------------------------------------------------------------------
    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # Run from a directory the postgres user can read, or pg_ctl complains about the cwd.
        proc = subprocess.run(
            command, capture_output=True, text=True, cwd="/", check=False, timeout=120
        )
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{args[0]} failed ({proc.returncode}): "
                f"{proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    def _give_to_run_as(self, path: Path) -> None:
        if self.run_as:
            shutil.chown(path, user=self.run_as, group=None)

    def _run_as_can_use(self, path: Path) -> bool:
        if not self.run_as:
            return True
        probe = subprocess.run(
            ["runuser", "-u", self.run_as, "--", "test", "-w", str(path), "-a", "-x", str(path)],
            check=False,
            cwd="/",
        )
        return probe.returncode == 0

    # -- lifecycle -----------------------------------------------------------------------------
    def init(self) -> None:
        """Create the cluster if it does not exist yet (idempotent)."""
        if self.initialised:
            return
        self.pg_dir.mkdir(parents=True, exist_ok=True)
        self._make_password_file(SUPERUSER)
        data_dir = self.pg_dir / "data"
        if self.run_as:
            data_parent = self.pg_dir
            if not self._run_as_can_use_after_chown(data_parent):
                digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
                data_parent = ROOT_FALLBACK_BASE / digest
                data_parent.mkdir(parents=True, exist_ok=True)
                ROOT_FALLBACK_BASE.chmod(0o755)
                self._give_to_run_as(data_parent)
                data_dir = data_parent / "data"
                (self.pg_dir / "datadir").write_text(f"{data_dir}\n")
        self._discard_orphan(data_dir)
        # initdb reads the password from a file the cluster owner can read; remove it afterwards.
        pwfile = data_dir.parent / "initdb.pw"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._give_to_run_as(pwfile)
        try:
            self._run(
                [
                    "initdb",
                    "-D",
                    str(data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'gridgov.conf'\n")

    def _discard_orphan(self, data_dir: Path) -> None:
        """Remove what an earlier, deleted checkout at the same path left in ``data_dir``.

        ``init`` only runs when this home has no cluster, so anything already in its data
        directory belongs to nobody: a root fallback under /var/lib/gridgov outlives the clone
        that made it (same path, same digest), and a killed initdb leaves a partial directory.
        Its passwords went with the old home, so it cannot be used; initdb refuses a non-empty
        directory, so it is stopped (if a postmaster still runs there) and removed.
        """
        if not data_dir.is_dir() or not any(data_dir.iterdir()):
            return
        print(
            f"gridgov: removing an orphaned PostgreSQL data directory {data_dir} "
            "(left by an earlier checkout at this path; its passwords are gone)",
            file=sys.stderr,
        )
        if (data_dir / "postmaster.pid").exists():
            self._run(["pg_ctl", "stop", "-D", str(data_dir), "-m", "immediate", "-w"], check=False)
        shutil.rmtree(data_dir)
        (data_dir.parent / "postgresql.log").unlink(missing_ok=True)

    def _run_as_can_use_after_chown(self, directory: Path) -> bool:
        self._give_to_run_as(directory)
        return self._run_as_can_use(directory)

    def _write_runtime_conf(self, port: int) -> None:
        conf = self.data_dir / "gridgov.conf"
        conf.write_text(
            "# written by gridgov on every start\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            "unix_socket_directories = ''\n"
            "max_connections = 200\n"
            "shared_buffers = '256MB'\n"
            "fsync = on\n"
            "logging_collector = off\n"
        )
        self._give_to_run_as(conf)

    def _postmaster_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            first = pid_file.read_text().splitlines()[0]
        except (FileNotFoundError, IndexError):
            return None
        return int(first) if first.strip().isdigit() else None

    def _is_our_postmaster(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, PermissionError):
            return False
        return (
            bool(cmdline) and b"postgres" in Path(cmdline[0].decode(errors="replace")).name.encode()
        )

    def _clear_stale_pid(self) -> None:
        """Remove a postmaster.pid left by a crash or kill -9, if its process is gone.

        pg_ctl would otherwise trust a pid that the kernel has since given to another process.
        """
        pid = self._postmaster_pid()
        if pid is not None and not self._is_our_postmaster(pid):
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)

    def status(self) -> ClusterStatus:
        pid = self._postmaster_pid() if self.initialised else None
        running = pid is not None and self._is_our_postmaster(pid)
        return ClusterStatus(
            running=running,
            pid=pid if running else None,
            port=self.port,
            data_dir=self.data_dir,
            url=self.url() if (self.pg_dir / "password").exists() else "",
        )

    def start(self, timeout: float = 60.0) -> ClusterStatus:
        """Initialise if needed, start if not running, and make sure PostGIS is available."""
        self.init()
        current = self.status()
        if current.running:
            # A cluster made before the owner and app roles existed gets them here too.
            self._ensure_database()
            return current
        self._clear_stale_pid()
        port = self.port
        # After a crash (kill -9 of the postmaster) its backends still hold the listening socket
        # until they notice their parent is gone, within a second or two: wait for them before
        # deciding that someone else took the port.
        settle = time.monotonic() + 5.0
        while _port_in_use(port) and time.monotonic() < settle:
            time.sleep(0.2)
        if _port_in_use(port):
            # Someone else took the remembered port while we were down: choose another.
            port = _free_port()
            (self.pg_dir / "port").write_text(f"{port}\n")
        self._write_runtime_conf(port)
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            proc = self._run(
                [
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                check=False,
            )
            if proc.returncode == 0:
                break
            # After kill -9 the old backends may still hold the shared memory for a moment.
            last_error = proc.stderr.strip() or self._log_tail()
            self._clear_stale_pid()
            time.sleep(1.0)
        else:
            raise ClusterError(f"the embedded PostgreSQL did not start: {last_error}")
        self._ensure_database()
        return self.status()

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def _psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser; the SQL goes through stdin (it may hold passwords)."""
        env = {**os.environ, "PGPASSWORD": self.password}
        proc = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
            ],
            input=sql,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
        if proc.returncode != 0:
            raise ClusterError(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def _ensure_database(self) -> None:
        """Roles, the database owned by the owner role, PostGIS; idempotent (every start)."""
        for role in (OWNER_ROLE, APP_ROLE):
            self._make_password_file(role)
        roles = role_setup_sql(
            OWNER_ROLE, self.password_of(OWNER_ROLE), APP_ROLE, self.password_of(APP_ROLE)
        )
        self._psql(
            roles + f"SELECT 'CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}' "
            f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n"
        )
        self._psql(database_setup_sql(DATABASE, OWNER_ROLE, SUPERUSER), database=DATABASE)

    def stop(self) -> bool:
        """Stop the cluster if it runs; return whether it was running."""
        if not self.initialised:
            return False
        if not self.status().running:
            self._clear_stale_pid()
            return False
        self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"])
        return True

    def destroy(self) -> None:
        """Stop the cluster and delete it with its passwords, wherever its data directory lives.

        ``rm -rf $GRIDGOV_HOME`` alone would leave a root fallback under /var/lib/gridgov behind.
        """
        data_dir = self.data_dir
        if self.initialised:
            self.stop()
        elif (data_dir / "postmaster.pid").exists():
            self._run(["pg_ctl", "stop", "-D", str(data_dir), "-m", "immediate", "-w"], check=False)
        if data_dir.parent.parent == ROOT_FALLBACK_BASE:
            shutil.rmtree(data_dir.parent, ignore_errors=True)
        shutil.rmtree(self.pg_dir, ignore_errors=True)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def role_setup_sql(owner: str, owner_password: str, app: str, app_password: str) -> str:
    """SQL (for a superuser) that makes the owner and app roles, neither of them a superuser.

    Idempotent, and safe when two sessions run it at once. Role names are trusted constants;
    passwords are quoted. The owner gets nothing beyond owning what it creates; the app role
    gets its grants from ``gridgov migrate`` (gis/privileges.py).
    """
    statements = []
    for role, password in ((owner, owner_password), (app, app_password)):
        statements.append(
            "DO $$ BEGIN\n"
            f"    CREATE ROLE {role};\n"
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;\n"
            "END $$;\n"
            f"ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            f"NOBYPASSRLS PASSWORD {_literal(password)};\n"
        )
    return "".join(statements)


def database_setup_sql(database: str, owner: str, previous_owner: str) -> str:
    """SQL (for a superuser, in ``database``) that gives the database to ``owner``.

    Creates PostGIS (only a superuser may), makes ``owner`` the owner of the database, and hands
    it what ``previous_owner`` made in schema public before the owner role existed (databases
    migrated as the superuser by earlier versions), except the extensions' own objects.
    """
    return f"""
CREATE EXTENSION IF NOT EXISTS postgis;
ALTER DATABASE {database} OWNER TO {owner};
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
          FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
           AND c.relowner = '{previous_owner}'::regrole
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                             AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
         ORDER BY c.relkind = 'S'
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO {owner}', item.kind, item.name);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS name
          FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace
           AND p.proowner = '{previous_owner}'::regrole
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                             AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {owner}', item.name);
    END LOOP;
END $$;
"""


def main(argv: list[str] | None = None) -> int:
    """Run ``start|stop|status|url|destroy`` without the rest of gridgov (for tests and shells)."""
    parser = argparse.ArgumentParser(prog="python -m gis.pgcluster")
    parser.add_argument("action", choices=["start", "stop", "status", "url", "destroy"])
    parser.add_argument("--home", type=Path, required=True, help="the gridgov home directory")
    parser.add_argument("--bindir", type=Path, default=None, help="PostgreSQL's bin directory")
    args = parser.parse_args(argv)
    cluster = EmbeddedCluster(args.home, args.bindir)
    try:
        if args.action == "start":
            state = cluster.start()
            print(f"running pid={state.pid} port={state.port}")
        elif args.action == "stop":
            print("stopped" if cluster.stop() else "not running")
        elif args.action == "status":
            state = cluster.status()
            print(f"{'running' if state.running else 'stopped'} pid={state.pid} port={state.port}")
        elif args.action == "destroy":
            cluster.destroy()
            print("destroyed")
        else:
            print(cluster.url())
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
