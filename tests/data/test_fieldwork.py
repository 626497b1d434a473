"""The demo grid's patrols, visits and finding photos (data/fieldwork.py): alive, deterministic,
loaded once, and readable through the field-work and media rules (tracks measured in PostGIS,
coverage, photos cleaned and served to their worker only)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import psycopg
import pytest
from PIL import Image

from data.fieldwork import PATROLS_PER_RECORDER, PHOTO_SIZE, RECORDERS, load_demo_fieldwork
from gis.accounts import ensure_demo_accounts
from gis.media.store import get_store
from tests.conftest import owner_url

ROWS = """
SELECT 'p', u.username, p.grid_code, p.started_at::text, p.ended_at::text,
       ST_AsText(ST_MakeLine(pp.geom ORDER BY pp.at)), count(pp.*)::text
  FROM patrol p JOIN app_user u ON u.id = p.user_id JOIN patrol_point pp ON pp.patrol_id = p.id
 GROUP BY p.id, u.username
UNION ALL
SELECT 'f', f.description, f.at::text, ST_AsText(f.geom),
       coalesce((SELECT string_agg(m.sha256 || '/' || m.thumbnail_sha256 || '/' || m.uploader
                                   || '/' || m.created_at::text, ',' ORDER BY m.id)
                   FROM media m WHERE m.id = ANY(f.media)), ''), '', ''
  FROM patrol_finding f
UNION ALL
SELECT 'v', v.worker, b.code, v.visited_at::text, v.purpose, v.notes,
       coalesce(h.code, '') FROM household_visit v JOIN building b ON b.id = v.building_id
       LEFT JOIN household h ON h.id = v.household_id
ORDER BY 1, 2, 3, 4
"""


@pytest.fixture
def owner_demo(demo_database_url: str) -> Iterator[psycopg.Connection]:
    """The demo database as its owner (as `gridgov demo` runs), rolled back afterwards."""
    with psycopg.connect(owner_url(demo_database_url)) as conn:
        try:
            ensure_demo_accounts(conn, "fieldwork-demo-password-1")
            yield conn
        finally:
            conn.rollback()


def _digest(conn: psycopg.Connection) -> str:
    return hashlib.sha256(repr(conn.execute(ROWS).fetchall()).encode()).hexdigest()


def test_demo_field_work_is_alive_deterministic_and_loaded_once(
    owner_demo: psycopg.Connection,
) -> None:
    conn = owner_demo
    conn.execute("SAVEPOINT before")
    counts = load_demo_fieldwork(conn)
    assert counts["patrol"] == PATROLS_PER_RECORDER * len(RECORDERS)
    assert counts["patrol_point"] > 10 * counts["patrol"]
    assert counts["patrol_finding"] >= 1 and counts["household_visit"] >= 2
    first = _digest(conn)
    # Once: a second call writes nothing.
    assert set(load_demo_fieldwork(conn).values()) == {0}
    # Deterministic: the same city gives the same rows.
    conn.execute("ROLLBACK TO SAVEPOINT before")
    load_demo_fieldwork(conn)
    assert _digest(conn) == first

    # Every patrol walks a real distance inside its grid's neighbourhood, ends after it starts,
    # and is its grid's; visits are to buildings (and households) of the recorder's grid.
    rows = conn.execute(
        "SELECT p.grid_code = u.scope_code, p.ended_at > p.started_at,"
        " ST_Length(ST_MakeLine(pp.geom ORDER BY pp.at)::geography),"
        " bool_and(ST_DWithin(pp.geom::geography, g.geom::geography, 50))"
        " FROM patrol p JOIN app_user u ON u.id = p.user_id"
        " JOIN patrol_point pp ON pp.patrol_id = p.id"
        " JOIN area g ON g.code = p.grid_code AND g.valid_to IS NULL"
        " GROUP BY p.id, u.scope_code"
    ).fetchall()
    assert rows and all(
        own and ordered and 50 < length < 20_000 and near for own, ordered, length, near in rows
    )
    stray = conn.execute(
        "SELECT count(*) FROM household_visit v JOIN building b ON b.id = v.building_id"
        " JOIN area g ON g.id = b.grid_id LEFT JOIN household h ON h.id = v.household_id"
        " WHERE g.code <> v.grid_code OR (h.id IS NOT NULL AND h.building_id <> b.id)"
    ).fetchone()
    assert stray == (0,)


def test_demo_findings_carry_clean_photos_of_their_worker(
    owner_demo: psycopg.Connection,
) -> None:
    conn = owner_demo
    counts = load_demo_fieldwork(conn)
    assert counts["media"] >= 1
    rows = conn.execute(
        "SELECT m.id, m.sha256, m.incident_id, m.uploaded_by = p.user_id"
        " FROM patrol_finding f JOIN patrol p ON p.id = f.patrol_id"
        " JOIN media m ON m.id = ANY(f.media)"
    ).fetchall()
    # Every photo row written is on a finding, and it is the finding's worker's own photo.
    assert len(rows) == counts["media"] == conn.execute("SELECT count(*) FROM media").fetchone()[0]
    assert (
        conn.execute("SELECT count(*) FROM patrol_finding WHERE cardinality(media) = 0").fetchone()[
            0
        ]
        >= 1
    ), "only some findings have photos"
    store = get_store()
    for _, sha, incident_id, own in rows:
        assert own and incident_id is None
        data = store.get(sha)
        image = Image.open(io.BytesIO(data))
        assert (image.format, image.size) == ("JPEG", PHOTO_SIZE)
        assert dict(image.getexif()) == {}
    assert len({sha for _, sha, *_ in rows}) == len(rows), "each photo is its own picture"
