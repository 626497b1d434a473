"""Build the scaled benchmark city once, in its own database, and remember what was built.

The city is the demo generator's (``data.demo.load_demo``) at a million households. The generator
makes incidents for the last 90 days only (about 0.15 per household), so a year of history is
topped up in SQL: each generated incident is copied into earlier 46-day windows, closed, at the
same place and in the same grid. The database records both steps (``dataset_load`` rows ``demo``
and ``bench_incidents``), so a second run reuses it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import psycopg

from gis.pgcluster import EmbeddedCluster
from gis.settings import Settings, libpq_url

BENCH_DATABASE = "gridgov_bench"
TOPUP_NAME = "bench_incidents"
# Earlier windows, 46 days apart: six copies of 90 days of incidents span a year.
TOPUP_WINDOW_DAYS = 46


@dataclass(frozen=True)
class CityInfo:
    url: str
    households: int
    grids: int
    buildings: int
    incidents: int
    incident_days: float
    build_seconds: float | None


def server_url() -> str:
    """The libpq URL of the PostgreSQL server that holds the benchmark database."""
    settings = Settings()
    if settings.database_url:
        return libpq_url(settings.database_url)
    cluster = EmbeddedCluster(settings.home, settings.pg_bindir)
    cluster.start()
    return cluster.url()


def with_database(url: str, name: str) -> str:
    return url.rpartition("/")[0] + "/" + name


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def ensure_city(
    households: int, incidents: int = 1_000_000, database: str = BENCH_DATABASE
) -> CityInfo:
    """Create, migrate and fill the benchmark database unless it already holds this city."""
    from data.demo import load_demo
    from gis.migrate import upgrade

    base = server_url()
    url = with_database(base, database)
    started = time.perf_counter()
    with psycopg.connect(with_database(base, "postgres"), autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{database}"')
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    _log("migrating")
    upgrade(url)  # every run: new migrations (indexes, lookup tables) reach the bench database
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT params FROM dataset_load WHERE name = 'demo'").fetchone()
        if row is not None and int(row[0]["households"]) != households:
            raise SystemExit(
                f"{database} holds a city of {row[0]['households']} households, not {households}: "
                f"drop it (DROP DATABASE {database}) or pass --households {row[0]['households']}"
            )
        built = False
        if row is None:
            _log(f"generating and loading the demo city with {households} households")
            last = [0.0]

            def progress(table: str, done: int, total: int) -> None:
                if time.monotonic() - last[0] > 30:
                    last[0] = time.monotonic()
                    _log(f"  {table}: {done}/{total}")

            counts = load_demo(conn, households=households, progress=progress)
            conn.commit()
            _log(f"loaded: {counts}")
            built = True
        if (
            conn.execute("SELECT 1 FROM dataset_load WHERE name = %s", (TOPUP_NAME,)).fetchone()
            is None
        ):
            _topup_incidents(conn, incidents)
            conn.commit()
            built = True
    if built:
        _log("vacuum analyze")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
    info = describe(url, time.perf_counter() - started if built else None)
    _log(f"city ready: {info}")
    return info


def _topup_incidents(conn: psycopg.Connection, target: int) -> None:
    """Copy the generated 90 days of incidents into earlier windows until ``target`` exist."""
    base = conn.execute("SELECT count(*) FROM incident").fetchone()
    n_base = int(base[0]) if base else 0
    copies = 0 if n_base == 0 else max(0, -(-(target - n_base) // n_base))
    # Six copies 46 days apart fill a year after the generated 90 days; more copies (a smaller
    # city) are packed closer so that the history still spans about a year.
    window = min(TOPUP_WINDOW_DAYS, 276 // copies) if copies else TOPUP_WINDOW_DAYS
    _log(f"topping up incidents: {n_base} generated, {copies} earlier copies, {window} days apart")
    # Copies of older windows are closed cases: the generator's open ones belong to "now".
    # Same point, same street/community/grid (routing is benchmarked separately).
    for k in range(1, copies + 1):
        conn.execute(
            """
            INSERT INTO incident (code, kind, category, description, source, status, geom,
                address, street_id, community_id, grid_id, district_code, rework_count, rating,
                reported_at, due_at, closed_at, updated_at)
            SELECT code || '-H' || %(k)s, kind, category, description, source, 'closed', geom,
                address, street_id, community_id, grid_id, district_code, rework_count, rating,
                reported_at - make_interval(days => %(days)s),
                due_at - make_interval(days => %(days)s),
                reported_at - make_interval(days => %(days)s) + interval '2 days',
                reported_at - make_interval(days => %(days)s) + interval '2 days'
            FROM incident WHERE code NOT LIKE '%%-H%%'
            """,
            {"k": k, "days": k * window},
        )
        _log(f"  copy {k}/{copies} inserted")
    conn.execute(
        "INSERT INTO dataset_load (name, params) VALUES (%s, %s::jsonb)",
        (
            TOPUP_NAME,
            json.dumps({"target": target, "copies": copies, "window_days": window}),
        ),
    )


def describe(url: str, build_seconds: float | None = None) -> CityInfo:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            SELECT (SELECT count(*) FROM household),
                   (SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL),
                   (SELECT count(*) FROM building WHERE valid_to IS NULL),
                   (SELECT count(*) FROM incident),
                   (SELECT extract(epoch FROM max(reported_at) - min(reported_at)) / 86400
                      FROM incident)
            """
        ).fetchone()
    assert row is not None
    return CityInfo(
        url, int(row[0]), int(row[1]), int(row[2]), int(row[3]), float(row[4] or 0), build_seconds
    )


if __name__ == "__main__":
    import sys

    ensure_city(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
