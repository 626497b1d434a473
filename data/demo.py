"""Public entry points of the deterministic demo city (华亭市 urban core).

>>> city = build_city(households=1_000, seed=1, as_of=datetime.date(2026, 1, 1))
>>> sum(g.households for g in city.grids)
1000
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from typing import Any

import psycopg
import shapely

from data import loader
from data.city import City, build_static
from data.incidents import iter_incidents
from data.members import load_members
from data.orglife import load_org_life
from data.population import iter_population
from data.regional import load_regional
from data.resident_cases import load_resident_cases
from data.residents import load_residents
from gis.queries.area_stats import refresh_area_stats

__all__ = [
    "DEFAULT_HOUSEHOLDS",
    "DEFAULT_SEED",
    "DEMO_NAME",
    "City",
    "build_city",
    "city_digest",
    "load_city",
    "load_demo",
]

DEFAULT_HOUSEHOLDS = 20_000
DEFAULT_SEED = 620881
DEMO_NAME = "demo"


def build_city(
    households: int = DEFAULT_HOUSEHOLDS,
    seed: int = DEFAULT_SEED,
    as_of: datetime.date | None = None,
) -> City:
    """Generate the demo city.

    Areas, staff, buildings, upper party organisations and facilities are built now;
    households, residents, party members and incidents are generated lazily when loaded or
    iterated, so memory stays small even for a million households.

    Parameters
    ----------
    households : int
        Number of households; grids (300-500 households each), communities, streets, blocks
        and incidents scale with it.
    seed : int
        Random seed; the same (households, seed, as_of) always gives identical rows.
    as_of : datetime.date, optional
        The day the data describe (ages, the 90-day incident window). Default: today (UTC).
    """
    if households < 1:
        raise ValueError("households must be positive")
    if as_of is None:
        as_of = datetime.datetime.now(datetime.UTC).date()
    return build_static(households, seed, as_of)


def load_city(
    conn: psycopg.Connection[Any],
    city: City,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Stream ``city`` into the database with COPY and return row counts per table.

    Ids continue after the current maximum of each table and sequences are moved past them.
    Does not commit.
    """
    return loader.load_city(conn, city, progress)


def load_demo(
    conn: psycopg.Connection[Any],
    households: int = DEFAULT_HOUSEHOLDS,
    seed: int = DEFAULT_SEED,
    as_of: datetime.date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int] | None:
    """Load the demo city once.

    Returns ``None`` and writes nothing if a ``dataset_load`` row named ``'demo'`` exists;
    otherwise builds and loads the city, records it in ``dataset_load`` and returns the row
    counts. Does not commit.

    Raises
    ------
    ValueError
        If ``area`` already holds rows that are not the demo city.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM dataset_load WHERE name = %s", (DEMO_NAME,))
        if cur.fetchone() is not None:
            return None
        cur.execute("SELECT count(*) FROM area")
        row = cur.fetchone()
        n_areas = int(row[0]) if row else 0
    if n_areas:
        raise ValueError(
            f"table area already holds {n_areas} rows that are not the demo city; "
            "load the demo into an empty database (or remove those areas first)"
        )
    city = build_city(households, seed, as_of)
    counts = load_city(conn, city, progress)
    # Members' lifecycle first: attendance then lists the members each branch has now.
    counts |= load_members(conn, seed, city.as_of)
    counts |= load_org_life(conn, seed, city.as_of)  # needs the loaded branches and members
    counts |= load_residents(conn, seed, city.as_of)  # needs the areas and residents
    counts |= load_regional(conn, seed, city.as_of)  # needs the reported members and orgs
    counts |= load_resident_cases(conn, seed, households, city.as_of)  # needs the households
    refresh_area_stats(conn)  # the per-area counts items, tiles and area details read
    params = {"households": households, "seed": seed, "as_of": city.as_of.isoformat()}
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO dataset_load (name, params, summary) VALUES (%s, %s::jsonb, %s::jsonb)",
            (DEMO_NAME, json.dumps(params), loader.summary_json(counts)),
        )
    return counts


def city_digest(city: City) -> str:
    """SHA-256 over every row the city would load (ids excluded): equal digests, equal data."""
    h = hashlib.sha256()

    def put(obj: object) -> None:
        h.update(repr(obj).encode("utf-8"))

    for a in city.areas:
        put((a.level, a.code, a.name, a.kind, a.parent))
        h.update(shapely.to_wkb(a.geom))
    for p in city.persons:
        put(p)
    put(city.staff)
    for b in city.buildings:
        put((b.code, b.name, b.address, b.use, b.floors, b.units, b.households, b.grid))
        h.update(shapely.to_wkb(b.geom))
    for o in city.orgs:
        put(o)
    for f in city.facilities:
        put(f)
    for pop in iter_population(city):
        put(pop)
    for inc in iter_incidents(city):
        put(inc)
    return h.hexdigest()
