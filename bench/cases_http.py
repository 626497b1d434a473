"""HTTP load for the harness: our app under uvicorn workers, and wrk (Debian) as the client.

wrk is a C load generator: on a 2-core machine a Python client would saturate a core before the
server does, and then every ratio measured would be the client's. Each run is bounded by time
(``-d``) and connections (``-c``); its Lua script picks requests and prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]

# The app limits anonymous clients per minute; a load test is one client, so lift the limit.
UNLIMITED_ENV = {
    "GRIDGOV_ENVIRONMENT": "test",
    "GRIDGOV_RATE_PUBLIC_PER_MINUTE": "100000000",
    "GRIDGOV_RATE_SIGN_IN_PER_MINUTE": "100000000",
}


def create_bench_app() -> FastAPI:
    """gridgov's app plus ``GET /bench/noop``: the trivial endpoint locate is compared with.

    The route is added to the same FastAPI app, so it passes the same middleware, routing,
    dependency machinery and thread pool as ``/api/v1/locate`` — only the database work differs.
    It exists only in the benchmark process; the shipped app has no such route.
    """
    from api.app import create_app

    app = create_app()

    def noop() -> dict[str, bool]:
        return {"ok": True}

    app.add_api_route("/bench/noop", noop, methods=["GET"], include_in_schema=False)
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    database_url: str,
    workers: int,
    extra_env: dict[str, str] | None = None,
    factory: str = "bench.cases_http:create_bench_app",
) -> Iterator[str]:
    """Run uvicorn with ``workers`` processes on a loopback port; yield its base URL."""
    port = free_port()
    env = {**os.environ, "GRIDGOV_DATABASE_URL": database_url, **UNLIMITED_ENV, **(extra_env or {})}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", factory, "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log",
        ],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{url}/api/v1/health", log)
        # Every worker imports the app and opens its pool lazily: warm them all up.
        for _ in range(20 * workers):
            httpx.get(f"{url}/api/v1/health", timeout=30)
        yield url
    finally:
        stop(process)
        log.close()


def wait_until_up(
    process: subprocess.Popen[bytes], url: str, log: Any, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited ({process.returncode}): {log.read()[-2000:]!r}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop(process)
    raise RuntimeError(f"server at {url} did not come up")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "micros": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "p50": %d, "p99": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

_LUA_PATHS = r"""
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""

# Incident reports at points inside the city (one JSON body per line), posted round-robin.
_LUA_POST = r"""
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"},
                    bodies[(counter %% #bodies) + 1])
end
"""


def reporting_key(database_url: str) -> str:
    """A new API client's key for the database: public intake needs one (api/submitters.py)."""
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from gis.accounts import create_api_client
    from gis.settings import normalise_database_url

    engine = create_engine(normalise_database_url(database_url))
    try:
        with Session(engine) as session:
            _, key = create_api_client(session, f"bench-{uuid.uuid4().hex[:8]}")
            session.commit()
    finally:
        engine.dispose()
    return key


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base_url: str,
    connections: int,
    seconds: float,
    paths: Sequence[str] = (),
    post_path: str | None = None,
    bodies: Sequence[str] = (),
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """One bounded wrk run: GET ``paths`` round-robin, or POST ``bodies`` to ``post_path``.

    ``headers`` are sent with every request (``Accept-Encoding: gzip``, say: wrk sends none)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "lines.txt"
        script = Path(tmp) / "script.lua"
        extra = "".join(
            f'wrk.headers["{name}"] = "{value}"\n' for name, value in (headers or {}).items()
        )
        if post_path is None:
            data.write_text("\n".join(paths) + "\n", encoding="utf-8")
            script.write_text(extra + _LUA_PATHS % {"paths": data} + _LUA_DONE, encoding="utf-8")
        else:
            data.write_text("\n".join(bodies) + "\n", encoding="utf-8")
            script.write_text(
                _LUA_POST % {"bodies": data, "path": post_path} + _LUA_DONE, encoding="utf-8"
            )
        proc = subprocess.run(
            [
                "wrk", "-t", str(max(1, min(threads, connections))), "-c", str(connections),
                "-d", f"{seconds:g}s", "--timeout", "10s", "-s", str(script), base_url,
            ],
            capture_output=True, text=True, check=False, timeout=seconds + 60,
        )  # fmt: skip
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith('{"requests"')), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    out = json.loads(line)
    errors = out["non2xx"] + out["connect"] + out["read"] + out["write"] + out["timeout"]
    return LoadResult(
        requests=int(out["requests"]),
        errors=int(errors),
        seconds=out["micros"] / 1e6,
        p50_ms=out["p50"] / 1000,
        p99_ms=out["p99"] / 1000,
    )


@dataclass(frozen=True)
class Spread:
    """Median and range of repeated measurements."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values), len(values))

    def show(self, digits: int = 0) -> str:
        if self.n == 1:
            return f"{self.median:,.{digits}f}"
        return f"{self.median:,.{digits}f} ({self.low:,.{digits}f}–{self.high:,.{digits}f})"
