"""Benchmark: commit the split of a ~500-household grid in the 1M-household city.

Builds the city once into its own database (``gridgov_bench_boundaries_<N>`` on the embedded
cluster or GRIDGOV_DATABASE_URL's server) and reuses it; every timed commit is rolled back, so
the database stays as built. Side by side, the same steps run on a 20k-household city, so the
ratio shows how commit time grows with the city (it should not: every statement is bounded by
the community being edited).

    .venv/bin/python bench/bench_split_commit.py [--households 1000000] [--repeat 3]

Appends a table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, pool, text
from sqlalchemy.orm import Session

from gis.boundaries import commit, drafts
from gis.db import database_url
from gis.migrate import upgrade
from gis.scope import Viewer
from gis.settings import libpq_url, normalise_database_url

PLANNER = Viewer("bench", "planner", "620881")
RESULTS = Path(__file__).with_name("RESULTS.md")


def ensure_city(server: str, households: int) -> str:
    """A migrated database holding the demo city of ``households``; built only once."""
    from data.demo import load_demo

    name = f"gridgov_bench_boundaries_{households}"
    base = server.rpartition("/")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    upgrade(url)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        counts = load_demo(conn, households=households)
        conn.commit()
        if counts is not None:
            print(f"built {households} households in {time.perf_counter() - started:.0f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return url


def grid_near_500(session: Session) -> Any:
    return session.execute(
        text(
            """
            SELECT g.code, left(g.code, 12) AS community, count(h.id) AS households,
                   ST_XMin(g.geom) - 0.001 AS w, ST_XMax(g.geom) + 0.001 AS e,
                   ST_Y(ST_PointOnSurface(g.geom)) AS y
            FROM area g JOIN building b ON b.grid_id = g.id JOIN household h ON h.building_id = b.id
            WHERE g.level = 'grid' AND g.valid_to IS NULL
            GROUP BY g.id ORDER BY abs(count(h.id) - 500), g.code LIMIT 1
            """
        )
    ).one()


def run_once(url: str) -> dict[str, float]:
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    timings: dict[str, float] = {}
    with Session(engine) as session:
        grid = grid_near_500(session)
        line = {"type": "LineString", "coordinates": [[grid.w, grid.y], [grid.e, grid.y]]}
        t = time.perf_counter()
        draft = drafts.open_draft(session, PLANNER, grid.community, "bench")
        timings["open draft"] = time.perf_counter() - t
        t = time.perf_counter()
        draft, _state, _ = drafts.add_operation(
            session, PLANNER, draft.id, "split", {"code": grid.code, "line": line}
        )
        timings["split + validate"] = time.perf_counter() - t
        t = time.perf_counter()
        impact = commit.impact(session, PLANNER, draft.id)
        timings["impact preview"] = time.perf_counter() - t
        new = [a["code"] for a in impact["after"] if a["status"] == "new"]
        branches = dict.fromkeys(impact["required_choices"]["party_branches"], new[0])
        t = time.perf_counter()
        commit.commit(
            session,
            PLANNER,
            draft.id,
            "bench",
            {"party_branches": branches, "blank_grids": new[1:], "chiefs": dict.fromkeys(new)},
        )
        session.flush()
        timings["commit"] = time.perf_counter() - t
        timings["households"] = float(grid.households)
        session.rollback()
    engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = libpq_url(os.environ.get("GRIDGOV_DATABASE_URL") or database_url())
    cities = {n: ensure_city(server, n) for n in (args.baseline, args.households)}
    medians: dict[int, dict[str, float]] = {}
    for n, url in cities.items():
        runs = [run_once(url) for _ in range(args.repeat)]
        medians[n] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(n, medians[n])
    big, small = medians[args.households], medians[args.baseline]
    lines = [
        "",
        f"## bench_split_commit — {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, {platform.platform()}. Median of {args.repeat} runs; "
        "every commit rolled back.",
        f"Split grid: {int(big['households'])} households ({args.households:,}-household city) vs "
        f"{int(small['households'])} households ({args.baseline:,}-household city).",
        "",
        f"| step | {args.households:,} households (s) | {args.baseline:,} households (s) | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for step in ("open draft", "split + validate", "impact preview", "commit"):
        ratio = big[step] / small[step] if small[step] else float("nan")
        lines.append(f"| {step} | {big[step]:.3f} | {small[step]:.3f} | {ratio:.2f} |")
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
