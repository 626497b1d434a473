"""The residents' vocabularies and the migration's CHECK constraints list the same keys."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import special_groups
from gis.residents import vocabulary


def _check_keys(session: Session, table: str, column: str) -> set[str]:
    """The quoted keys of the CHECK constraint on ``table.column`` (as the database holds it)."""
    definitions = session.execute(
        text(
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " WHERE c.conrelid = CAST(:t AS regclass) AND c.contype = 'c'"
        ),
        {"t": table},
    ).scalars()
    for definition in definitions:
        if re.match(rf"CHECK \(\({column} = ANY \(ARRAY\[", definition):
            return set(re.findall(r"'([a-z_]+)'::text", definition))
    raise AssertionError(f"no CHECK listing keys on {table}.{column}")


def test_the_checks_list_the_vocabularies(db_session: Session) -> None:
    assert _check_keys(db_session, "notice", "category") == set(vocabulary.NOTICE_CATEGORIES)
    assert _check_keys(db_session, "notice", "special_group") == set(special_groups.SPECIAL_GROUPS)
    assert _check_keys(db_session, "service_application", "status") == set(
        vocabulary.APPLICATION_STATUSES
    )
    assert _check_keys(db_session, "volunteer_activity", "status") == set(
        vocabulary.ACTIVITY_STATUSES
    )
    assert _check_keys(db_session, "points_ledger", "kind") == set(vocabulary.LEDGER_KINDS)
    assert _check_keys(db_session, "notice_receipt", "via") == set(vocabulary.VIA)


def test_every_special_group_has_a_visit_interval() -> None:
    assert set(vocabulary.VISIT_INTERVAL_DAYS) == set(special_groups.SPECIAL_GROUPS)
    assert vocabulary.VISIT_INTERVAL_DAYS["elderly_alone"] == min(
        vocabulary.VISIT_INTERVAL_DAYS.values()
    )


def test_application_actions_lead_to_known_statuses() -> None:
    for sources, target in vocabulary.APPLICATION_ACTIONS.values():
        assert target in vocabulary.APPLICATION_STATUSES
        assert set(sources) <= set(vocabulary.OPEN_APPLICATION_STATUSES)
