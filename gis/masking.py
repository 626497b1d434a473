"""Masking of personal data: names 张*明, ID numbers 620881********1234, phones 138****5678.

And the generalisation of masked answers (:class:`Exposure`): a masked answer must not identify
a person either, so flats become buildings and roles without the need lose ID numbers, phones,
gender and birth year altogether. The roles × fields table in docs/security.md is this module.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from gis.scope import Viewer

T = TypeVar("T")


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


def surname_only(name: str | None) -> str | None:
    """Keep only the first character: for roles that never need to know who it is.

    >>> surname_only("张晓明"), surname_only("李四")
    ('张**', '李*')
    """
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


class Exposure(StrEnum):
    """How much of a person a response shows (docs/security.md, "Roles × personal fields").

    - ``exact``: a role that needs personal data, a row in its scope, a stated purpose (audited);
    - ``masked``: the same role and row without a purpose — masked, flat generalised to building;
    - ``generalised``: roles without that need (planner, command centre, party member) and rows
      outside the scope — nothing that picks out one person: surname only, building only, no ID
      number, phone, gender or birth year.
    """

    EXACT = "exact"
    MASKED = "masked"
    GENERALISED = "generalised"


def exposure(viewer: Viewer, code: str | None) -> Exposure:
    """How a row of area ``code`` is shown to ``viewer`` (the disclosure rule decides exact).

    >>> chief = Viewer("li", "grid_chief", "620881001001001")
    >>> exposure(chief, "620881001001001"), exposure(chief.with_purpose("走访"), "620881001001001")
    (<Exposure.MASKED: 'masked'>, <Exposure.EXACT: 'exact'>)
    >>> exposure(Viewer("p", "planner", "620881", purpose="规划"), "620881001001001")
    <Exposure.GENERALISED: 'generalised'>
    """
    if viewer.unmasks(code):
        return Exposure.EXACT
    if viewer.may_unmask and viewer.covers(code):
        return Exposure.MASKED
    return Exposure.GENERALISED


def show_name(name: str | None, level: Exposure) -> str | None:
    if level is Exposure.EXACT:
        return name
    return mask_name(name) if level is Exposure.MASKED else surname_only(name)


def show_id_number(id_number: str | None, level: Exposure) -> str | None:
    if level is Exposure.EXACT:
        return id_number
    return mask_id_number(id_number) if level is Exposure.MASKED else None


def show_phone(phone: str | None, level: Exposure) -> str | None:
    if level is Exposure.EXACT:
        return phone
    return mask_phone(phone) if level is Exposure.MASKED else None


def show_demographic(value: T, level: Exposure) -> T | None:
    """Gender and birth year: for roles that need them (exact or masked), else nothing."""
    return None if level is Exposure.GENERALISED else value


def show_flat(flat: T, level: Exposure) -> T | None:
    """Unit, floor, room and the flat's own address: only exact; others get the building."""
    return flat if level is Exposure.EXACT else None
