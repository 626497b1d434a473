"""Load a small demo city into PostGIS and check it in SQL (as the owner, like `gridgov demo`).

Every expectation is computed in SQL from the loaded rows; nothing is hard-coded from the
generator except the parameters passed to it.
"""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
import pytest

from data.demo import load_demo

HOUSEHOLDS = 4_000
AS_OF = datetime.date(2026, 6, 30)
TABLES = (
    "area",
    "person",
    "grid_staff",
    "building",
    "household",
    "resident",
    "party_org",
    "party_member",
    "service_facility",
    "incident",
    "incident_transition",
    "dataset_load",
)


def _one(conn: psycopg.Connection[Any], query: str, *params: object) -> Any:
    with conn.cursor() as cur:
        cur.execute(query, params)
        row = cur.fetchone()
        assert row is not None
        return row[0]


@pytest.fixture
def demo(
    owner_pg_conn: psycopg.Connection[Any],
) -> tuple[psycopg.Connection[Any], dict[str, int]]:
    counts = load_demo(owner_pg_conn, households=HOUSEHOLDS, seed=11, as_of=AS_OF)
    assert counts is not None
    return owner_pg_conn, counts


def test_counts_match_tables(demo: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    conn, counts = demo
    for table, n in counts.items():
        assert _one(conn, f"SELECT count(*) FROM {table}") == n, table
    assert counts["household"] == HOUSEHOLDS
    params = _one(conn, "SELECT params FROM dataset_load WHERE name = 'demo'")
    assert params["households"] == HOUSEHOLDS


def test_every_geometry_valid(demo: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    conn, _ = demo
    for table in ("area", "building"):
        assert (
            _one(
                conn,
                f"SELECT count(*) FROM {table} WHERE NOT ST_IsValid(geom) "
                "OR ST_GeometryType(geom) <> 'ST_MultiPolygon'",
            )
            == 0
        )


def test_buildings_lie_in_their_grid(demo: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    conn, _ = demo
    bad = _one(
        conn,
        """
        SELECT count(*) FROM building b
        WHERE (SELECT count(*) FROM area g
               WHERE g.level = 'grid' AND g.valid_to IS NULL
                 AND ST_Intersects(g.geom, b.anchor)) <> 1
           OR NOT EXISTS (SELECT 1 FROM area g
                          WHERE g.id = b.grid_id AND ST_Contains(g.geom, b.anchor))
           OR NOT EXISTS (SELECT 1 FROM area g
                          WHERE g.id = b.grid_id AND ST_Contains(g.geom, b.geom))""",
    )
    assert bad == 0


def test_children_partition_their_parent(
    demo: tuple[psycopg.Connection[Any], dict[str, int]],
) -> None:
    conn, _ = demo
    with conn.cursor() as cur:
        cur.execute("""
            SELECT p.level, p.code,
                   ST_Area(ST_SymDifference(u.geom, p.geom)) / ST_Area(p.geom),
                   abs(u.area_sum - ST_Area(p.geom)) / ST_Area(p.geom)
            FROM area p
            JOIN LATERAL (SELECT ST_Union(c.geom) AS geom, sum(ST_Area(c.geom)) AS area_sum
                          FROM area c WHERE c.parent_id = p.id) u ON true
            WHERE p.level <> 'grid'""")
        rows = cur.fetchall()
    assert {r[0] for r in rows} == {"district", "street", "community"}
    for level, code, symdiff, sumdiff in rows:
        assert symdiff < 1e-9, (level, code)
        assert sumdiff < 1e-9, (level, code)
    # Grids are leaves; every non-grid area has children.
    assert (
        _one(
            conn,
            """SELECT count(*) FROM area p WHERE p.level <> 'grid'
                         AND NOT EXISTS (SELECT 1 FROM area c WHERE c.parent_id = p.id)""",
        )
        == 0
    )


def test_codes_follow_parents(demo: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    conn, _ = demo
    bad = _one(
        conn,
        """
        SELECT count(*) FROM area c JOIN area p ON p.id = c.parent_id
        WHERE NOT ((c.level = 'street' AND p.level = 'district' AND left(c.code, 6) = p.code)
                OR (c.level = 'community' AND p.level = 'street'
                    AND left(c.code, 9) = left(p.code, 9))
                OR (c.level = 'grid' AND p.level = 'community' AND left(c.code, 12) = p.code))""",
    )
    assert bad == 0
    # Grid sequence numbers run 001, 002, ... within each community.
    assert (
        _one(
            conn,
            """
        SELECT count(*) FROM (
            SELECT right(code, 3)::int AS seq,
                   row_number() OVER (PARTITION BY parent_id ORDER BY code) AS rn
            FROM area WHERE level = 'grid') s
        WHERE seq <> rn""",
        )
        == 0
    )


def test_households_per_grid(demo: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    conn, _ = demo
    lo, hi, grids = (
        _one(conn, q)
        for q in (
            "SELECT min(n) FROM (SELECT g.id, count(h.id) n FROM area g "
            "LEFT JOIN building b ON b.grid_id = g.id "
            "LEFT JOIN household h ON h.building_id = b.id WHERE g.level = 'grid' GROUP BY g.id) s",
            "SELECT max(n) FROM (SELECT b.grid_id, count(*) n FROM household h "
            "JOIN building b ON b.id = h.building_id GROUP BY 1) s",
            "SELECT count(*) FROM area WHERE level = 'grid'",
        )
    )
    assert 300 <= lo <= hi <= 500
    assert grids >= 2


def test_staff_and_party(demo: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    conn, _ = demo
    assert (
        _one(
            conn,
            """SELECT count(*) FROM area g WHERE g.level = 'grid' AND
        (SELECT count(*) FILTER (WHERE role = 'chief') = 1
                AND count(*) FILTER (WHERE role = 'worker') = 2
                AND count(*) FILTER (WHERE role = 'instructor') = 1
         FROM grid_staff s WHERE s.area_id = g.id) IS NOT TRUE""",
        )
        == 0
    )
    share = _one(
        conn,
        """
        SELECT (SELECT count(*) FROM party_member)::float8 / count(*)
        FROM resident WHERE %s - birth_year >= 18""",
        AS_OF.year,
    )
    assert 0.06 <= share <= 0.08
    # Members belong to adults, and their org covers their home.
    assert (
        _one(
            conn,
            """
        SELECT count(*) FROM party_member m
        JOIN resident r ON r.id = m.resident_id
        JOIN household h ON h.id = r.household_id
        JOIN building b ON b.id = h.building_id
        JOIN area g ON g.id = b.grid_id
        JOIN party_org o ON o.id = m.org_id
        WHERE %s - r.birth_year < 18
           OR NOT (o.household_id = h.id OR o.building_id = b.id OR o.area_id = g.id
                   OR o.area_id = g.parent_id)""",
            AS_OF.year,
        )
        == 0
    )
    # Some grids are deliberately blank spots, but not most.
    blank = _one(
        conn,
        """SELECT count(*) FROM area g WHERE g.level = 'grid' AND NOT EXISTS
                          (SELECT 1 FROM party_org o
                           WHERE o.level = 'grid' AND o.area_id = g.id)""",
    )
    assert 1 <= blank < _one(conn, "SELECT count(*) FROM area WHERE level = 'grid'") / 2
    # Each org's point lies inside what it serves.
    assert (
        _one(
            conn,
            """
        SELECT count(*) FROM party_org o
        LEFT JOIN area a ON a.id = o.area_id
        LEFT JOIN building b ON b.id = coalesce(o.building_id,
                 (SELECT building_id FROM household WHERE id = o.household_id))
        WHERE NOT coalesce(ST_Contains(a.geom, o.geom), ST_Contains(b.geom, o.geom), false)""",
        )
        == 0
    )
    # 双报到 registration exactly for in-service members, to their home community.
    assert (
        _one(
            conn,
            """
        SELECT count(*) FROM party_member m
        JOIN resident r ON r.id = m.resident_id JOIN household h ON h.id = r.household_id
        JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id
        WHERE m.in_service <> (m.registered_community_id IS NOT NULL)
           OR (m.in_service AND m.registered_community_id <> g.parent_id)""",
        )
        == 0
    )


def test_incidents_routed(demo: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    conn, _ = demo
    assert (
        _one(
            conn,
            """
        SELECT count(*) FROM incident i
        LEFT JOIN area g ON g.level = 'grid' AND ST_Intersects(g.geom, i.geom)
        LEFT JOIN area c ON c.id = g.parent_id
        WHERE i.grid_id IS DISTINCT FROM g.id OR i.community_id IS DISTINCT FROM c.id
           OR i.street_id IS DISTINCT FROM c.parent_id""",
        )
        == 0
    )
    assert _one(conn, "SELECT count(*) FROM incident WHERE grid_id IS NULL") >= 1
    # Transitions walk the loop and end in the incident's status.
    assert (
        _one(
            conn,
            """
        SELECT count(*) FROM incident i
        WHERE i.status <> (SELECT t.to_status FROM incident_transition t WHERE t.incident_id = i.id
                           ORDER BY t.at DESC, t.id DESC LIMIT 1)""",
        )
        == 0
    )
    assert (
        _one(
            conn,
            """
        SELECT count(*) FROM (
            SELECT from_status,
                   lag(to_status) OVER (PARTITION BY incident_id ORDER BY at, id) AS prev
            FROM incident_transition) s
        WHERE from_status IS DISTINCT FROM prev""",
        )
        == 0
    )


def test_second_load_is_a_no_op(demo: tuple[psycopg.Connection[Any], dict[str, int]]) -> None:
    conn, _ = demo
    before = {t: _one(conn, f"SELECT count(*) FROM {t}") for t in TABLES}
    assert load_demo(conn, households=HOUSEHOLDS, seed=11, as_of=AS_OF) is None
    after = {t: _one(conn, f"SELECT count(*) FROM {t}") for t in TABLES}
    assert after == before


def test_refuses_foreign_areas(owner_pg_conn: psycopg.Connection[Any]) -> None:
    with owner_pg_conn.cursor() as cur:
        cur.execute("""INSERT INTO area (level, code, name, kind, district_code, geom)
                       VALUES ('district', '110105', '朝阳区', '区', '110105',
                               ST_Multi(ST_MakeEnvelope(116.4, 39.9, 116.5, 40.0, 4326)))""")
    with pytest.raises(ValueError, match="not the demo"):
        load_demo(owner_pg_conn, households=HOUSEHOLDS, seed=11, as_of=AS_OF)


_MEETINGS_DIGEST = (
    "SELECT md5(string_agg(concat_ws('|', m.branch_code, m.org_code, m.kind, m.held_on, m.place,"
    " m.topic, (SELECT string_agg(a.member_id || a.status, ',' ORDER BY a.member_id)"
    " FROM org_meeting_attendance a WHERE a.meeting_id = m.id)), ';' ORDER BY m.id))"
    " FROM org_meeting m"
)


def test_org_life_follows_the_rules_has_gaps_and_is_deterministic(
    demo: tuple[psycopg.Connection[Any], dict[str, int]],
) -> None:
    from data.orglife import load_org_life
    from gis.orglife import rules

    conn, counts = demo
    assert counts["org_meeting"] > 0 and counts["org_meeting_attendance"] > counts["org_meeting"]
    assert _one(conn, "SELECT max(held_on) FROM org_meeting") <= AS_OF
    earliest = rules.Quarter.of(AS_OF).previous().previous().previous().start
    assert _one(conn, "SELECT min(held_on) FROM org_meeting") >= earliest
    # No committee meeting for a branch with fewer than 7 full members (its whole subtree).
    assert (
        _one(
            conn,
            """
            WITH RECURSIVE sub AS (
                SELECT id AS branch, id AS org FROM party_org WHERE org_type = '党支部'
                UNION ALL SELECT sub.branch, o.id FROM party_org o
                JOIN sub ON o.parent_id = sub.org WHERE o.org_type <> '党支部')
            SELECT count(*) FROM org_meeting m WHERE m.kind = 'committee_meeting'
              AND (SELECT count(*) FROM sub JOIN party_member p ON p.org_id = sub.org
                   WHERE sub.branch = m.branch_id AND p.status = '正式党员') < %s
            """,
            rules.COMMITTEE_MIN_FULL_MEMBERS,
        )
        == 0
    )
    # Everyone marked at a group meeting is in that group (those who moved out of the register
    # since keep their attendance).
    assert (
        _one(
            conn,
            "SELECT count(*) FROM org_meeting m JOIN org_meeting_attendance a"
            " ON a.meeting_id = m.id JOIN party_member p ON p.id = a.member_id"
            " WHERE m.kind = 'group_meeting' AND p.org_id IS NOT NULL"
            " AND p.group_id IS DISTINCT FROM m.org_id",
        )
        == 0
    )
    # Some monthly theme days are missing (gaps to show), most are there.
    held = _one(
        conn,
        "SELECT count(DISTINCT (branch_id, date_trunc('month', held_on))) FROM org_meeting"
        " WHERE kind = 'theme_day'",
    )
    branches = _one(conn, "SELECT count(DISTINCT branch_id) FROM org_meeting")
    due = branches * 12  # four quarters of three months, the last ending on AS_OF
    assert due * 0.6 < held < due
    first = _one(conn, _MEETINGS_DIGEST)
    conn.execute("DELETE FROM org_meeting")
    load_org_life(conn, 11, AS_OF)
    assert _one(conn, _MEETINGS_DIGEST) == first
