"""Demo patrols and household visits (巡查与走访) so /field and /grid/{code} are alive on first run.

Recorded by the demo grid's own accounts (``demo_grid_worker`` and ``demo_grid_chief``, made by
:func:`gis.accounts.ensure_demo_accounts`), so it runs after them. Deterministic: the same demo
city (seed and ``as_of`` from its ``dataset_load`` row) gives the same patrols, points,
findings and visits. A patrol walks from building to building of the grid (the buildings'
anchors, linked nearest-first) at walking pace with a point every 10 s; some buildings are
visited this month, some earlier, some never, so the coverage map shows all three.

Two findings in three carry one or two photos taken by the worker: small JPEGs drawn here with
Pillow (a street scene of coloured shapes and a label, from the seed; nothing is downloaded) and
stored through the one media writer (:func:`gis.media.records.upload_for_loading`), so they
are cleaned, thumbnailed and served with the same rules as a phone's upload.
"""

from __future__ import annotations

import datetime
import io
import itertools
import json
import math
import random
from typing import Any

import psycopg
from PIL import Image, ImageDraw

from gis.accounts import accounts_for_loading, demo_username
from gis.incidents.vocabulary import VISIT_PURPOSES
from gis.media.records import upload_for_loading
from gis.scope import Viewer

RECORDERS = ("grid_worker", "grid_chief")
PATROLS_PER_RECORDER = 6
WALK_M_PER_S = 1.2
POINT_EVERY_S = 10
FINDINGS = ("井盖松动", "楼道堆物", "路灯不亮", "共享单车乱停", "绿化带垃圾")
NOTES = ("家中一切正常", "反映楼道照明不足", "老人身体尚可，子女每周探望", "询问医保缴费事宜", "")
_M_PER_DEG_LAT = 111_320.0
PHOTO_SIZE = (480, 360)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[0] - a[0]) * _M_PER_DEG_LAT * math.cos(math.radians(a[1]))
    dy = (b[1] - a[1]) * _M_PER_DEG_LAT
    return math.hypot(dx, dy)


def _walk(
    rng: random.Random, anchors: list[tuple[float, float]], stops: int
) -> list[tuple[float, float]]:
    """Vertices of a walk visiting ``stops`` buildings, each next one the nearest not yet seen."""
    here = rng.choice(anchors)
    route, left = [here], [a for a in anchors if a != here]
    while left and len(route) < stops:
        here = min(left, key=lambda a: _metres(here, a))
        left.remove(here)
        route.append(here)
    return route


def _sample(route: list[tuple[float, float]]) -> list[tuple[float, float, float]]:
    """Points every POINT_EVERY_S seconds along the route: (lon, lat, seconds from the start)."""
    step = WALK_M_PER_S * POINT_EVERY_S
    points, clock = [(route[0][0], route[0][1], 0.0)], 0.0
    for a, b in itertools.pairwise(route):
        n = max(1, int(_metres(a, b) // step))
        for i in range(1, n + 1):
            clock += POINT_EVERY_S
            f = i / n
            points.append((a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, clock))
    return points


def demo_photo(rng: random.Random, label: str) -> bytes:
    """A small JPEG of a made-up street corner: sky, road, buildings, a marked object, ``label``.

    The label is ASCII: Pillow's built-in font has no Chinese glyphs and the demo must not
    depend on a system font.
    """
    width, height = PHOTO_SIZE
    image = Image.new("RGB", PHOTO_SIZE, (rng.randint(150, 200), rng.randint(190, 220), 235))
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(height // 2, 2 * height // 3)
    draw.rectangle((0, horizon, width, height), fill=(rng.randint(90, 130),) * 3)
    x = 0
    while x < width:
        w = rng.randint(50, 110)
        top = rng.randint(40, horizon - 30)
        colour = (rng.randint(120, 230), rng.randint(100, 200), rng.randint(80, 180))
        draw.rectangle((x, top, x + w - 6, horizon), fill=colour)
        for wy in range(top + 10, horizon - 15, 22):
            draw.rectangle((x + 8, wy, x + 18, wy + 10), fill=(250, 240, 190))
        x += w
    cx, cy = rng.randint(80, width - 80), rng.randint(horizon + 20, height - 50)
    r = rng.randint(18, 34)
    draw.ellipse((cx - r, cy - r // 2, cx + r, cy + r // 2), fill=(200, 60, 40), outline="black")
    draw.rectangle((0, height - 28, width, height), fill=(0, 0, 0))
    draw.text((8, height - 22), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _photograph(
    conn: psycopg.Connection[Any],
    rng: random.Random,
    worker: Viewer,
    finding_id: int,
    at: datetime.datetime,
) -> int:
    """Attach one or two demo photos to a finding; how many."""
    photos = [
        upload_for_loading(
            conn,
            worker,
            demo_photo(rng, f"GRIDGOV DEMO  {worker.username}  {at:%Y-%m-%d %H:%M}  #{n + 1}"),
            now=at,
        )
        for n in range(rng.randint(1, 2))
    ]
    conn.execute("UPDATE patrol_finding SET media = %s WHERE id = %s", (photos, finding_id))
    return len(photos)


def load_demo_fieldwork(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Record the demo grid's patrols and visits once; later calls write nothing. No commit."""
    counts = {
        "patrol": 0,
        "patrol_point": 0,
        "patrol_finding": 0,
        "media": 0,
        "household_visit": 0,
    }
    with conn.cursor() as cur:
        cur.execute("SELECT params FROM dataset_load WHERE name = 'demo'")
        row = cur.fetchone()
        if row is None:
            return counts
        params = row[0]
        recorders = accounts_for_loading(conn, [demo_username(r) for r in RECORDERS])
        if not recorders:
            return counts
        role_of = {demo_username(r): r for r in RECORDERS}
        roles = [role_of[r[1]] for r in recorders]
        cur.execute(
            "SELECT 1 FROM patrol WHERE user_id = ANY(%s) UNION ALL"
            " SELECT 1 FROM household_visit WHERE user_id = ANY(%s) LIMIT 1",
            ([r[0] for r in recorders], [r[0] for r in recorders]),
        )
        if cur.fetchone() is not None:
            return counts
        grid = recorders[0][3]
        cur.execute(
            "SELECT b.id, ST_X(b.anchor), ST_Y(b.anchor) FROM building b"
            " JOIN area g ON g.id = b.grid_id WHERE g.code = %s AND b.valid_to IS NULL"
            " ORDER BY b.code",
            (grid,),
        )
        buildings = cur.fetchall()
        if len(buildings) < 2:
            return counts
        cur.execute(
            "SELECT h.building_id, h.id FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id WHERE g.code = %s AND b.valid_to IS NULL"
            " ORDER BY h.code",
            (grid,),
        )
        households: dict[int, list[int]] = {}
        for building_id, household_id in cur.fetchall():
            households.setdefault(building_id, []).append(household_id)

        rng = random.Random(f"fieldwork-{params['seed']}-{params['households']}")
        # Photos draw from their own stream, so they leave the patrols and visits as they were.
        photo_rng = random.Random(f"fieldwork-photos-{params['seed']}-{params['households']}")
        as_of = datetime.date.fromisoformat(params["as_of"])
        # Today's work in the city's time (UTC+8): mornings, at 09:00 local = 01:00 UTC.
        morning = datetime.datetime.combine(as_of, datetime.time(1, 0), datetime.UTC)
        anchors = [(float(lon), float(lat)) for _, lon, lat in buildings]
        for (user_id, username, person_id, scope), role in zip(recorders, roles, strict=True):
            worker = Viewer(username, role, scope, user_id=user_id)
            for k in range(PATROLS_PER_RECORDER):
                started = morning - datetime.timedelta(days=1 + 4 * k + rng.randint(0, 2))
                route = _walk(rng, anchors, rng.randint(4, 9))
                points = _sample(route)
                ended = started + datetime.timedelta(seconds=points[-1][2] + 60)
                cur.execute(
                    "INSERT INTO patrol (user_id, worker, person_id, grid_code, started_at,"
                    " ended_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                    (user_id, username, person_id, scope, started, ended),
                )
                patrol_row = cur.fetchone()
                assert patrol_row is not None
                patrol_id = patrol_row[0]
                track = [
                    {
                        "client_id": f"demo-{i}",
                        "lon": lon,
                        "lat": lat,
                        "at": (started + datetime.timedelta(seconds=s)).isoformat(),
                        "accuracy_m": round(rng.uniform(3, 15), 1),
                    }
                    for i, (lon, lat, s) in enumerate(points)
                ]
                cur.execute(
                    "INSERT INTO patrol_point (patrol_id, client_id, at, accuracy_m, geom)"
                    " SELECT %s, x.client_id, x.at, x.accuracy_m,"
                    " ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326)"
                    " FROM jsonb_to_recordset(%s::jsonb) AS x(client_id text, lon float8,"
                    " lat float8, at timestamptz, accuracy_m real)",
                    (patrol_id, json.dumps(track)),
                )
                counts["patrol"] += 1
                counts["patrol_point"] += len(track)
                if rng.random() < 0.6:
                    lon, lat, s = rng.choice(points)
                    found = started + datetime.timedelta(seconds=s)
                    cur.execute(
                        "INSERT INTO patrol_finding (patrol_id, at, description, geom)"
                        " VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
                        " RETURNING id",
                        (patrol_id, found, rng.choice(FINDINGS), lon, lat),
                    )
                    finding_row = cur.fetchone()
                    assert finding_row is not None
                    counts["patrol_finding"] += 1
                    if photo_rng.random() < 2 / 3:
                        counts["media"] += _photograph(
                            conn, photo_rng, worker, finding_row[0], found
                        )
            # Visits: about half the grid's buildings, spread over the last 100 days, so some
            # fall in this month and quarter and some buildings are never visited.
            for building_id, lon, lat in rng.sample(buildings, k=max(1, len(buildings) // 2)):
                in_building = households.get(building_id, [])
                household = rng.choice(in_building) if in_building else None
                visited = morning - datetime.timedelta(
                    days=rng.randint(0, 100), hours=rng.randint(0, 8)
                )
                cur.execute(
                    "INSERT INTO household_visit (user_id, worker, building_id, household_id,"
                    " grid_code, visited_at, purpose, notes, people_met, geom, accuracy_m)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    " ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s)",
                    (
                        user_id,
                        username,
                        building_id,
                        household,
                        scope,
                        visited,
                        rng.choice(VISIT_PURPOSES[:-1]),
                        rng.choice(NOTES),
                        "户主" if household else "",
                        lon,
                        lat,
                        round(rng.uniform(3, 20), 1),
                    ),
                )
                counts["household_visit"] += 1
    return counts
