"""Read-only requests go to the streaming replica when GRIDGOV_REPLICA_URL is set.

A real primary and a real hot standby: two embedded clusters, the second made with
``pg_basebackup -R`` from the first and started in recovery, streaming WAL from it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.deps import ReadSessionDep, SessionDep
from gis import db
from gis.pgcluster import ClusterError, EmbeddedCluster
from gis.settings import get_settings
from tests.conftest import unavailable


def _clear_caches() -> None:
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    db.get_read_engine.cache_clear()
    db.get_read_sessionmaker.cache_clear()


def _dispose_engines() -> None:
    for getter in (db.get_engine, db.get_read_engine):
        if getter.cache_info().currsize:
            getter().dispose()


class Pair:
    def __init__(self, primary: EmbeddedCluster, replica: EmbeddedCluster) -> None:
        self.primary = primary
        self.replica = replica

    def wait_for_replay(self, timeout: float = 20.0) -> None:
        """Block until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert row is not None
            target = row[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.replica.url(), autocommit=True) as conn:
            while time.monotonic() < deadline:
                done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()
                if done and done[0]:
                    return
                time.sleep(0.05)
        raise AssertionError("the replica did not catch up with the primary")


def _start_standby(primary: EmbeddedCluster, home: Path) -> EmbeddedCluster:
    """Clone ``primary`` with pg_basebackup -R into a new cluster under ``home`` and start it."""
    replica = EmbeddedCluster(home, bindir=primary.bindir)
    replica.pg_dir.mkdir(parents=True)
    shutil.copy(primary.pg_dir / "password", replica.pg_dir / "password")
    # Next to the primary's data directory, which the cluster's OS user can certainly reach.
    data_dir = primary.data_dir.parent / "standby" / "data"
    for directory in (data_dir.parent, data_dir):
        directory.mkdir(mode=0o700)
        if primary.run_as:
            shutil.chown(directory, user=primary.run_as)
    (replica.pg_dir / "datadir").write_text(f"{data_dir}\n")
    command = [
        str(primary.bindir / "pg_basebackup"),
        "-h", "127.0.0.1", "-p", str(primary.port), "-U", "gridgov",
        "-D", str(data_dir), "-R", "-X", "stream", "-c", "fast",
    ]  # fmt: skip
    if primary.run_as:
        command = ["runuser", "-u", primary.run_as, "--", *command]
    proc = subprocess.run(
        command,
        env={**os.environ, "PGPASSWORD": primary.password},
        capture_output=True,
        text=True,
        cwd="/",
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise ClusterError(f"pg_basebackup failed: {proc.stderr.strip()}")
    # The clone carries the primary's gridgov.conf (its port); write the standby's own.
    replica._write_runtime_conf(replica.port)
    replica._run(
        ["pg_ctl", "-D", str(data_dir), "-l", str(replica.log_file), "-w", "-t", "60", "start"]
    )
    return replica


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("replication")
    primary = EmbeddedCluster(base / "primary")
    replica: EmbeddedCluster | None = None
    try:
        primary.start()
        # initdb allows replication connections only over the Unix socket, which gridgov turns
        # off: let the superuser replicate over loopback, with its password.
        with (primary.data_dir / "pg_hba.conf").open("a") as hba:
            hba.write("\nhost replication gridgov 127.0.0.1/32 scram-sha-256\n")
        primary._run(["pg_ctl", "-D", str(primary.data_dir), "reload"])
        replica = _start_standby(primary, base / "replica")
    except (ClusterError, OSError, subprocess.SubprocessError) as exc:
        for cluster in (replica, primary):
            if cluster is not None:
                with contextlib.suppress(ClusterError):
                    cluster.stop()
        unavailable(f"cannot set up a primary and a streaming replica: {exc}")
    assert replica is not None
    try:
        yield Pair(primary, replica)
    finally:
        for cluster in (replica, primary):
            with contextlib.suppress(ClusterError):
                cluster.stop()
        # Under root the data directories may live outside tmp (see gis.pgcluster).
        for cluster in (replica, primary):
            if not cluster.data_dir.is_relative_to(base):
                shutil.rmtree(cluster.data_dir, ignore_errors=True)
        if not primary.data_dir.parent.is_relative_to(base):
            shutil.rmtree(primary.data_dir.parent, ignore_errors=True)


@pytest.fixture
def configured(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """Settings pointing at the primary, with the replica as GRIDGOV_REPLICA_URL."""
    monkeypatch.setenv("GRIDGOV_DATABASE_URL", pair.primary.url())
    monkeypatch.setenv("GRIDGOV_REPLICA_URL", pair.replica.url())
    _dispose_engines()
    _clear_caches()
    yield pair
    _dispose_engines()
    _clear_caches()


def _marker_app() -> FastAPI:
    app = FastAPI()

    @app.get("/read")
    def read(session: ReadSessionDep) -> dict[str, object]:
        row = session.execute(
            text("SELECT pg_is_in_recovery() AS standby, (SELECT note FROM marker) AS note")
        ).one()
        return {"standby": row.standby, "note": row.note}

    @app.post("/write")
    def write(session: SessionDep, note: str) -> dict[str, object]:
        session.execute(text("UPDATE marker SET note = :note"), {"note": note})
        standby = session.execute(text("SELECT pg_is_in_recovery()")).scalar_one()
        return {"standby": standby}

    return app


def test_the_standby_streams_from_the_primary(pair: Pair) -> None:
    with psycopg.connect(pair.replica.url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_is_in_recovery(), status FROM pg_stat_wal_receiver"
        ).fetchone()
    assert row == (True, "streaming")


def test_reads_go_to_the_replica_and_writes_to_the_primary(configured: Pair) -> None:
    with psycopg.connect(configured.primary.url(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS marker")
        conn.execute("CREATE TABLE marker (note text)")
        conn.execute("INSERT INTO marker VALUES ('first')")
    configured.wait_for_replay()

    with TestClient(_marker_app()) as client:
        read = client.get("/read")
        assert read.status_code == 200
        assert read.json() == {"standby": True, "note": "first"}

        written = client.post("/write", params={"note": "second"})
        assert written.status_code == 200
        assert written.json() == {"standby": False}
        configured.wait_for_replay()
        # The write reached the primary, and the replica then served it to the next read.
        with psycopg.connect(configured.primary.url()) as conn:
            assert conn.execute("SELECT note FROM marker").fetchone() == ("second",)
        assert client.get("/read").json() == {"standby": True, "note": "second"}


def test_a_read_session_cannot_write(configured: Pair) -> None:
    with (
        pytest.raises(DBAPIError, match="read-only transaction"),
        db.read_session_scope() as session,
    ):
        session.execute(text("CREATE TABLE should_not_exist (id int)"))


def test_without_a_replica_reads_use_the_primary(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGOV_DATABASE_URL", pair.primary.url())
    monkeypatch.delenv("GRIDGOV_REPLICA_URL", raising=False)
    _dispose_engines()
    _clear_caches()
    try:
        assert db.get_read_engine() is db.get_engine()
        with db.read_session_scope() as session:
            assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False
    finally:
        _dispose_engines()
        _clear_caches()
