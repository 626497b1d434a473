"""gis.audit: disclosure rows name their subjects; who_saw finds a person by any handle."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import InvalidInput
from gis.scope import Viewer

CHIEF = Viewer("who_saw_chief", "grid_chief", "620881", purpose="回访", client="127.0.0.1")


def test_a_reporter_is_found_by_phone_and_a_staff_member_by_id_number(
    db_session: Session,
) -> None:
    case = db_session.execute(
        text(
            "SELECT i.code, i.reporter_phone FROM incident i"
            " WHERE i.reporter_phone IS NOT NULL ORDER BY i.id LIMIT 1"
        )
    ).one()
    staff = db_session.execute(
        text("SELECT id, id_number FROM person WHERE id_number IS NOT NULL ORDER BY id LIMIT 1")
    ).one()
    audit.disclose(db_session, CHIEF, f"incident:{case.code}", subjects=[f"incident:{case.code}"])
    audit.disclose(db_session, CHIEF, "locate:x", subjects=[f"person:{staff.id}"])
    audit.disclose(db_session, CHIEF, "nothing", subjects=[])  # an empty disclosure: no row
    found, rows = audit.who_saw(db_session, case.reporter_phone)
    assert f"incident:{case.code}" in found.keys
    mine = [r for r in rows if r.username == CHIEF.username]
    assert [(r.target, r.purpose, r.client, r.detail) for r in mine] == [
        (f"incident:{case.code}", "回访", "127.0.0.1", {"rows": 1})
    ]
    found, rows = audit.who_saw(db_session, staff.id_number)
    assert f"person:{staff.id}" in found.keys
    assert [r.target for r in rows if r.username == CHIEF.username] == ["locate:x"]
    assert (
        db_session.execute(
            text("SELECT count(*) FROM audit_log WHERE target = 'nothing'")
        ).scalar_one()
        == 0
    )


def test_a_bulk_read_covers_everyone_in_its_area(db_session: Session) -> None:
    resident = db_session.execute(
        text(
            "SELECT r.id, g.code AS grid FROM resident r JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " ORDER BY r.id LIMIT 1"
        )
    ).one()
    street = resident.grid[:9] + "000"  # a street's subtree is its first nine digits
    audit.disclose(
        db_session,
        CHIEF,
        f"export:households:{street}",
        rows=5000,
        area_code=street,
        action=audit.EXPORT_MASKED,
    )
    _, rows = audit.who_saw(db_session, f"resident:{resident.id}")
    assert [(r.action, r.area_code) for r in rows if r.username == CHIEF.username] == [
        (audit.EXPORT_MASKED, street)
    ]


@pytest.mark.parametrize("value", ["张三", "12345", "resident:", "household:  "])
def test_a_subject_must_be_an_id_number_a_mobile_or_a_subject_name(
    db_session: Session, value: str
) -> None:
    with pytest.raises(InvalidInput, match="subject"):
        audit.resolve_subject(db_session, value)
