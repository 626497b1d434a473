"""Running the real ``gridgov`` command against a small demo-city database of its own."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.conftest import create_test_database, drop_test_database, owner_url

ROOT = Path(__file__).resolve().parents[2]
GRIDGOV = ROOT / ".venv" / "bin" / "gridgov"


@contextmanager
def demo_cli_database(server_url: str, suffix: str, households: int = 400) -> Iterator[str]:
    """A migrated database with a demo city (400 households: one grid), dropped afterwards."""
    from data.demo import load_demo

    url = create_test_database(server_url, suffix)
    with psycopg.connect(owner_url(url)) as conn:
        load_demo(conn, households=households)
        conn.commit()
    try:
        yield url
    finally:
        drop_test_database(server_url, url)


def gridgov(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``gridgov ARGS`` on the database at ``url``; ``stdin`` is fed to it (empty if None)."""
    env = {
        **os.environ,
        "GRIDGOV_DATABASE_URL": url,
        "GRIDGOV_MIGRATION_DATABASE_URL": owner_url(url),  # imports load as the owner
        "COLUMNS": "200",
    }
    return subprocess.run(
        [str(GRIDGOV), *args],
        env=env,
        cwd=ROOT,
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=300,
    )
