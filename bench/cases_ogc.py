"""Case 3: OGC API items pages and MVT tiles, ours vs tipg on the same tables, cold and warm.

tipg itself (its virtualenv, how it is started) comes from ``bench/bench_features_tiles.py``,
whose helpers are reused here. Both servers run with the same number of uvicorn workers.

- cold: every URL requested once, in a fresh order, by 8 concurrent clients — for ours every tile
  is a cache miss (tipg has no cache), for items nothing is cached by either;
- warm: the same URLs again, round-robin by wrk for a fixed time (ours then serves tiles from its
  cache; that is the deployed behaviour, and the point of having one).
"""

from __future__ import annotations

import asyncio
import math
import random
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import psycopg

from bench.cases_http import LoadResult, Spread, free_port, run_wrk, stop
from gis.settings import libpq_url


@dataclass(frozen=True)
class OgcCase:
    name: str
    ours: list[str]
    tipg: list[str]


@dataclass(frozen=True)
class OgcResult:
    name: str
    urls: int
    ours_cold: float
    tipg_cold: float
    ours_warm: Spread
    tipg_warm: Spread
    errors: tuple[int, int]


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    return x, y


def build_cases(database_url: str, per_case: int, seed: int = 9) -> list[OgcCase]:
    """URLs of each case at random places of the city (the same places for both servers)."""
    rng = random.Random(seed)
    with psycopg.connect(libpq_url(database_url)) as conn:
        points = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM building "
            "WHERE valid_to IS NULL ORDER BY md5(code) LIMIT %s) q",
            (per_case * 4,),
        ).fetchall()
    rng.shuffle(points)

    def bboxes(half_deg: float) -> list[str]:
        return [
            f"{x - half_deg:.6f},{y - half_deg:.6f},{x + half_deg:.6f},{y + half_deg:.6f}"
            for x, y in points[:per_case]
        ]

    def tiles(z: int) -> list[tuple[int, int, int]]:
        seen: list[tuple[int, int, int]] = []
        for x, y in points:
            t = (z, *_tile_xy(x, y, z))
            if t not in seen:
                seen.append(t)
            if len(seen) == per_case:
                break
        return seen

    cases = [
        OgcCase(
            "items grids, limit 100, bbox ≈2 km",
            [f"/ogc/collections/grids/items?limit=100&bbox={b}" for b in bboxes(0.01)],
            [f"/collections/public.area/items?level=grid&limit=100&bbox={b}&geom-column=geom"
             for b in bboxes(0.01)],
        ),
        OgcCase(
            "items buildings, limit 100, bbox ≈1 km",
            [f"/ogc/collections/buildings/items?limit=100&bbox={b}" for b in bboxes(0.005)],
            [f"/collections/public.building/items?limit=100&bbox={b}&geom-column=geom"
             for b in bboxes(0.005)],
        ),
        OgcCase(
            "items buildings, limit 1000, bbox ≈4 km",
            [f"/ogc/collections/buildings/items?limit=1000&bbox={b}" for b in bboxes(0.02)],
            [f"/collections/public.building/items?limit=1000&bbox={b}&geom-column=geom"
             for b in bboxes(0.02)],
        ),
        # A client paging small pages without a bbox (issue 19): the count must not scan the
        # city and the page must join only its own rows.
        OgcCase(
            "items buildings, limit 10, no bbox",
            [f"/ogc/collections/buildings/items?limit=10&offset={10 * i}"
             for i in range(per_case)],
            [f"/collections/public.building/items?limit=10&offset={10 * i}&geom-column=geom"
             for i in range(per_case)],
        ),
    ]  # fmt: skip
    for layer, tipg_layer, extra, zooms in (
        ("grids", "public.area", "level=grid&", (10, 12, 13, 14, 16)),
        ("buildings", "public.building", "", (14, 15, 16)),
    ):
        for z in zooms:
            ts = tiles(z)
            cases.append(
                OgcCase(
                    f"tiles {layer} z{z}",
                    [f"/ogc/collections/{layer}/tiles/WebMercatorQuad/{z}/{x}/{y}"
                     for z, x, y in ts],
                    [f"/collections/{tipg_layer}/tiles/WebMercatorQuad/{z}/{x}/{y}?{extra}"
                     "geom-column=geom" for z, x, y in ts],
                )
            )  # fmt: skip
    return cases


async def _once(base: str, paths: list[str], concurrency: int) -> tuple[float, int]:
    """Request every path once with ``concurrency`` clients; requests per second, errors."""
    queue = list(paths)
    errors = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            path = queue.pop()
            response = await client.get(base + path, headers={"Accept-Encoding": "gzip"})
            await response.aread()
            if response.status_code >= 400:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(paths) / elapsed, errors


@contextmanager
def tipg_server(database_url: str, workers: int) -> Iterator[str]:
    from bench import bench_features_tiles as bft

    python = bft.ensure_tipg()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = bft.start(
        [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        {"DATABASE_URL": libpq_url(database_url), "TIPG_DB_SCHEMAS": '["public"]',
         "TIPG_MAX_FEATURES_PER_QUERY": "10000"},
        f"{url}/collections",
    )  # fmt: skip
    try:
        for _ in range(10 * workers):  # every worker loads its catalogue
            httpx.get(f"{url}/collections", timeout=60)
        yield url
    finally:
        stop(process)


def tipg_version() -> str:
    from bench import bench_features_tiles as bft

    python = bft.TIPG_VENV / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-c", "import tipg; print(tipg.__version__)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return proc.stdout.strip() or "?"


def run_case(
    case: OgcCase, ours: str, tipg: str, seconds: float, repeats: int, connections: int = 8
) -> OgcResult:
    ours_cold, ours_err = asyncio.run(_once(ours, case.ours, connections))
    tipg_cold, tipg_err = asyncio.run(_once(tipg, case.tipg, connections))
    ours_runs: list[LoadResult] = []
    tipg_runs: list[LoadResult] = []
    for _ in range(repeats):  # alternate, so that neighbours' load falls on both
        ours_runs.append(run_wrk(ours, connections, seconds, paths=case.ours, threads=2))
        tipg_runs.append(run_wrk(tipg, connections, seconds, paths=case.tipg, threads=2))
    return OgcResult(
        case.name,
        len(case.ours),
        ours_cold,
        tipg_cold,
        Spread.of([r.rate for r in ours_runs]),
        Spread.of([r.rate for r in tipg_runs]),
        (ours_err + sum(r.errors for r in ours_runs), tipg_err + sum(r.errors for r in tipg_runs)),
    )
