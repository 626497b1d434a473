"""Soak: 200 concurrent clients post incidents for 60 s while the server is SIGKILLed and restarted.

Run by hand (``.venv/bin/python bench/soak_incidents.py``). The script makes its own database on
the embedded cluster (or the server of GRIDGOV_DATABASE_URL), loads a small demo city, starts
uvicorn on a loopback port, and runs the clients. Each client sends a report with a fresh
Idempotency-Key and retries the same request with the same key until it gets a 201. Midway the
server is killed with SIGKILL and started again. Afterwards every acknowledged request must be in
the database (lost = 0) and no key may have made two cases (duplicates = 0). A table is appended to
bench/RESULTS.md; the database and the server are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cases_http import reporting_key  # noqa: E402
from gis.pgcluster import EmbeddedCluster  # noqa: E402
from gis.settings import Settings, libpq_url  # noqa: E402


@dataclass
class Stats:
    acked: dict[str, int] = field(default_factory=dict)  # key -> incident id
    attempts: int = 0
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def server_url() -> str:
    settings = Settings()
    if settings.database_url:
        return libpq_url(settings.database_url)
    cluster = EmbeddedCluster(settings.home, settings.pg_bindir)
    cluster.start()
    return cluster.url()


def with_db(url: str, name: str) -> str:
    return url.rpartition("/")[0] + "/" + name


def make_database(base: str, name: str, households: int) -> str:
    from data.demo import load_demo
    from gis.migrate import upgrade

    with psycopg.connect(with_db(base, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = with_db(base, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    upgrade(url)
    with psycopg.connect(url) as conn:
        load_demo(conn, households=households)
        conn.commit()
    return url


def drop_database(base: str, name: str) -> None:
    with psycopg.connect(with_db(base, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GRIDGOV_DATABASE_URL": url,
        "GRIDGOV_ENVIRONMENT": "test",
        "GRIDGOV_DB_POOL_SIZE": "20",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--backlog",
            "1024",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def client_loop(
    n: int,
    http: httpx.AsyncClient,
    points: list[tuple[float, float]],
    stop_at: float,
    stats: Stats,
    give_up_at: float,
) -> None:
    if True:  # one shared pool: 200 separate AsyncClients failed to connect on this machine
        i = 0
        while time.monotonic() < stop_at:
            key = f"soak-{n}-{i}-{uuid.uuid4().hex[:8]}"
            lon, lat = points[(n * 7919 + i) % len(points)]
            body = {
                "category": "市容环境",
                "description": f"soak {key}",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
            i += 1
            while time.monotonic() < give_up_at:  # keep retrying an unacknowledged request
                stats.attempts += 1
                try:
                    r = await http.post(
                        "/api/v1/incidents", json=body, headers={"Idempotency-Key": key}
                    )
                except httpx.HTTPError as exc:
                    name = f"{type(exc).__name__}({exc})"[:80]
                    stats.errors[name] = stats.errors.get(name, 0) + 1
                    stats.retries += 1
                    await asyncio.sleep(0.2)
                    continue
                if r.status_code == 201:
                    stats.acked[key] = int(r.json()["incident"]["id"])
                    break
                stats.errors[str(r.status_code)] = stats.errors.get(str(r.status_code), 0) + 1
                stats.retries += 1
                await asyncio.sleep(0.2)


async def run_clients(
    base: str,
    points: list[tuple[float, float]],
    clients: int,
    seconds: float,
    on_kill: asyncio.Event,
    api_key: str,
) -> tuple[Stats, float]:
    stats = Stats()
    t0 = time.monotonic()
    stop_at = t0 + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"X-API-Key": api_key}  # public intake needs a key (api/submitters.py)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits, headers=headers) as http:
        tasks = [
            asyncio.create_task(client_loop(n, http, points, stop_at, stats, stop_at + 60))
            for n in range(clients)
        ]
        await asyncio.gather(*tasks)
    return stats, time.monotonic() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--households", type=int, default=3000)
    args = parser.parse_args()

    base = server_url()
    name = f"gridgov_soak_{os.getpid()}"
    print(f"creating database {name} …", flush=True)
    url = make_database(base, name, args.households)
    port = free_port()
    api_key = reporting_key(url)
    proc = start_server(url, port)
    kills = 0
    try:
        with psycopg.connect(url) as conn:
            points = conn.execute(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
                "WHERE level = 'grid' AND valid_to IS NULL) x"
            ).fetchall()
        killer_done = asyncio.Event()

        async def killer() -> None:
            nonlocal proc, kills
            await asyncio.sleep(args.seconds / 2)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            print("server killed with SIGKILL; restarting …", flush=True)
            proc = await asyncio.to_thread(start_server, url, port)
            print("server back", flush=True)
            killer_done.set()

        async def both() -> tuple[Stats, float]:
            k = asyncio.create_task(killer())
            result = await run_clients(
                f"http://127.0.0.1:{port}",
                [tuple(p) for p in points],
                args.clients,
                args.seconds,
                killer_done,
                api_key,
            )
            await k
            return result

        stats, elapsed = asyncio.run(both())
        with psycopg.connect(url) as conn:
            keys = list(stats.acked)
            found = conn.execute(
                "SELECT count(*) FROM idempotency_key k JOIN incident i ON i.id = k.incident_id "
                "WHERE k.endpoint = 'api' AND k.key = ANY(%s) "
                "AND i.id = (%s::jsonb ->> k.key)::bigint",
                (keys, __import__("json").dumps({k: str(v) for k, v in stats.acked.items()})),
            ).fetchone()[0]
            duplicates = conn.execute(
                "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM incident "
                "WHERE description LIKE 'soak %%' GROUP BY description HAVING count(*) > 1) d"
            ).fetchone()[0]
            stored = conn.execute(
                "SELECT count(*) FROM incident WHERE description LIKE 'soak %%'"
            ).fetchone()[0]
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)
        drop_database(base, name)

    acked = len(stats.acked)
    lost = acked - int(found)
    rows = {
        "clients": args.clients,
        "duration_s": round(elapsed, 1),
        "server_kills": kills,
        "attempts": stats.attempts,
        "retries": stats.retries,
        "acknowledged (201)": acked,
        "found in DB": int(found),
        "lost": lost,
        "duplicates": int(duplicates),
        "incidents stored (incl. unacknowledged)": int(stored),
        "throughput (acks/s)": round(acked / elapsed, 1),
        "errors seen by clients": ", ".join(f"{k}×{v}" for k, v in sorted(stats.errors.items()))
        or "none",
    }
    for k, v in rows.items():
        print(f"{k:>42}: {v}")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    section = [
        "",
        f"## Incident intake soak — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`bench/soak_incidents.py`: {args.clients} concurrent clients post incidents with "
        f"Idempotency-Key for {args.seconds:.0f} s; the uvicorn server is killed with SIGKILL "
        "midway and restarted; clients retry with the same key. Machine: " + machine + " "
        "(shared with other work; throughput is indicative only).",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rows.items()],
        "",
    ]
    results = ROOT / "bench" / "RESULTS.md"
    if not results.exists():
        results.write_text("# Benchmark results\n", encoding="utf-8")
    with results.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(section))
    return 0 if lost == 0 and duplicates == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
