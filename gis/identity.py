"""Validation of Chinese resident identity numbers and mobile phone numbers.

Pure and stdlib-only so that every layer (importers, API, generator, tests) can share it.

The 18-character resident identity number (GB 11643-1999) is::

    RRRRRR YYYYMMDD SSS C
    region birthdate seq check

The 17th character (last digit of ``SSS``) is odd for men and even for women; ``C`` is the
ISO 7064 MOD 11-2 check character computed by :func:`id_check_digit`.
"""

from __future__ import annotations

import datetime
import re

__all__ = ["id_check_digit", "id_gender", "is_valid_id_number", "is_valid_mobile"]

# ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for positions 1..17, and the check characters
# indexed by the weighted sum modulo 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


def id_check_digit(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character of an identity number.

    Parameters
    ----------
    first17 : str
        The first 17 characters, all ASCII digits.

    Returns
    -------
    str
        One of ``0``-``9`` or ``X``.

    Raises
    ------
    ValueError
        If ``first17`` is not exactly 17 ASCII digits.

    Examples
    --------
    >>> id_check_digit("11010519491231002")
    'X'
    >>> id_check_digit("62088119900307001")
    '1'
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 ASCII digits, got {first17!r}")
    total = sum(int(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def is_valid_id_number(s: object) -> bool:
    """Tell whether ``s`` is a well-formed 18-character resident identity number.

    Checks the format (17 digits and a digit or upper-case ``X``), a non-zero region
    prefix, a real calendar birth date with year 1880-2100 (the range the database accepts)
    and the check character. Callers normalise a lower-case ``x`` themselves if they want to
    accept it.

    Parameters
    ----------
    s : object
        The candidate; anything that is not a ``str`` is invalid.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_valid_id_number("11010519491231002X")
    True
    >>> is_valid_id_number("110105194912310021")
    False
    >>> is_valid_id_number("62088119900230001X")  # 30 February
    False
    >>> is_valid_id_number(None)
    False
    """
    if not isinstance(s, str) or len(s) != 18 or not s.isascii():
        return False
    first17, check = s[:17], s[17]
    if not first17.isdigit() or not (check.isdigit() or check == "X"):
        return False
    if first17[0] == "0":
        return False
    try:
        born = datetime.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not 1880 <= born.year <= 2100:
        return False
    return id_check_digit(first17) == check


def id_gender(s: str) -> str:
    """Return the gender encoded in an identity number, ``'男'`` or ``'女'``.

    Parameters
    ----------
    s : str
        An identity number with at least 17 characters.

    Examples
    --------
    >>> id_gender("11010519491231002X")
    '女'
    """
    return "男" if int(s[16]) % 2 == 1 else "女"


def is_valid_mobile(s: object) -> bool:
    """Tell whether ``s`` is a mainland mobile number ``1[3-9]`` followed by nine digits.

    Parameters
    ----------
    s : object
        The candidate; anything that is not a ``str`` is invalid. No spaces, ``+86`` or
        separators are accepted: normalise first.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_valid_mobile("13812345678")
    True
    >>> is_valid_mobile("12812345678")
    False
    >>> is_valid_mobile("1381234567")
    False
    """
    return isinstance(s, str) and s.isascii() and _MOBILE_RE.fullmatch(s) is not None
