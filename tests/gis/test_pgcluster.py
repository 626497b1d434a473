"""The embedded cluster: start, stop, restart after kill -9, as root and as a normal user."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from gis.pgcluster import (
    APP_ROLE,
    DATABASE,
    OWNER_ROLE,
    ROOT_FALLBACK_BASE,
    SUPERUSER,
    EmbeddedCluster,
    find_bindir,
)
from tests.conftest import unavailable

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0
NORMAL_USER = "nobody"


@pytest.fixture(scope="module", autouse=True)
def _postgres_installed() -> None:
    try:
        find_bindir()
    except Exception as exc:
        unavailable(f"PostgreSQL/PostGIS not installed: {exc}")


def _query(cluster: EmbeddedCluster, sql: str) -> object:
    with psycopg.connect(cluster.url(), connect_timeout=5) as conn:
        return conn.execute(sql).fetchone()[0]  # type: ignore[index]


def test_start_stop_restart_after_kill_9(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "home")
    state = cluster.start()
    try:
        assert state.running and state.pid
        assert _query(cluster, "SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        port = state.port
        if IS_ROOT:
            owner = cluster.data_dir.stat().st_uid
            assert owner != 0, "as root the data directory must belong to the postgres user"
        # Three roles: only initdb's is a superuser; the owner role owns the database; the app
        # role connects with its own password (docs/operations.md).
        roles = _query(
            cluster,
            "SELECT json_object_agg(rolname, rolsuper) FROM pg_roles WHERE rolname LIKE 'gridgov%'",
        )
        assert roles == {SUPERUSER: True, OWNER_ROLE: False, APP_ROLE: False}
        assert (
            _query(
                cluster,
                f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{DATABASE}'",
            )
            == OWNER_ROLE
        )
        with psycopg.connect(cluster.url(role=APP_ROLE), connect_timeout=5) as app:
            assert app.execute("SELECT current_user").fetchone() == (APP_ROLE,)
        for name in ("password", "owner.password", "app.password"):
            assert (cluster.pg_dir / name).stat().st_mode & 0o077 == 0, name
        # A table the superuser made (a cluster of an older version) goes to the owner on start.
        with psycopg.connect(cluster.url(), autocommit=True) as superuser:
            superuser.execute("CREATE TABLE made_by_superuser (id serial PRIMARY KEY)")

        # A crash: kill -9 the postmaster; its pid file stays behind.
        os.kill(state.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while cluster.status().running and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (cluster.data_dir / "postmaster.pid").exists()
        assert not cluster.status().running

        restarted = cluster.start()
        assert restarted.running and restarted.pid != state.pid
        assert restarted.port == port, "the port is remembered between runs"
        assert _query(cluster, "SELECT 1") == 1
        assert (
            _query(
                cluster,
                "SELECT tableowner FROM pg_tables WHERE tablename = 'made_by_superuser'",
            )
            == OWNER_ROLE
        )

        assert cluster.stop() is True
        assert not cluster.status().running
        assert cluster.stop() is False
        data_dir = cluster.data_dir
        cluster.destroy()
        assert not data_dir.exists() and not cluster.pg_dir.exists()
        if IS_ROOT and data_dir.parent.parent == ROOT_FALLBACK_BASE:
            assert not data_dir.parent.exists(), "the /var/lib/gridgov fallback goes too"
    finally:
        cluster.destroy()


def test_stale_pid_file_of_another_process_does_not_block_start(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "home")
    cluster.start()
    try:
        cluster.stop()
        # Simulate a reboot: the pid in the stale file now belongs to an unrelated process.
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            pid_file = cluster.data_dir / "postmaster.pid"
            pid_file.write_text(f"{sleeper.pid}\n{cluster.data_dir}\n")
            if IS_ROOT:
                shutil.chown(pid_file, user="postgres")
            assert not cluster.status().running
            assert cluster.start().running
            assert _query(cluster, "SELECT 2") == 2
        finally:
            sleeper.kill()
    finally:
        cluster.destroy()


def test_a_fresh_checkout_at_the_same_path_replaces_the_orphaned_cluster(tmp_path: Path) -> None:
    """A clone deleted and made again at the same path (CI does this) gets a new cluster.

    As root the data directory may live under /var/lib/gridgov, named after the home's path,
    so it outlives the home and its passwords; the new checkout must not trip over it, even
    with the old postmaster still running.
    """
    home = tmp_path / "home"
    old = EmbeddedCluster(home)
    old.start()
    old_data_dir = old.data_dir
    old_password = old.password
    try:
        shutil.rmtree(home)  # the checkout goes; a fallback data directory (and server) stays
        fresh = EmbeddedCluster(home)
        state = fresh.start()
        try:
            assert state.running
            assert fresh.password != old_password
            assert _query(fresh, "SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            assert fresh.data_dir == old_data_dir  # the same place, made anew
        finally:
            fresh.destroy()
    finally:
        old.stop()


def test_second_start_is_a_no_op(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "home")
    first = cluster.start()
    try:
        second = cluster.start()
        assert second.pid == first.pid
    finally:
        cluster.destroy()


def test_as_a_normal_user(tmp_path: Path) -> None:
    """Run the cluster as an unprivileged user with the system's plain Python 3."""
    if not IS_ROOT:
        # We are the normal user already; the other tests cover this path.
        cluster = EmbeddedCluster(tmp_path / "home")
        assert cluster.run_as is None
        return
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if python is None:
        unavailable("no system python3 for the normal-user test")
    # The normal user cannot read our checkout (it may be under /root): give it a copy of the
    # module, which needs only the standard library.
    # /tmp, not pytest's tmp_path: the normal user must be able to reach it.
    work = Path("/tmp") / f"gridgov-user-test-{os.getpid()}"  # noqa: S108
    shutil.rmtree(work, ignore_errors=True)
    (work / "gis").mkdir(parents=True)
    shutil.copy(REPO / "gis" / "pgcluster.py", work / "gis" / "pgcluster.py")
    (work / "gis" / "__init__.py").write_text("")
    home = work / "home"
    home.mkdir()
    subprocess.run(["chown", "-R", f"{NORMAL_USER}:", str(work)], check=True)

    def as_user(action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "runuser",
                "-u",
                NORMAL_USER,
                "--",
                python,
                "-m",
                "gis.pgcluster",
                action,
                "--home",
                str(home),
            ],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    try:
        started = as_user("start")
        assert started.returncode == 0, started.stderr
        data_dir = home / "pg" / "data"
        assert data_dir.stat().st_uid == int(
            subprocess.check_output(["id", "-u", NORMAL_USER], text=True)
        )
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        restarted = as_user("start")
        assert restarted.returncode == 0, restarted.stderr
        url = as_user("url").stdout.strip()
        with psycopg.connect(url, connect_timeout=5) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("gridgov",)
        stopped = as_user("stop")
        assert stopped.stdout.strip() == "stopped"
    finally:
        as_user("stop")
        shutil.rmtree(work, ignore_errors=True)
