"""Benchmark: our /ogc items and vector tiles against tipg on the same database, side by side.

Run by hand (not in ``make test``)::

    .venv/bin/python bench/bench_features_tiles.py --database-url postgresql://... [--duration 10]

tipg pins its own FastAPI/Starlette, so it lives in its own virtualenv, ``bench/.venv-tipg``
(created here with ``python3 -m venv`` + ``pip install tipg uvicorn`` when missing; git-ignored).
Both servers run on loopback ports with one worker each; every case is a bounded async httpx load
(fixed concurrency, fixed duration) after a warm-up. Ours runs twice: as deployed (tile cache on)
and with ``GRIDGOV_TILE_CACHE_SIZE=0`` (every tile built by PostGIS, like tipg). If
``/api/v1/locate`` exists it is compared with ``/api/v1/health`` of the same app. Results are
printed and appended to ``bench/RESULTS.md`` with the machine description.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import math
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
TIPG_VENV = ROOT / "bench" / ".venv-tipg"
RESULTS = ROOT / "bench" / "RESULTS.md"


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else math.nan


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_tipg() -> Path:
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3", "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run(
            [str(TIPG_VENV / "bin" / "pip"), "install", "-q", "tipg>=1,<2", "uvicorn"], check=True
        )
    return python


def start(cmd: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        cmd,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"server at {url} did not come up")


async def load(urls: list[str], duration: float, concurrency: int) -> Result:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + duration
    rng = random.Random(7)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            url = rng.choice(urls)
            started = time.perf_counter()
            response = await client.get(url, headers={"Accept-Encoding": "gzip"})
            await response.aread()
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        begun = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - begun
    return Result(len(latencies), errors, elapsed, latencies)


def tiles_covering(conn: psycopg.Connection, table_sql: str, z: int) -> list[tuple[int, int]]:
    row = conn.execute(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform("
        f"ST_SetSRID(ST_Extent(geom)::geometry, 4326), 3857) e FROM ({table_sql}) t) q"
    ).fetchone()
    assert row is not None
    half = 20037508.342789244
    size = 2 * half / 2**z
    x0, x1 = int((row[0] + half) // size), int((row[2] + half) // size)
    y0, y1 = int((half - row[3]) // size), int((half - row[1]) // size)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("GRIDGOV_DATABASE_URL"))
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if not args.database_url:
        from gis.db import database_url

        args.database_url = database_url()
    libpq = "postgresql://" + args.database_url.split("://", 1)[1]
    tipg_python = ensure_tipg()

    with psycopg.connect(libpq) as conn:
        grid_sql = "SELECT geom FROM area WHERE level = 'grid' AND valid_to IS NULL"
        building_sql = "SELECT geom FROM building WHERE valid_to IS NULL"
        grid_tiles = tiles_covering(conn, grid_sql, 14)
        building_tiles = tiles_covering(conn, building_sql, 16)
        n_buildings = conn.execute("SELECT count(*) FROM building").fetchone()[0]  # type: ignore[index]

    ours_port, nocache_port, tipg_port = free_port(), free_port(), free_port()
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--log-level",
        "warning",
    ]
    # The app rate-limits anonymous clients (600/min); a load test is one client, so lift it.
    env = {
        "GRIDGOV_DATABASE_URL": args.database_url,
        "GRIDGOV_ENVIRONMENT": "test",
        "GRIDGOV_RATE_PUBLIC_PER_MINUTE": "10000000",
    }
    servers = []
    try:
        ours = f"http://127.0.0.1:{ours_port}"
        nocache = f"http://127.0.0.1:{nocache_port}"
        tipg = f"http://127.0.0.1:{tipg_port}"
        servers.append(start([*uvicorn, "--port", str(ours_port)], env, f"{ours}/ogc"))
        servers.append(
            start(
                [*uvicorn, "--port", str(nocache_port)],
                {**env, "GRIDGOV_TILE_CACHE_SIZE": "0"},
                f"{nocache}/ogc",
            )
        )
        servers.append(
            start(
                [
                    str(tipg_python),
                    "-m",
                    "uvicorn",
                    "tipg.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(tipg_port),
                    "--log-level",
                    "warning",
                ],
                {
                    "DATABASE_URL": libpq,
                    "TIPG_DB_SCHEMAS": '["public"]',
                    "TIPG_MAX_FEATURES_PER_QUERY": "10000",
                },
                f"{tipg}/collections",
            )
        )
        offsets = list(range(0, max(1, n_buildings), 100))
        cases: list[tuple[str, list[str], list[str], list[str] | None]] = [
            (
                "items grids (limit 100)",
                [f"{ours}/ogc/collections/grids/items?limit=100"],
                [f"{tipg}/collections/public.area/items?level=grid&limit=100&geom-column=geom"],
                None,
            ),
            (
                "items buildings (pages of 100)",
                [f"{ours}/ogc/collections/buildings/items?limit=100&offset={o}" for o in offsets],
                [
                    f"{tipg}/collections/public.building/items?limit=100&offset={o}&geom-column=geom"
                    for o in offsets
                ],
                None,
            ),
            (
                "tiles grids z14",
                [
                    f"{ours}/ogc/collections/grids/tiles/WebMercatorQuad/14/{x}/{y}"
                    for x, y in grid_tiles
                ],
                [
                    f"{tipg}/collections/public.area/tiles/WebMercatorQuad/14/{x}/{y}?level=grid"
                    f"&geom-column=geom"
                    for x, y in grid_tiles
                ],
                [
                    f"{nocache}/ogc/collections/grids/tiles/WebMercatorQuad/14/{x}/{y}"
                    for x, y in grid_tiles
                ],
            ),
            (
                "tiles buildings z16",
                [
                    f"{ours}/ogc/collections/buildings/tiles/WebMercatorQuad/16/{x}/{y}"
                    for x, y in building_tiles
                ],
                [
                    f"{tipg}/collections/public.building/tiles/WebMercatorQuad/16/{x}/{y}"
                    f"?geom-column=geom"
                    for x, y in building_tiles
                ],
                [
                    f"{nocache}/ogc/collections/buildings/tiles/WebMercatorQuad/16/{x}/{y}"
                    for x, y in building_tiles
                ],
            ),
        ]
        rows = []
        for name, ours_urls, tipg_urls, nocache_urls in cases:
            for urls in (ours_urls, tipg_urls, nocache_urls or []):
                if urls:
                    asyncio.run(load(urls, min(2.0, args.duration), 2))  # warm-up
            a = asyncio.run(load(ours_urls, args.duration, args.concurrency))
            b = asyncio.run(load(tipg_urls, args.duration, args.concurrency))
            c = (
                asyncio.run(load(nocache_urls, args.duration, args.concurrency))
                if nocache_urls
                else None
            )
            rows.append((name, a, b, c))
            print(
                f"{name}: ours {a.throughput:.1f}/s, tipg {b.throughput:.1f}/s"
                + (f", ours without cache {c.throughput:.1f}/s" if c else ""),
                flush=True,
            )
        locate_row = None
        has_locate = "/api/v1/locate" in httpx.get(f"{ours}/openapi.json").json()["paths"]
        if has_locate:
            with psycopg.connect(libpq) as conn:
                points = conn.execute(
                    "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints("
                    "ST_Union(geom), 200, 7))).geom p FROM area WHERE level = 'grid' "
                    "AND valid_to IS NULL) q"
                ).fetchall()
            locate_urls = [f"{ours}/api/v1/locate?lon={x}&lat={y}" for x, y in points]
            asyncio.run(load(locate_urls, min(2.0, args.duration), 2))
            la = asyncio.run(load(locate_urls, args.duration, args.concurrency))
            lb = asyncio.run(load([f"{ours}/api/v1/health"], args.duration, args.concurrency))
            locate_row = (la, lb)
            print(f"locate {la.throughput:.1f}/s vs health {lb.throughput:.1f}/s", flush=True)
    finally:
        for process in servers:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    lines = [
        "",
        "## OGC items and tiles vs tipg — "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}. Database: {n_buildings} buildings (demo city). "
        f"{args.duration:g} s per case, concurrency {args.concurrency}, one uvicorn worker each, "
        "requests with Accept-Encoding: gzip. tipg "
        + subprocess.run(
            [str(tipg_python), "-c", "import tipg; print(tipg.__version__)"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        + ". 'ours, no cache' is GRIDGOV_TILE_CACHE_SIZE=0.",
        "",
        "| case | ours req/s | tipg req/s | ours/tipg | ours p50 / p99 ms | tipg p50 / p99 ms "
        "| ours, no cache req/s (ratio to tipg) | errors (ours/tipg) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, a, b, c in rows:
        nocache_cell = f"{c.throughput:.1f} ({c.throughput / b.throughput:.2f})" if c else "—"
        lines.append(
            f"| {name} | {a.throughput:.1f} | {b.throughput:.1f} | "
            f"{a.throughput / b.throughput:.2f} | {a.percentile(0.5):.1f} / "
            f"{a.percentile(0.99):.1f} | {b.percentile(0.5):.1f} / {b.percentile(0.99):.1f} | "
            f"{nocache_cell} | {a.errors}/{b.errors} |"
        )
    if locate_row:
        la, lb = locate_row
        lines.append(
            f"| /api/v1/locate vs /api/v1/health (same app) | {la.throughput:.1f} | "
            f"{lb.throughput:.1f} (health) | {la.throughput / lb.throughput:.2f} | "
            f"{la.percentile(0.5):.1f} / {la.percentile(0.99):.1f} | "
            f"{lb.percentile(0.5):.1f} / {lb.percentile(0.99):.1f} | — | {la.errors}/{lb.errors} |"
        )
    else:
        lines.append(
            "| /api/v1/locate | not measured: the endpoint does not exist yet | | | | | | |"
        )
    text = "\n".join(lines) + "\n"
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nOne section per benchmark run; newest last.\n")
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
