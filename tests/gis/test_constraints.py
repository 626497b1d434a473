"""The database itself refuses inconsistent data, whoever writes it."""

from __future__ import annotations

import psycopg
import pytest

SQUARE = "SRID=4326;MULTIPOLYGON(((106.6 35.2,106.7 35.2,106.7 35.3,106.6 35.3,106.6 35.2)))"
BOWTIE = "SRID=4326;MULTIPOLYGON(((106.6 35.2,106.7 35.3,106.7 35.2,106.6 35.3,106.6 35.2)))"


def _district(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "INSERT INTO area (level, code, name, kind, district_code, geom) "
        "VALUES ('district', '620881', '华亭市', '县级市', '620881', %s) RETURNING id",
        (SQUARE,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _insert_area(
    conn: psycopg.Connection, level: str, code: str, kind: str, parent: int, geom: str = SQUARE
) -> int:
    row = conn.execute(
        "INSERT INTO area (level, code, name, kind, parent_id, district_code, geom) "
        "VALUES (%s, %s, 'x', %s, %s, left(%s, 6), %s) RETURNING id",
        (level, code, kind, parent, code, geom),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_nested_codes_are_accepted(pg_conn: psycopg.Connection) -> None:
    district = _district(pg_conn)
    street = _insert_area(pg_conn, "street", "620881001000", "街道", district)
    community = _insert_area(pg_conn, "community", "620881001001", "社区", street)
    grid = _insert_area(pg_conn, "grid", "620881001001001", "综合网格", community)
    assert grid > community > street > district


@pytest.mark.parametrize(
    ("level", "code", "kind", "message"),
    [
        ("community", "620881002001", "社区", "must lie under a street whose code it extends"),
        ("community", "620881001000", "社区", "area_code_format"),
        ("street", "620881001000", "社区", "area_kind"),
    ],
)
def test_inconsistent_codes_are_refused(
    pg_conn: psycopg.Connection, level: str, code: str, kind: str, message: str
) -> None:
    district = _district(pg_conn)
    street = _insert_area(pg_conn, "street", "620881001000", "街道", district)
    parent = street if level == "community" else district
    with pytest.raises(psycopg.errors.CheckViolation, match=message):
        _insert_area(pg_conn, level, code, kind, parent)


def test_invalid_geometry_is_refused(pg_conn: psycopg.Connection) -> None:
    district = _district(pg_conn)
    with pytest.raises(psycopg.errors.CheckViolation, match="area_geom_valid"):
        _insert_area(pg_conn, "street", "620881001000", "街道", district, geom=BOWTIE)


def test_current_codes_are_unique_but_history_may_repeat_them(pg_conn: psycopg.Connection) -> None:
    district = _district(pg_conn)
    street = _insert_area(pg_conn, "street", "620881001000", "街道", district)
    pg_conn.execute(
        "UPDATE area SET valid_to = valid_from + interval '1 day' WHERE id = %s", (street,)
    )
    again = _insert_area(pg_conn, "street", "620881001000", "街道", district)
    assert again != street
    with pytest.raises(psycopg.errors.UniqueViolation):
        _insert_area(pg_conn, "street", "620881001000", "街道", district)


def test_incident_category_must_fit_its_kind(pg_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="incident_category_fits_kind"):
        pg_conn.execute(
            "INSERT INTO incident (code, kind, category, description, source, geom, district_code)"
            " VALUES ('X1', 'event', '公用设施', 'd', 'public', "
            "'SRID=4326;POINT(106.65 35.22)', '620881')"
        )
