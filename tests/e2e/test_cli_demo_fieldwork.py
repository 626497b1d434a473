"""``gridgov demo`` gives the demo grid's accounts their patrols, visits and photos, once."""

from __future__ import annotations

import psycopg

from data.fieldwork import PATROLS_PER_RECORDER, RECORDERS
from tests.e2e.cli_helpers import demo_cli_database, gridgov

COUNTS = (
    "SELECT (SELECT count(*) FROM patrol p JOIN app_user u ON u.id = p.user_id"
    "        WHERE u.username LIKE 'demo\\_%%'),"
    " (SELECT count(*) FROM household_visit v JOIN app_user u ON u.id = v.user_id"
    "  WHERE u.username LIKE 'demo\\_%%'),"
    " (SELECT count(*) FROM media m JOIN app_user u ON u.id = m.uploaded_by"
    "  WHERE u.username LIKE 'demo\\_%%')"
)


def test_gridgov_demo_records_the_demo_grids_field_work_once(server_url: str) -> None:
    with demo_cli_database(server_url, "demofield") as url:
        first = gridgov(url, "demo")
        assert first.returncode == 0, first.stderr
        patrols = PATROLS_PER_RECORDER * len(RECORDERS)
        assert f"demo field work: patrol {patrols}," in first.stdout.replace("\n", " ")
        with psycopg.connect(url) as conn:
            row = conn.execute(COUNTS).fetchone()
        assert row is not None and row[0] == patrols and row[1] > 0 and row[2] > 0
        assert f" media {row[2]}," in first.stdout.replace("\n", " ")
        again = gridgov(url, "demo")
        assert again.returncode == 0, again.stderr
        assert "demo field work" not in again.stdout
        with psycopg.connect(url) as conn:
            assert conn.execute(COUNTS).fetchone() == row
