"""Cases measured in SQL: bulk routing of incident points (2) and raw tile SQL vs HTTP (4)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, pool, text
from sqlalchemy.orm import Session

from bench.cases_http import Spread
from gis.db import make_engine
from gis.queries.routing import BULK_METHODS, RoutingCounts, route_incidents
from gis.settings import normalise_database_url


@dataclass(frozen=True)
class RoutingResult:
    method: str
    counts: RoutingCounts
    points_per_second: Spread
    seconds: Spread


def bulk_routing(database_url: str, repeats: int) -> list[RoutingResult]:
    """Route every incident to its grid with each method; points per second, median of runs.

    Runs alternate between methods so that cache warmth and neighbours' load fall on both.
    """
    engine = create_engine(normalise_database_url(database_url), poolclass=pool.NullPool)
    timings: dict[str, list[float]] = {m: [] for m in BULK_METHODS}
    counts: dict[str, RoutingCounts] = {}
    try:
        with Session(engine) as session:
            for method in BULK_METHODS:  # warm-up: the tables and indexes into shared buffers
                counts[method] = route_incidents(session, method)
            for _ in range(repeats):
                for method in BULK_METHODS:
                    started = time.perf_counter()
                    counts[method] = route_incidents(session, method)
                    timings[method].append(time.perf_counter() - started)
            session.rollback()
    finally:
        engine.dispose()
    return [
        RoutingResult(
            method,
            counts[method],
            Spread.of([counts[method].points / t for t in timings[method]]),
            Spread.of(timings[method]),
        )
        for method in BULK_METHODS
    ]


def sample_tiles(database_url: str, level_sql: str, z: int, n: int) -> list[tuple[int, int, int]]:
    """``n`` tiles at zoom ``z`` that hold features (centres of random features of the layer)."""
    engine = create_engine(normalise_database_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT DISTINCT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c "
                    f"FROM ({level_sql}) s ORDER BY md5(ST_AsBinary(geom)) LIMIT :n) q"
                ),
                {"n": n * 3},
            ).all()
    finally:
        engine.dispose()
    tiles: list[tuple[int, int, int]] = []
    for lon, lat in rows:
        x = int((lon + 180) / 360 * 2**z)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
        if (z, x, y) not in tiles:
            tiles.append((z, x, y))
    return tiles[:n]


@dataclass(frozen=True)
class TileOverhead:
    collection: str
    tiles: int
    sql_ms: Spread
    http_ms: Spread

    @property
    def ratio(self) -> float:
        return self.http_ms.median / self.sql_ms.median if self.sql_ms.median else math.nan


def tile_sql_vs_http(
    database_url: str, base_url: str, collection_id: str, tiles: list[tuple[int, int, int]],
    repeats: int,
) -> TileOverhead:  # fmt: skip
    """Mean time per tile: the endpoint's own SQL (``build_tile``) vs GET of the same tile.

    One connection, one client, one request at a time, against a server without tile cache
    (GRIDGOV_TILE_CACHE_SIZE=0), so both sides build every tile in PostGIS and the difference
    is the web layer: routing, security, the data-version query, gzip and HTTP.
    """
    from gis.collections import get_collection
    from gis.queries.tiles import build_tile

    collection = get_collection(collection_id)
    assert collection is not None, collection_id
    # One pooled connection kept across tiles, as the server's pool keeps its connections (a
    # NullPool would reconnect and authenticate after every rollback and time that instead),
    # made like the server's (gis.db.make_engine: same session settings, JIT off).
    engine = make_engine(database_url, pool_size=1)
    sql_runs: list[float] = []
    http_runs: list[float] = []
    try:
        with Session(engine) as session, httpx.Client(timeout=60) as client:
            for z, x, y in tiles:  # warm-up both paths
                build_tile(session, collection, z, x, y)
                client.get(
                    f"{base_url}/ogc/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{x}/{y}",
                    headers={"Accept-Encoding": "gzip"},
                )
            for _ in range(repeats):
                started = time.perf_counter()
                for z, x, y in tiles:
                    build_tile(session, collection, z, x, y)
                    session.rollback()  # the endpoint runs each tile in its own transaction
                sql_runs.append((time.perf_counter() - started) * 1000 / len(tiles))
                started = time.perf_counter()
                for z, x, y in tiles:
                    response = client.get(
                        f"{base_url}/ogc/collections/{collection_id}/tiles/WebMercatorQuad/"
                        f"{z}/{x}/{y}",
                        headers={"Accept-Encoding": "gzip"},
                    )
                    response.read()
                    if response.status_code not in (200, 204):
                        raise RuntimeError(f"tile {z}/{x}/{y}: {response.status_code}")
                http_runs.append((time.perf_counter() - started) * 1000 / len(tiles))
    finally:
        engine.dispose()
    return TileOverhead(collection_id, len(tiles), Spread.of(sql_runs), Spread.of(http_runs))


@dataclass(frozen=True)
class PlanResult:
    statement: str  # "count" or "page"
    source: str  # "before" (the SQL source of an earlier revision) or "now"
    ms: Spread  # execution time (EXPLAIN ANALYZE), median of runs
    nodes: str  # the plan's node types, outermost first, deduplicated
    buffers: int  # shared buffers hit + read by the statement


def _plan_nodes(plan: dict[str, object]) -> list[str]:
    label = str(plan["Node Type"])
    if plan.get("Relation Name"):
        label += f" on {plan['Relation Name']}"
    if plan.get("Index Name"):
        label += f" using {plan['Index Name']}"
    if plan.get("Subplan Name"):
        label = f"{plan['Subplan Name']}: {label}"
    found = [label]
    for child in plan.get("Plans", []) or []:  # type: ignore[attr-defined]
        found += _plan_nodes(child)
    return found


def _statements_sent(session: Session, query: object, source: str) -> list[tuple[str, object]]:
    """The count's and the page's SQL and parameters, as gis.queries.features sends them for
    ``query`` with the collection's SQL source replaced by ``source``."""
    from unittest import mock

    from gis.queries import features
    from gis.scope import ANONYMOUS

    sent: list[tuple[str, object]] = []
    real = session.execute

    def capture(statement: object, params: object = None, **kw: object) -> object:
        sent.append((str(statement), params))
        return real(statement, params, **kw)  # type: ignore[arg-type]

    with (
        mock.patch.object(features, "read_sql", lambda _name: source),
        mock.patch.object(session, "execute", capture),
    ):
        features.count_items(session, query, ANONYMOUS)  # type: ignore[arg-type]
        features.items_page(session, query, ANONYMOUS)  # type: ignore[arg-type]
    return sent


def items_plans(
    database_url: str, collection_id: str, limit: int, old_source: str | None, repeats: int
) -> list[PlanResult]:
    """EXPLAIN (ANALYZE, BUFFERS) of the count and the page an items request sends, as the app
    builds them (``gis.queries.features``), with the collection's SQL source as it is now and,
    when given, as it was (``old_source``, the file's text from another revision)."""
    from gis.collections import get_collection
    from gis.queries import features

    engine = create_engine(normalise_database_url(database_url), poolclass=pool.NullPool)
    collection = get_collection(collection_id)
    assert collection is not None
    query = features.ItemsQuery(collection=collection, limit=limit)
    results = []
    try:
        with Session(engine) as session:
            sources = {"now": features.read_sql(collection.sql_name)}
            if old_source is not None:
                sources["before"] = old_source
            for label, source in sources.items():
                sent = _statements_sent(session, query, source)
                for name, (sql, params) in zip(("count", "page"), sent, strict=False):
                    times, plan = [], {}
                    for _ in range(repeats + 1):  # the first run warms the cache
                        out = session.execute(
                            text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql), params
                        ).scalar_one()
                        plan = out[0]
                        times.append(float(plan["Execution Time"]))
                    nodes = list(dict.fromkeys(_plan_nodes(plan["Plan"])))
                    top = plan["Plan"]
                    buffers = int(top.get("Shared Hit Blocks", 0)) + int(
                        top.get("Shared Read Blocks", 0)
                    )
                    results.append(
                        PlanResult(name, label, Spread.of(times[1:]), " → ".join(nodes), buffers)
                    )
            session.rollback()
    finally:
        engine.dispose()
    return results
