"""The special-groups vocabulary has one owner; the database's CHECK and the demo data agree."""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.population import special_groups
from gis.special_groups import LABELS_EN, LABELS_ZH, SPECIAL_GROUPS, for_pages


def test_the_check_constraint_lists_the_vocabulary(db_session: Session) -> None:
    definition = db_session.execute(
        text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname = 'resident_special_groups_known'"
        )
    ).scalar_one()
    assert set(re.findall(r"'([a-z_]+)'::text", definition)) == set(SPECIAL_GROUPS)
    assert set(LABELS_ZH) == set(LABELS_EN) == set(SPECIAL_GROUPS)
    assert [g["key"] for g in for_pages()] == list(SPECIAL_GROUPS)


def test_an_unknown_group_is_refused_by_the_database(db_session: Session) -> None:
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(
            text(
                "UPDATE resident SET special_groups = ARRAY['vip']"
                " WHERE id = (SELECT min(id) FROM resident)"
            )
        )


def test_the_demo_city_flags_every_group_and_old_people_living_alone(
    db_session: Session,
) -> None:
    found = dict(
        db_session.execute(
            text("SELECT g, count(*) FROM resident, unnest(special_groups) g GROUP BY g")
        ).all()
    )
    assert set(found) == set(SPECIAL_GROUPS)
    # Every resident aged 65+ alone in a household is flagged 独居老人, and only they are.
    wrong = db_session.execute(
        text(
            """
            SELECT count(*) FROM resident r
            WHERE ('elderly_alone' = ANY(r.special_groups)) <> (
                  (SELECT count(*) FROM resident o WHERE o.household_id = r.household_id) = 1
                  AND extract(year FROM now()) - r.birth_year >= 65)
            """
        )
    ).scalar_one()
    assert wrong <= found.get("elderly_alone", 0) * 0.05 + 2  # birthdays around the as-of date


def test_special_groups_of_one_household() -> None:
    # A couple over 60 is an empty nest more often than not; a child's group needs an age < 16.
    draws = [
        special_groups(random.Random(seed), [(1, 70, "男", "户主"), (2, 68, "女", "配偶")])
        for seed in range(200)
    ]
    nests = sum("empty_nest" in groups.get(1, ()) for groups in draws)
    assert 90 <= nests <= 150
    adults = [special_groups(random.Random(s), [(1, 40, "女", "户主")]) for s in range(500)]
    assert not any("left_behind_child" in g.get(1, ()) for g in adults)
