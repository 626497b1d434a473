"""Where a request's time goes: py-spy samples one uvicorn worker while wrk loads one path.

    .venv/bin/python -m bench.profile_endpoint --database gridgov_bench_demo \\
        --path /api/v1/locate --seconds 15 --out /tmp/locate

Writes ``<out>.txt`` (collapsed stacks) and ``<out>.svg`` (the flame graph, from a second,
shorter recording: py-spy writes one format per recording), and prints the frames holding the
most samples, inclusive (the frame or anything it called): the excerpt bench/RESULTS.md quotes.
One worker, so that one process holds every request; the server is the
harness's (``bench.cases_http.serve``: the app plus ``/bench/noop``). ``--path locate`` picks
random points inside grids, as harness case 1 does.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import time
from pathlib import Path

from bench import cases_http as http
from bench.scaled_city import BENCH_DATABASE, server_url, with_database


def server_pid(port: str) -> int:
    """The uvicorn process on ``port`` (with one worker uvicorn serves in that process)."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"uvicorn" in argv and b"--port" in argv and port.encode() in argv:
            return int(proc.name)
    raise RuntimeError(f"no uvicorn process on port {port}")


def top_frames(collapsed: Path, count: int = 25) -> list[tuple[float, str]]:
    """The frames with the most samples, inclusive: (share of all samples, frame)."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    for line in collapsed.read_text(encoding="utf-8").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(n)
    return [(n / total, frame) for frame, n in inclusive.most_common(count)] if total else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_endpoint", description=__doc__)
    parser.add_argument("--database", default=BENCH_DATABASE)
    parser.add_argument("--path", action="append", required=True, help="'locate' or a path")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--out", required=True, help="output prefix (.svg, .txt)")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the server")
    parser.add_argument(
        "--gil", action="store_true", help="sample only the thread holding the GIL (Python CPU)"
    )
    args = parser.parse_args(argv)
    url = with_database(server_url(), args.database)
    paths: list[str] = []
    for path in args.path:
        if path == "locate":
            from bench.harness import random_points

            paths += [f"/api/v1/locate?lon={x:.6f}&lat={y:.6f}" for x, y in random_points(url, 500)]
        else:
            paths.append(path)
    env = dict(item.split("=", 1) for item in args.env)
    with http.serve(url, 1, env) as base:
        pid = server_pid(base.rpartition(":")[2])
        http.run_wrk(base, args.connections, 2, paths=paths)  # warm-up
        raw = Path(f"{args.out}.txt")
        spy = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid)]
        spy += ["--rate", "250", "--nonblocking", *(["--gil"] if args.gil else [])]
        spy += ["--duration", f"{args.seconds:.0f}"]
        # One recording, two files: collapsed stacks to count, then the SVG drawn from them.
        recording = subprocess.Popen([*spy, "--format", "raw", "-o", str(raw)])
        time.sleep(0.5)
        result = http.run_wrk(base, args.connections, args.seconds, paths=paths)
        recording.wait(timeout=args.seconds + 60)
        short = [*spy[:-1], f"{max(3, args.seconds / 3):.0f}", "--format", "flamegraph"]
        recording = subprocess.Popen([*short, "-o", f"{args.out}.svg"])
        time.sleep(0.5)
        http.run_wrk(base, args.connections, max(3, args.seconds / 3), paths=paths)
        recording.wait(timeout=args.seconds + 60)
    print(f"{result.rate:.0f} req/s under the profiler, p50 {result.p50_ms:.1f} ms")
    for share, frame in top_frames(raw):
        print(f"{share:6.1%}  {frame}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
