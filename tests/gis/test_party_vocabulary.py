"""The 双报到 and regional vocabularies are the migration's: each CHECK lists exactly their keys."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.dual import vocabulary as dual
from gis.regional import vocabulary as regional


def _listed(session: Session, table: str, column: str) -> set[str]:
    """The string literals of the CHECK constraint on ``table.column``."""
    definitions = session.execute(
        text(
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.conrelid = CAST(:t AS regclass) AND c.contype = 'c'"
            " AND a.attname = :c AND cardinality(c.conkey) = 1"
        ),
        {"t": table, "c": column},
    ).scalars()
    found: set[str] = set()
    for definition in definitions:
        found |= set(re.findall(r"'([^']+)'::text", definition))
    return found


def test_the_migration_lists_the_vocabularies(db_session: Session) -> None:
    assert _listed(db_session, "regional_unit", "kind") == set(regional.UNIT_KINDS)
    assert _listed(db_session, "regional_resource", "category") == set(regional.RESOURCE_CATEGORIES)
    assert _listed(db_session, "regional_committee_seat", "post") == set(regional.COMMITTEE_POSTS)
    assert _listed(db_session, "service_order", "origin") == set(dual.ORIGINS)
    assert _listed(db_session, "service_order", "service_type") == set(dual.SERVICE_TYPES)


def test_the_page_vocabularies_name_every_key() -> None:
    assert set(dual.for_pages()["origins"]) == set(dual.ORIGINS)
    assert set(regional.for_pages()["layers"]) == set(regional.LAYERS)
    assert set(regional.TWO_NEW_KINDS) <= set(regional.UNIT_KINDS)
    assert set(regional.REPORTING_KINDS) <= set(regional.UNIT_KINDS)
