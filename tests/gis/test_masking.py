"""Masking of personal fields: names 张*明, ID numbers 620881********1234, phones 138****5678."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.masking import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张晓明", "张*明"),
        ("李四", "李*"),
        ("欧阳小明", "欧**明"),
        ("王", "*"),
        ("", ""),
        (None, None),
    ],
)
def test_names_keep_first_and_last_character(name: str | None, masked: str | None) -> None:
    assert mask_name(name) == masked


def test_id_numbers_keep_region_and_last_four() -> None:
    assert mask_id_number("620881198503121234") == "620881********1234"
    assert mask_id_number("62088119850312123X") == "620881********123X"
    assert mask_id_number(None) is None


def test_phones_keep_prefix_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) is None


@pytest.mark.parametrize(
    ("value", "kept_head", "kept_tail"),
    [("620881198503121234", 6, 4), ("13812345678", 3, 4), ("张晓明", 1, 1), ("欧阳小明", 1, 1)],
)
def test_masked_values_hide_the_middle_and_keep_the_length(
    value: str, kept_head: int, kept_tail: int
) -> None:
    masked = {18: mask_id_number, 11: mask_phone}.get(len(value), mask_name)(value)
    assert masked is not None and len(masked) == len(value)
    assert masked[:kept_head] == value[:kept_head] and masked[-kept_tail:] == value[-kept_tail:]
    assert set(masked[kept_head:-kept_tail]) == {"*"}


def test_masking_the_demo_city_leaves_no_full_identifier(db_session: Session) -> None:
    rows = db_session.execute(
        text("SELECT name, id_number, phone FROM resident WHERE id_number IS NOT NULL LIMIT 500")
    ).all()
    assert rows
    for name, id_number, phone in rows:
        assert mask_id_number(id_number)[6:14] == "*" * 8  # type: ignore[index]
        assert mask_id_number(id_number) != id_number
        if phone:
            assert mask_phone(phone)[3:7] == "****"  # type: ignore[index]
        assert mask_name(name) != name or len(name) == 0
