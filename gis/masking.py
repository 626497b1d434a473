"""Masking of personal data: names 张*明, ID numbers 620881********1234, phones 138****5678."""

from __future__ import annotations


def mask_name(name: str | None) -> str | None:
    """Keep the first and last character of a name.

    >>> mask_name("张晓明"), mask_name("李四"), mask_name("欧阳小明")
    ('张*明', '李*', '欧**明')
    """
    if not name:
        return name
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(id_number: str | None) -> str | None:
    """Keep the region (6) and the last 4 characters.

    >>> mask_id_number("62088119850312123X")
    '620881********123X'
    """
    if not id_number:
        return id_number
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str | None) -> str | None:
    """Keep the first 3 and last 4 digits.

    >>> mask_phone("13812345678")
    '138****5678'
    """
    if not phone:
        return phone
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
