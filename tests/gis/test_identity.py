"""Identity-number and mobile validation (gis.identity)."""

from __future__ import annotations

import doctest

import pytest

import gis.identity as identity
from gis.identity import id_check_digit, id_gender, is_valid_id_number, is_valid_mobile

# The worked example printed in GB 11643-1999.
GB_EXAMPLE = "11010519491231002X"


def _weighted_check(first17: str) -> str:
    """Independent MOD 11-2: weights are 2**(17 - i) mod 11, check = (12 - sum mod 11) mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def test_doctests() -> None:
    result = doctest.testmod(identity)
    assert result.attempted > 0
    assert result.failed == 0


def test_gb_example() -> None:
    assert id_check_digit(GB_EXAMPLE[:17]) == "X"
    assert is_valid_id_number(GB_EXAMPLE)
    assert id_gender(GB_EXAMPLE) == "女"


@pytest.mark.parametrize(
    "first17",
    [
        "62088119900307001",
        "62088120240229002",
        "11010519491231002",
        "44030419851111123",
        "62088119700101999",
    ],
)
def test_check_digit_matches_independent_formula(first17: str) -> None:
    assert id_check_digit(first17) == _weighted_check(first17)
    assert is_valid_id_number(first17 + _weighted_check(first17))


@pytest.mark.parametrize(
    "bad",
    [
        "11010519491231002x",  # lower-case x is not the stored form
        "110105194912310021",  # wrong check digit
        "62088119900230001X",  # 30 February
        "62088118790101001" + "0",  # before 1880
        "01010519491231002X",  # region cannot start with 0
        "1101051949123100",  # too short
        "11010519491231002XX",  # too long
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
        12345678901234567,
        None,
    ],
)
def test_invalid_id_numbers(bad: object) -> None:
    assert not is_valid_id_number(bad)


def test_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        id_check_digit("1234")
    with pytest.raises(ValueError):
        id_check_digit("1101051949123100A")


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("13812345678", True),
        ("19912345678", True),
        ("12812345678", False),
        ("1381234567", False),
        ("138123456789", False),
        ("+8613812345678", False),
        ("138 1234 5678", False),
        (13812345678, False),
        (None, False),
    ],
)
def test_mobile(phone: object, ok: bool) -> None:
    assert is_valid_mobile(phone) is ok
