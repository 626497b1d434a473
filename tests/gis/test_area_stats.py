"""Precomputed per-area statistics (area_stats, migration 0008) against independent SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.queries.area_stats import refresh_area_stats
from gis.scope import subtree_code_prefix

KEYS = ("grids", "buildings", "households", "residents", "party_members")

# Counted from the base tables over each current area's subtree, independently of area_stats:
# a household is counted once, a resident once, a party member once (EXISTS, not joins).
_EXPECTED = """
    SELECT u.id, u.code,
           (SELECT count(*) FROM area g WHERE g.level = 'grid' AND g.valid_to IS NULL
              AND g.code LIKE :sub || '%') AS grids,
           (SELECT count(*) FROM building b JOIN area g ON g.id = b.grid_id
             WHERE b.valid_to IS NULL AND g.valid_to IS NULL AND g.code LIKE :sub || '%')
             AS buildings,
           (SELECT count(*) FROM household h WHERE EXISTS (
               SELECT 1 FROM building b JOIN area g ON g.id = b.grid_id
                WHERE b.id = h.building_id AND b.valid_to IS NULL AND g.valid_to IS NULL
                  AND g.code LIKE :sub || '%')) AS households,
           (SELECT count(*) FROM resident r WHERE EXISTS (
               SELECT 1 FROM household h JOIN building b ON b.id = h.building_id
                 JOIN area g ON g.id = b.grid_id
                WHERE h.id = r.household_id AND b.valid_to IS NULL AND g.valid_to IS NULL
                  AND g.code LIKE :sub || '%')) AS residents,
           (SELECT count(*) FROM party_member m WHERE EXISTS (
               SELECT 1 FROM resident r JOIN household h ON h.id = r.household_id
                 JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id
                WHERE r.id = m.resident_id AND b.valid_to IS NULL AND g.valid_to IS NULL
                  AND g.code LIKE :sub || '%')) AS party_members
      FROM area u WHERE u.code = :code AND u.valid_to IS NULL
"""


def expected(session: Session, code: str) -> dict[str, Any]:
    row = session.execute(text(_EXPECTED), {"code": code, "sub": subtree_code_prefix(code)}).one()
    return row._asdict()


def stored(session: Session, code: str) -> dict[str, Any] | None:
    row = session.execute(
        text(
            "SELECT s.area_id AS id, s.code, s.grids, s.buildings, s.households, s.residents, "
            "s.party_members FROM area_stats s JOIN area a ON a.id = s.area_id "
            "WHERE s.code = :code AND a.valid_to IS NULL"
        ),
        {"code": code},
    ).one_or_none()
    return row._asdict() if row else None


def chain_of_grid(session: Session) -> list[str]:
    """Codes of a grid with households and of its community, street and district."""
    row = session.execute(
        text(
            """
            SELECT g.code AS grid, c.code AS community, s.code AS street, d.code AS district
              FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id
              JOIN area d ON d.id = s.parent_id
             WHERE g.level = 'grid' AND g.valid_to IS NULL
               AND EXISTS (SELECT 1 FROM building b JOIN household h ON h.building_id = b.id
                            WHERE b.grid_id = g.id AND b.valid_to IS NULL)
             ORDER BY g.code LIMIT 1
            """
        )
    ).one()
    return [row.grid, row.community, row.street, row.district]


def data_version(session: Session) -> int:
    return int(session.execute(text("SELECT version FROM data_version")).scalar_one())


def test_every_current_area_has_a_row_equal_to_sql(db_session: Session) -> None:
    codes = list(
        db_session.execute(
            text("SELECT code FROM area WHERE valid_to IS NULL AND level <> 'grid' ORDER BY code")
        ).scalars()
    )
    grids = list(
        db_session.execute(
            text("SELECT code FROM area WHERE valid_to IS NULL AND level = 'grid' ORDER BY code")
        ).scalars()
    )
    assert codes and grids
    # Every upper area, and a spread of grids (all of them is slow with correlated counts).
    for code in codes + grids[:: max(1, len(grids) // 15)]:
        assert stored(db_session, code) == expected(db_session, code), code
    missing = db_session.execute(
        text(
            "SELECT count(*) FROM area a WHERE a.valid_to IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM area_stats s WHERE s.area_id = a.id)"
        )
    ).scalar_one()
    assert missing == 0
    assert db_session.execute(text("SELECT count(*) FROM area_stats")).scalar_one() == len(
        codes
    ) + len(grids)


def test_household_added_counts_after_refresh(db_session: Session) -> None:
    chain = chain_of_grid(db_session)
    before = {code: stored(db_session, code) for code in chain}
    building = db_session.execute(
        text(
            "SELECT b.id, b.district_code FROM building b JOIN area g ON g.id = b.grid_id "
            "WHERE g.code = :g AND g.valid_to IS NULL AND b.valid_to IS NULL ORDER BY b.id LIMIT 1"
        ),
        {"g": chain[0]},
    ).one()
    household_id = db_session.execute(
        text(
            "INSERT INTO household (code, building_id, unit, floor, room, address, district_code)"
            " VALUES ('TEST-AREA-STATS-1', :b, 99, 1, '9901', '测试地址', :d) RETURNING id"
        ),
        {"b": building.id, "d": building.district_code},
    ).scalar_one()
    db_session.execute(
        text(
            "INSERT INTO resident (household_id, name, gender, birth_year, relation, "
            "district_code) VALUES (:h, '张三', '男', 1980, '户主', :d), "
            "(:h, '李四', '女', 1982, '配偶', :d)"
        ),
        {"h": household_id, "d": building.district_code},
    )
    version = data_version(db_session)
    refreshed = refresh_area_stats(db_session, chain[0])
    assert refreshed == 1  # one grid recounted; its ancestors summed
    assert data_version(db_session) > version
    for code in chain:
        after = stored(db_session, code)
        assert after == expected(db_session, code), code
        assert before[code] is not None and after is not None
        assert after["households"] == before[code]["households"] + 1, code
        assert after["residents"] == before[code]["residents"] + 2, code
        assert after["party_members"] == before[code]["party_members"], code


def test_new_grid_version_after_refresh(db_session: Session) -> None:
    """A boundary change in SQL: the retired version's row goes, the new one gets the counts."""
    grid, community, street, district = chain_of_grid(db_session)
    old = stored(db_session, grid)
    assert old is not None
    db_session.execute(
        text("UPDATE area SET valid_to = clock_timestamp() WHERE id = :i"), {"i": old["id"]}
    )
    new_id = db_session.execute(
        text(
            "INSERT INTO area (level, code, name, kind, parent_id, district_code, geom, version,"
            " valid_from) SELECT level, code, name, kind, parent_id, district_code, geom,"
            " version + 1, valid_to FROM area WHERE id = :i RETURNING id"
        ),
        {"i": old["id"]},
    ).scalar_one()
    db_session.execute(
        text("UPDATE building SET grid_id = :n WHERE grid_id = :o AND valid_to IS NULL"),
        {"n": new_id, "o": old["id"]},
    )
    refresh_area_stats(db_session, community)
    new = stored(db_session, grid)
    assert new is not None and new["id"] == new_id
    assert {k: new[k] for k in KEYS} == {k: old[k] for k in KEYS}
    gone = db_session.execute(
        text("SELECT count(*) FROM area_stats WHERE area_id = :o"), {"o": old["id"]}
    ).scalar_one()
    assert gone == 0
    for code in (grid, community, street, district):
        assert stored(db_session, code) == expected(db_session, code), code


def test_full_refresh_is_idempotent(db_session: Session) -> None:
    def snapshot() -> list[tuple[Any, ...]]:
        return [
            tuple(r)
            for r in db_session.execute(
                text(
                    "SELECT area_id, code, level, grids, buildings, households, residents, "
                    "party_members FROM area_stats ORDER BY area_id"
                )
            )
        ]

    first = snapshot()
    grids = refresh_area_stats(db_session)
    assert (
        grids
        == db_session.execute(
            text("SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL")
        ).scalar_one()
    )
    assert snapshot() == first


# --- per-building counts (building_stats, migration 0010) --------------------------------------

_BUILDINGS_EXPECTED = """
    SELECT b.id AS building_id,
           (SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households,
           (SELECT count(*) FROM resident r WHERE EXISTS (
               SELECT 1 FROM household h WHERE h.id = r.household_id AND h.building_id = b.id))
             AS residents,
           (SELECT count(*) FROM party_member m WHERE EXISTS (
               SELECT 1 FROM resident r JOIN household h ON h.id = r.household_id
                WHERE r.id = m.resident_id AND h.building_id = b.id)) AS party_members
      FROM building b JOIN area g ON g.id = b.grid_id
     WHERE b.valid_to IS NULL AND g.valid_to IS NULL
     ORDER BY b.id
"""


def building_rows(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(stored, expected) rows of every current building in a current grid."""
    stored_rows = session.execute(
        text(
            "SELECT building_id, households, residents, party_members FROM building_stats "
            "ORDER BY building_id"
        )
    ).all()
    expected_rows = session.execute(text(_BUILDINGS_EXPECTED)).all()
    return [tuple(r) for r in stored_rows], [tuple(r) for r in expected_rows]


def test_every_current_building_has_counts_equal_to_sql(db_session: Session) -> None:
    stored_rows, expected_rows = building_rows(db_session)
    assert stored_rows == expected_rows
    assert any(r[1] > 0 for r in stored_rows) and any(r[3] > 0 for r in stored_rows)


def test_building_counts_follow_a_household_after_refresh(db_session: Session) -> None:
    grid = chain_of_grid(db_session)[0]
    building = db_session.execute(
        text(
            "SELECT b.id, b.code, b.district_code FROM building b JOIN area g ON g.id = b.grid_id"
            " WHERE g.code = :g AND g.valid_to IS NULL AND b.valid_to IS NULL ORDER BY b.id"
            " LIMIT 1"
        ),
        {"g": grid},
    ).one()
    before = db_session.execute(
        text("SELECT households FROM building_stats WHERE building_id = :b"), {"b": building.id}
    ).scalar_one()
    db_session.execute(
        text(
            "INSERT INTO household (code, building_id, unit, floor, room, address, district_code)"
            " VALUES ('TEST-BUILDING-STATS-1', :b, 99, 1, '9901', '测试地址', :d)"
        ),
        {"b": building.id, "d": building.district_code},
    )
    refresh_area_stats(db_session, grid)
    stored_rows, expected_rows = building_rows(db_session)
    assert stored_rows == expected_rows
    assert {r[0]: r[1] for r in stored_rows}[building.id] == before + 1
    # The buildings collection's SQL reads the stored count for the current version.
    from gis.sqlfiles import read_sql

    shown = db_session.execute(
        text(
            f"SELECT households FROM ({read_sql('features_buildings.sql')}) f "
            "WHERE f.fid = :code AND f.t_end IS NULL"
        ),
        {"code": building.code},
    ).scalar_one()
    assert shown == before + 1
