"""One command for gridgov's performance at city scale (issue 9).

    .venv/bin/python -m bench.harness [--households 1000000] [--quick] [--only 1,2,6]

Builds the scaled city once into its own database (``gridgov_bench``; see
:mod:`bench.scaled_city`), then runs the cases side by side on the same data and machine and
writes one markdown table, with the machine and the date, to its own section of
``bench/RESULTS.md`` (between ``<!-- harness:begin -->`` and ``<!-- harness:end -->``; the other
sections belong to other scripts). Throughputs are medians of repeated runs with their range.

Cases: 1 locate vs a trivial endpoint of the same app; 2 bulk routing of incident points in SQL;
3 OGC items and MVT tiles vs tipg, cold and warm; 4 raw tile SQL vs our tile endpoint; 5 map pages
in headless Chromium; 6 incident intake at 50 and 200 clients; 7 committing a grid split; 8 health
and cached tile hits vs the no-op; 9 JSON/GeoJSON bytes and time with and without gzip; 10 the
count and page SQL of a small items page, EXPLAINed, now and before; 11 health latency under
1,000 open event streams, and one event's way to all of them.
Servers are uvicorn with ``--workers`` processes (2 by default, one per core); the HTTP client is
wrk. Nothing leaves loopback.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import random
import re
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from bench import cases_http as http
from bench.scaled_city import BENCH_DATABASE, CityInfo, ensure_city
from gis.settings import libpq_url

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN = "<!-- harness:begin -->"
END = "<!-- harness:end -->"

INCIDENT_CATEGORIES = ("市容环境", "街面秩序", "宣传广告", "公用设施", "交通设施", "园林绿化设施")


@dataclass
class Row:
    case: str
    measure: str
    ours: str
    baseline: str
    target: str
    met: bool | None  # None: no target or not measured
    note: str = ""


@dataclass
class Run:
    args: argparse.Namespace
    city: CityInfo
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return 3.0 if self.args.quick else self.args.duration

    @property
    def repeats(self) -> int:
        return 1 if self.args.quick else self.args.repeats


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kib / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _server_versions(url: str) -> str:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), postgis_lib_version(), "
            "current_setting('shared_buffers'), current_setting('max_parallel_workers_per_gather')"
        ).fetchone()
    assert row is not None
    return (
        f"PostgreSQL {row[0]}, PostGIS {row[1]}, shared_buffers {row[2]}, "
        f"max_parallel_workers_per_gather {row[3]}"
    )


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


# -- case 1 -----------------------------------------------------------------------------------
def random_points(url: str, n: int, seed: float = 0.42) -> list[tuple[float, float]]:
    """``n`` points inside current grids, spread over the whole city, reproducible."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("SELECT setseed(%s)", (seed,))
        rows = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 1, 7))).geom p "
            "FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY random() LIMIT %s) q",
            (n,),
        ).fetchall()
    return [(float(x), float(y)) for x, y in rows]


def case_locate(run: Run) -> None:
    """Locate against the no-op of the same server, as deployed and with a liveness ping on
    every pool checkout (``GRIDGOV_DB_PING_AFTER_IDLE_SECONDS=0``, SQLAlchemy's pre-ping, what
    every request paid before issue 19); both servers up, runs interleaved."""
    from contextlib import ExitStack

    points = random_points(run.city.url, 2000)
    locate = [f"/api/v1/locate?lon={x:.6f}&lat={y:.6f}" for x, y in points]
    noop = ["/bench/noop"]
    conns = run.args.connections
    variants: dict[str, dict[str, str]] = {
        "as deployed": {},
        "ping every checkout": {"GRIDGOV_DB_PING_AFTER_IDLE_SECONDS": "0"},
    }
    got: dict[str, tuple[list[http.LoadResult], list[http.LoadResult]]] = {
        label: ([], []) for label in variants
    }
    with ExitStack() as stack:
        bases = {
            label: stack.enter_context(http.serve(run.city.url, run.args.workers, env))
            for label, env in variants.items()
        }
        for base in bases.values():
            http.run_wrk(base, conns, 2, paths=locate, threads=2)  # warm-up
            http.run_wrk(base, conns, 2, paths=noop, threads=2)
        for _ in range(run.repeats):
            for label, base in bases.items():
                ours, trivial = got[label]
                ours.append(http.run_wrk(base, conns, run.seconds, paths=locate, threads=2))
                trivial.append(http.run_wrk(base, conns, run.seconds, paths=noop, threads=2))
    for label, (ours, trivial) in got.items():
        a = http.Spread.of([r.rate for r in ours])
        b = http.Spread.of([r.rate for r in trivial])
        ratio = a.median / b.median
        errors = sum(r.errors for r in ours) + sum(r.errors for r in trivial)
        run.rows.append(
            Row(
                f"1 locate over HTTP ({label})",
                f"req/s, {conns} connections, {run.args.workers} workers",
                f"{a.show()} (p99 {statistics.median(r.p99_ms for r in ours):.0f} ms)",
                f"{b.show()} (/bench/noop, same server)",
                "≥ 50 % of the no-op",
                ratio >= 0.50,
                f"{_pct(ratio)} of the no-op; errors {errors}",
            )
        )


# -- case 2 -----------------------------------------------------------------------------------
def case_routing(run: Run) -> None:
    from bench.cases_sql import bulk_routing

    results = {r.method: r for r in bulk_routing(run.city.url, run.repeats)}
    # The per-point grid_at is the baseline: the join must route the same points faster.
    base = results["lookup"]
    labels = {
        "lookup": "grid_at, point by point",
        "lookup_join": "grid_lookup, polygon-driven join",
    }
    best = max(results.values(), key=lambda r: r.points_per_second.median)
    for method, label in labels.items():
        r = results[method]
        run.rows.append(
            Row(
                f"2 bulk routing in SQL: {label}",
                f"points/s over {r.counts.points:,} incidents (s per run)",
                f"{r.points_per_second.show()} ({r.seconds.show(2)} s)",
                f"grid_at point by point: {base.points_per_second.show()} "
                f"({base.seconds.show(2)} s)",
                "≥ 200,000 points/s",
                r.points_per_second.median >= 200_000,
                f"{r.points_per_second.median / base.points_per_second.median:.1f}× per point; "
                f"routed {r.counts.routed:,}, differing from stored grid {r.counts.differing:,}"
                + (" (fastest)" if r is best else ""),
            )
        )


# -- case 3 and 4 -----------------------------------------------------------------------------
def case_ogc(run: Run) -> None:
    from bench import cases_ogc

    if not (ROOT / "bench" / "bench_features_tiles.py").exists():
        run.rows.append(
            Row(
                "3 OGC items/tiles vs tipg",
                "",
                "—",
                "—",
                "",
                None,
                "bench/bench_features_tiles.py (tipg setup) is missing",
            )
        )
        return
    cases = cases_ogc.build_cases(run.city.url, per_case=60 if run.args.quick else 200)
    if run.args.ogc_match:  # e.g. "limit 10;tiles grids": the rows to rerun
        wanted = run.args.ogc_match.split(";")
        cases = [c for c in cases if any(w in c.name for w in wanted)]
    with (
        http.serve(run.city.url, run.args.workers, factory="api.app:create_app") as ours,
        cases_ogc.tipg_server(run.city.url, run.args.workers) as tipg,
    ):
        for case in cases:
            _log(f"  {case.name}")
            r = cases_ogc.run_case(case, ours, tipg, run.seconds, run.repeats)
            cold, warm = r.ours_cold / r.tipg_cold, r.ours_warm.median / r.tipg_warm.median
            run.rows.append(
                Row(
                    f"3 {r.name}",
                    f"req/s over {r.urls} URLs: cold (each once) / warm",
                    f"{r.ours_cold:,.0f} / {r.ours_warm.show()}",
                    f"tipg {r.tipg_cold:,.0f} / {r.tipg_warm.show()}",
                    "≥ 1× cold, ≥ 2× warm",
                    cold >= 1.0 and warm >= 2.0,
                    f"cold {cold:.2f}×, warm {warm:.2f}×; "
                    f"errors ours/tipg {r.errors[0]}/{r.errors[1]}",
                )
            )
    run.notes.append(f"tipg {cases_ogc.tipg_version()} from bench/.venv-tipg.")


def case_tile_overhead(run: Run) -> None:
    from bench.cases_sql import sample_tiles, tile_sql_vs_http

    n = 30 if run.args.quick else 100
    layers = (
        ("grids", "SELECT geom FROM area WHERE level = 'grid' AND valid_to IS NULL", 14),
        ("buildings", "SELECT geom FROM building WHERE valid_to IS NULL", 16),
    )
    with http.serve(
        run.city.url, 1, {"GRIDGOV_TILE_CACHE_SIZE": "0"}, factory="api.app:create_app"
    ) as base:
        for collection, source, z in layers:
            tiles = sample_tiles(run.city.url, source, z, n)
            r = tile_sql_vs_http(run.city.url, base, collection, tiles, run.repeats)
            run.rows.append(
                Row(
                    f"4 tile {collection} z{z}: raw SQL vs endpoint",
                    f"ms per tile, {r.tiles} tiles one at a time, no tile cache",
                    f"endpoint {r.http_ms.show(1)}",
                    f"SQL {r.sql_ms.show(1)}",
                    "endpoint ≤ 1.3× SQL",
                    r.ratio <= 1.3,
                    f"{r.ratio:.2f}×",
                )
            )


# -- case 5 -----------------------------------------------------------------------------------
def case_pages(run: Run) -> None:
    from bench.cases_browser import CHROMIUM, map_pages, measure_pages

    if not Path(CHROMIUM).exists():
        run.rows.append(Row("5 map pages", "", "—", "—", "", None, f"{CHROMIUM} missing"))
        return
    # The command centre and the planning page are for staff: sign in as the demo admin.
    import secrets

    from gis.accounts import demo_username, ensure_demo_accounts

    password = secrets.token_urlsafe(16)  # set anew on the bench database's demo accounts
    with psycopg.connect(libpq_url(run.city.url)) as conn:
        ensure_demo_accounts(conn, password)
        conn.commit()
    login = (demo_username("admin"), password)
    with http.serve(run.city.url, run.args.workers, factory="api.app:create_app") as base:
        # /plan draws grids once a draft is open: open one on the first community (a planner's
        # working view), measure /plan?draft=<id>, discard it afterwards.
        auth = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": login[0], "password": login[1]}
        )
        auth.raise_for_status()
        bearer = {"Authorization": f"Bearer {auth.json()['access_token']}"}
        with psycopg.connect(libpq_url(run.city.url)) as conn:
            row = conn.execute(
                "SELECT code FROM area WHERE level = 'community' AND valid_to IS NULL "
                "ORDER BY code LIMIT 1"
            ).fetchone()
        draft = httpx.post(
            f"{base}/api/v1/plan/drafts", json={"scope_code": row[0] if row else ""},
            headers=bearer, timeout=60,
        )  # fmt: skip
        draft.raise_for_status()
        draft_id = draft.json()["id"]
        pages = [f"/plan?draft={draft_id}" if p == "/plan" else p for p in map_pages(base)]
        try:
            results = measure_pages(
                base, 1 if run.args.quick else 3, staff_login=login, pages=pages
            )
        finally:
            httpx.delete(f"{base}/api/v1/plan/drafts/{draft_id}", headers=bearer, timeout=60)
        for p in results:
            drawn = "not drawn" if p.first_grid_ms is None else f"{p.first_grid_ms:,.0f} ms"
            run.rows.append(
                Row(
                    f"5 map page {p.path}",
                    "HTML bytes; first grid drawn (median, cold browser cache)",
                    f"{p.html_bytes / 1024:,.0f} KB; {drawn}",
                    "—",
                    "< 500 KB, < 2 s",
                    p.html_bytes < 500 * 1024
                    and p.first_grid_ms is not None
                    and p.first_grid_ms < 2000,
                    f"all responses {p.transferred_bytes / 1024:,.0f} KB (content-length)"
                    + (f"; {p.error}" if p.error else ""),
                )
            )
            if p.idle_bytes is not None:
                kinds = ", ".join(
                    f"{kind} {size / 1024:,.0f} KB"
                    for kind, size in sorted(p.idle_bytes.items(), key=lambda kv: -kv[1])
                )
                run.rows.append(
                    Row(
                        f"5 map page {p.path}: to network idle",
                        "bytes on the wire (bodies as sent, headers), median of the runs",
                        f"{p.idle_total / 1024:,.0f} KB",
                        "—",
                        "< 800 KB" if p.path == "/" else "—",
                        p.idle_total < 800 * 1024 if p.path == "/" else None,
                        kinds,
                    )
                )


# -- case 6 -----------------------------------------------------------------------------------
def intake_bodies(url: str, n: int) -> list[str]:
    rng = random.Random(6)
    bodies = []
    for i, (x, y) in enumerate(random_points(url, n, seed=0.6)):
        bodies.append(
            json.dumps(
                {
                    "category": rng.choice(INCIDENT_CATEGORIES),
                    "description": f"压测事件 {i}: 路灯不亮 / benchmark report {i}",
                    "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
                    "source": "public",
                },
                ensure_ascii=False,
            )
        )
    return bodies


def case_intake(run: Run) -> None:
    bodies = intake_bodies(run.city.url, 2000)
    with psycopg.connect(libpq_url(run.city.url)) as conn:
        before = conn.execute("SELECT max(id) FROM incident").fetchone()
    first_new = int(before[0] or 0) if before else 0
    try:
        # Public intake needs an API client's key (or a sign-in): the query form suits wrk.
        post_path = f"/api/v1/incidents?api_key={http.reporting_key(run.city.url)}"
        with http.serve(run.city.url, run.args.workers, factory="api.app:create_app") as base:
            http.run_wrk(base, 10, 2, post_path=post_path, bodies=bodies)  # warm-up
            for clients in (50, 200):
                results = [
                    http.run_wrk(
                        base, clients, run.seconds, post_path=post_path,
                        bodies=bodies, threads=2,
                    )
                    for _ in range(run.repeats)
                ]  # fmt: skip
                rate = http.Spread.of([r.rate for r in results])
                p50 = http.Spread.of([r.p50_ms for r in results])
                p99 = http.Spread.of([r.p99_ms for r in results])
                errors = sum(r.errors for r in results)
                if clients == 50:
                    target, met = (
                        "≥ 300/s, p99 < 200 ms",
                        rate.median >= 300 and p99.median < 200 and errors == 0,
                    )
                else:
                    target, met = "no errors", errors == 0
                run.rows.append(
                    Row(
                        f"6 incident intake, {clients} clients",
                        "POST /api/v1/incidents per s; p50 / p99 ms",
                        f"{rate.show()}; {p50.show()} / {p99.show()}",
                        "—",
                        target,
                        met,
                        f"errors {errors} of {sum(r.requests for r in results):,}",
                    )
                )
    finally:
        # Keep the benchmark city as it was: the reports posted here are removed again.
        with psycopg.connect(libpq_url(run.city.url)) as conn:
            conn.execute("DELETE FROM incident WHERE id > %s", (first_new,))
            conn.commit()


# -- case 7 -----------------------------------------------------------------------------------
def case_split(run: Run) -> None:
    script = ROOT / "bench" / "bench_split_commit.py"
    if not script.exists():
        run.rows.append(
            Row("7 split commit of a 500-household grid", "s", "—", "—", "< 1 s", None,
                "not measured: bench/bench_split_commit.py (boundary editing) not present yet")
        )  # fmt: skip
        return
    spec = importlib.util.spec_from_file_location("bench_split_commit", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # run_once(url) -> {"open draft", "split + validate", "impact preview", "commit": seconds,
    # "households": n}: one split of the grid nearest 500 households, rolled back afterwards.
    runs = [module.run_once(run.city.url) for _ in range(run.repeats)]
    commit = http.Spread.of([r["commit"] for r in runs])
    steps = "; ".join(
        f"{step} {statistics.median(r[step] for r in runs):.3f} s"
        for step in ("open draft", "split + validate", "impact preview")
        if step in runs[0]
    )
    run.rows.append(
        Row(
            "7 split commit of a grid",
            f"s per commit ({int(runs[0]['households'])} households in the grid)",
            commit.show(3),
            "—",
            "< 1 s",
            commit.median < 1.0,
            f"bench/bench_split_commit.py run_once, rolled back; before the commit: {steps}",
        )
    )


# -- case 8 -----------------------------------------------------------------------------------
def case_cheap_reads(run: Run) -> None:
    """Health (liveness, readiness) and cached tile hits against the no-op of the same app.

    The tile hits run twice: as deployed (the data version read at most every
    GRIDGOV_TILE_VERSION_CHECK_MS) and with the version read on every request (the setting at 0,
    what every hit did before issue 19), interleaved with the no-op of the same server.
    """
    from bench import cases_ogc

    tiles = next(
        c.ours for c in cases_ogc.build_cases(run.city.url, 50) if c.name == "tiles grids z14"
    )
    conns = run.args.connections
    variants = (
        ("as deployed", {}),
        ("version read per request", {"GRIDGOV_TILE_VERSION_CHECK_MS": "0"}),
    )
    for label, env in variants:
        with http.serve(run.city.url, run.args.workers, env) as base:
            paths = {
                "noop": ["/bench/noop"],
                "live": ["/api/v1/health/live"],
                "ready": ["/api/v1/health"],
                "tile": tiles,
            }
            for p in paths.values():  # warm-up: every tile cached in every worker
                http.run_wrk(base, conns, 2, paths=p, threads=2)
            got: dict[str, list[http.LoadResult]] = {k: [] for k in paths}
            for _ in range(run.repeats):
                for key, p in paths.items():
                    got[key].append(http.run_wrk(base, conns, run.seconds, paths=p, threads=2))
        noop = http.Spread.of([r.rate for r in got["noop"]])
        measured = (("tile", f"cached tile hit, grids z14 ({label})"),)
        if not env:
            measured = (
                ("live", "GET /api/v1/health/live (liveness)"),
                ("ready", "GET /api/v1/health (readiness)"),
                *measured,
            )
        for key, name in measured:
            rate = http.Spread.of([r.rate for r in got[key]])
            p99 = statistics.median(r.p99_ms for r in got[key])
            cost = noop.median / rate.median  # time per request relative to the no-op
            run.rows.append(
                Row(
                    f"8 {name}",
                    f"req/s, {conns} connections, {run.args.workers} workers",
                    f"{rate.show()} (p99 {p99:.0f} ms)",
                    f"{noop.show()} (/bench/noop, same app)",
                    "≤ 1.5× the no-op's time",
                    cost <= 1.5,
                    f"{cost:.2f}× the no-op's time; errors {sum(r.errors for r in got[key])}",
                )
            )


# -- case 9 -----------------------------------------------------------------------------------
def case_compression(run: Run) -> None:
    """Bytes and time of JSON/GeoJSON answers with and without gzip (one client, in turn)."""
    from bench import cases_ogc

    bbox = next(
        c.ours[0].partition("bbox=")[2]
        for c in cases_ogc.build_cases(run.city.url, 5)
        if c.name == "items buildings, limit 1000, bbox ≈4 km"
    )
    urls = {
        "grids, limit 1000": "/ogc/collections/grids/items?limit=1000",
        "party organisations, 4 km bbox": (
            f"/ogc/collections/party_orgs/items?limit=1000&bbox={bbox}"
        ),
        "service facilities, 4 km bbox": (
            f"/ogc/collections/service_facilities/items?limit=1000&bbox={bbox}"
        ),
        "buildings, limit 1000, 4 km bbox": (
            f"/ogc/collections/buildings/items?limit=1000&bbox={bbox}"
        ),
    }
    n = 5 if run.args.quick else 20
    with (
        http.serve(run.city.url, 1, factory="api.app:create_app") as base,
        httpx.Client(base_url=base, timeout=120) as client,
    ):
        for name, url in urls.items():
            sizes: dict[str, int] = {}
            times: dict[str, list[float]] = {"gzip": [], "identity": []}
            for _ in range(n):
                for coding in ("gzip", "identity"):  # interleaved
                    started = time.perf_counter()
                    with client.stream("GET", url, headers={"Accept-Encoding": coding}) as r:
                        raw = b"".join(r.iter_raw())
                        r.raise_for_status()
                    times[coding].append((time.perf_counter() - started) * 1000)
                    sizes[coding] = len(raw)
            z, plain = http.Spread.of(times["gzip"]), http.Spread.of(times["identity"])
            run.rows.append(
                Row(
                    f"9 gzip: {name}",
                    f"bytes on the wire; ms per request, one client, {n} each",
                    f"{sizes['gzip'] / 1024:,.0f} KB; {z.show(1)} ms",
                    f"identity {sizes['identity'] / 1024:,.0f} KB; {plain.show(1)} ms",
                    "≤ 25 % of the bytes",
                    sizes["gzip"] <= 0.25 * sizes["identity"],
                    f"{sizes['gzip'] / sizes['identity'] * 100:.0f} % of the bytes, "
                    f"{z.median / plain.median:.2f}× the time (loopback: no network to save)",
                )
            )


# -- case 10 ----------------------------------------------------------------------------------
# The last revision before issue 19's second part: its SQL sources are the "before" of case 10.
BEFORE_ISSUE_19 = "1a6ac74"


def case_items_plans(run: Run) -> None:
    """EXPLAIN ANALYZE of the count and the page of ``buildings?limit=10`` (no bbox): the SQL as
    the app builds it, with the collection's source now and before issue 19."""
    import subprocess

    from bench.cases_sql import items_plans

    shown = subprocess.run(
        ["git", "show", f"{BEFORE_ISSUE_19}:gis/sql/features_buildings.sql"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    old = shown.stdout if shown.returncode == 0 else None
    results = items_plans(run.city.url, "buildings", 10, old, 3 if run.args.quick else 10)
    by = {(r.statement, r.source): r for r in results}
    for statement in ("count", "page"):
        now = by[(statement, "now")]
        before = by.get((statement, "before"))
        run.rows.append(
            Row(
                f"10 items buildings limit 10, no bbox: {statement} SQL",
                "ms (EXPLAIN ANALYZE, median); shared buffers",
                f"{now.ms.show(2)} ms; {now.buffers:,} buffers",
                "—" if before is None else
                f"before ({BEFORE_ISSUE_19}): {before.ms.show(2)} ms; {before.buffers:,} buffers",
                "reads only the page's rows" if statement == "page" else "reads only building",
                None,
                f"now: {now.nodes}" + ("" if before is None else f" — before: {before.nodes}"),
            )
        )  # fmt: skip


# -- case 11 ----------------------------------------------------------------------------------
STREAMS = 1000
# Issue 19's measurement of the polling streams (each polled the database every 0.5 s); that code
# is gone, so the harness cannot rerun it — the row shows it beside the new number.
POLLING_BEFORE = "before (streams polling, issue 19): 600 streams took health from 23 ms to ≈ 1 s"


def _health_latency(base: str, seconds: float) -> http.LoadResult:
    return http.run_wrk(base, 4, seconds, paths=["/api/v1/health"], threads=2)


def _listeners(url: str) -> int:
    from gis.eventhub import APPLICATION_NAME

    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s",
            (f"{APPLICATION_NAME}:%",),
        ).fetchone()
    return int(row[0]) if row else 0


def _commit_event(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "INSERT INTO incident_event (incident_id, kind, status, payload) "
            "SELECT min(id), 'updated', 'reported', '{}' FROM incident RETURNING id"
        ).fetchone()
        conn.commit()
    assert row is not None
    return int(row[0])


def case_streams(run: Run) -> None:
    """Readiness latency with no stream open and with 1,000 open event streams, in turn on the
    same server, and the time one committed event takes to reach all of them.

    Streams share one LISTEN connection per worker (gis/eventhub.py); an idle stream costs no
    database work, so health should not notice them.
    """
    import resource

    from bench.cases_streams import StreamCrowd

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * STREAMS:  # the crowd's sockets; the servers inherit the limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8 * STREAMS), hard))
    env = {"GRIDGOV_STREAMS_PER_CLIENT": "100", "GRIDGOV_STREAMS_PER_WORKER": str(4 * STREAMS)}
    quiet: list[http.LoadResult] = []
    crowded: list[http.LoadResult] = []
    fanout: list[float] = []
    opened: list[int] = []
    listeners: list[int] = []
    events: list[int] = []
    try:
        with http.serve(run.city.url, run.args.workers, env) as base:
            _health_latency(base, 2)  # warm-up
            for _ in range(run.repeats):
                quiet.append(_health_latency(base, run.seconds))
                with StreamCrowd(base, STREAMS) as crowd:
                    opened.append(crowd.opened)
                    time.sleep(2)  # let every stream settle into its wait
                    listeners.append(_listeners(run.city.url))
                    crowded.append(_health_latency(base, run.seconds))
                    t0 = time.perf_counter()
                    events.append(_commit_event(run.city.url))
                    reached = crowd.wait_delivered(1, 60)
                    if reached is not None:
                        fanout.append(time.perf_counter() - t0)
    finally:
        if events:
            with psycopg.connect(libpq_url(run.city.url)) as conn:
                conn.execute("DELETE FROM incident_event WHERE id = ANY(%s)", (events,))
                conn.commit()

    def ms(results: list[http.LoadResult]) -> str:
        p50 = http.Spread.of([r.p50_ms for r in results])
        p99 = statistics.median(r.p99_ms for r in results)
        return f"{p50.show(1)} / {p99:.0f} ms"

    p50_crowded = statistics.median(r.p50_ms for r in crowded)
    errors = sum(r.errors for r in crowded)
    run.rows.append(
        Row(
            f"11 GET /api/v1/health under {STREAMS:,} open event streams",
            "ms p50 / p99 (wrk, 4 connections); streams opened",
            f"{ms(crowded)}; {min(opened):,} of {STREAMS:,} streams open",
            f"no stream open: {ms(quiet)} (same server, alternating)",
            "< 50 ms",
            p50_crowded < 50 and min(opened) == STREAMS and errors == 0,
            f"{p50_crowded / statistics.median(r.p50_ms for r in quiet):.2f}× the quiet p50; "
            f"{max(listeners)} listener connection(s) for {run.args.workers} workers; "
            f"errors {errors}; {POLLING_BEFORE}",
        )
    )
    run.rows.append(
        Row(
            f"11 one committed event to {STREAMS:,} streams",
            "s from commit until every stream has it",
            "not delivered to all" if not fanout else http.Spread.of(fanout).show(2),
            "—",
            "every stream gets it",
            len(fanout) == len(events) and bool(events),
            f"{len(fanout)} of {len(events)} events reached all {STREAMS:,} streams",
        )
    )


CASES: dict[str, Callable[[Run], None]] = {
    "1": case_locate,
    "2": case_routing,
    "3": case_ogc,
    "4": case_tile_overhead,
    "5": case_pages,
    "6": case_intake,
    "7": case_split,
    "8": case_cheap_reads,
    "9": case_compression,
    "10": case_items_plans,
    "11": case_streams,
}


# -- results ----------------------------------------------------------------------------------
def _case_number(line: str) -> int:
    found = re.match(r"^\| ([0-9]+) ", line)
    return int(found.group(1)) if found else 0


def render(
    run: Run, started: datetime.datetime, elapsed: float, kept: list[str] | None = None
) -> str:
    c = run.city
    lines = [
        BEGIN,
        f"## Harness (issue 9) — {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `.venv/bin/python -m bench.harness {' '.join(sys.argv[1:])}`".rstrip() + ".",
        f"Machine: {machine()}. {_server_versions(c.url)}.",
        f"City (`{c.url.rpartition('/')[2]}`): {c.households:,} households, {c.grids:,} grids, "
        f"{c.buildings:,} buildings, {c.incidents:,} incidents over {c.incident_days:.0f} days.",
        f"Servers: uvicorn with {run.args.workers} workers each (ours and tipg alike); client: wrk "
        f"(C), loopback; {run.seconds:g} s per run, {run.repeats} run(s) per cell, median "
        f"(min–max). The machine is shared with other work, so ranges are wide.",
        "",
        "| case | measure | ours | baseline | target | met | notes |",
        "| --- | --- | ---: | ---: | --- | :---: | --- |",
    ]
    new = [
        f"| {r.case} | {r.measure} | {r.ours} | {r.baseline} | {r.target} | "
        f"{'—' if r.met is None else ('yes' if r.met else '**no**')} | {r.note} |"
        for r in run.rows
    ]
    lines += sorted(new + (kept or []), key=_case_number)  # by case number, stable
    if kept:
        run.notes.append(
            f"Cases {run.args.only} were rerun at {started:%H:%M} UTC; the other rows are from the "
            "previous run, on the same machine and data."
        )
    lines += [
        "",
        *[f"- {n}" for n in run.notes],
        f"- Harness wall time {elapsed / 60:.1f} min.",
        END,
    ]
    return "\n".join(lines) + "\n"


PATTERN = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.S)


def previous_rows(cases: set[str]) -> list[str]:
    """Table rows of the last full run for the cases *not* rerun now (``--only``)."""
    if not RESULTS.exists():
        return []
    found = PATTERN.search(RESULTS.read_text(encoding="utf-8"))
    if not found:
        return []
    rows = []
    for line in found.group(0).splitlines():
        number = re.match(r"^\| ([0-9]+) ", line)
        if number and number.group(1) not in cases:
            rows.append(line)
    return rows


def write_results(section: str) -> None:
    """Replace this harness's section of RESULTS.md (or append it); leave the rest alone."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = PATTERN
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--database", default=BENCH_DATABASE, help="name of the bench database")
    parser.add_argument("--quick", action="store_true", help="3 s runs, one run per cell")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections, case 1")
    parser.add_argument("--only", default=",".join(CASES), help="cases to run, e.g. 1,2,6")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    parser.add_argument(
        "--ogc-match",
        default="",
        help="case 3: only the rows whose name contains one of these ;-separated texts",
    )
    args = parser.parse_args(argv)
    if not http.wrk_available():
        print("wrk is needed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    started = datetime.datetime.now(datetime.UTC)
    t0 = time.perf_counter()
    city = ensure_city(args.households, args.incidents, args.database)
    run = Run(args, city)
    if city.build_seconds:
        run.notes.append(f"The city was built in this run ({city.build_seconds / 60:.1f} min).")
    for key in args.only.split(","):
        case = CASES[key.strip()]
        _log(f"case {key}: {case.__name__}")
        try:
            case(run)
        except Exception as exc:  # a broken case must not lose the others' results
            traceback.print_exc()
            run.rows.append(Row(f"{key} {case.__name__}", "", "—", "—", "", None,
                                f"failed: {type(exc).__name__}: {str(exc)[:160]}"))  # fmt: skip
        for row in run.rows:
            if row.case.startswith(key):
                _log(f"  {row}")
    kept = [] if args.no_write else previous_rows({k.strip() for k in args.only.split(",")})
    section = render(run, started, time.perf_counter() - t0, kept)
    print(section)
    if not args.no_write:
        write_results(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
