"""SQL for households and their residents: personal data, scoped and masked by the viewer.

Only roles that work with households see them (:data:`HOUSEHOLD_ROLES`), only inside their own
area subtree. Names, ID numbers and phones are masked unless the role may unmask, the row lies
in scope and the caller states a purpose; every unmasked response is written to the audit log
here, in the data layer, so no endpoint can forget it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.masking import mask_id_number, mask_name, mask_phone
from gis.scope import PERSONAL_DATA_ROLES, Viewer

# Roles that need household records; planners and the command centre see them masked.
HOUSEHOLD_ROLES = PERSONAL_DATA_ROLES | {"command_operator", "planner"}
AREA_CODE_RE = re.compile(r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$")
HOUSEHOLD_CODE_RE = re.compile(r"^[0-9]{6}H[0-9]{9}$")
MAX_LIMIT = 500

_LIST_SQL = text(
    """
    WITH grids AS (
        SELECT id, code FROM area
        WHERE level = 'grid' AND valid_to IS NULL AND code LIKE :prefix
    )
    SELECT h.code, h.address, h.unit, h.floor, h.room, b.code AS building_code,
           g.code AS grid_code, ST_X(b.anchor) AS lon, ST_Y(b.anchor) AS lat,
           (SELECT count(*) FROM resident r WHERE r.household_id = h.id) AS residents,
           (SELECT r.name FROM resident r WHERE r.household_id = h.id
             ORDER BY (r.relation = '户主') DESC, r.id LIMIT 1) AS head_name,
           count(*) OVER () AS total
    FROM grids g
    JOIN building b ON b.grid_id = g.id AND b.valid_to IS NULL
    JOIN household h ON h.building_id = b.id
    ORDER BY h.code
    LIMIT :limit OFFSET :offset
    """
)

_HOUSEHOLD_SQL = text(
    """
    SELECT h.id, h.code, h.address, h.unit, h.floor, h.room, b.code AS building_code,
           g.code AS grid_code, ST_X(b.anchor) AS lon, ST_Y(b.anchor) AS lat
    FROM household h
    JOIN building b ON b.id = h.building_id
    JOIN area g ON g.id = b.grid_id
    WHERE h.code = :code
    """
)

_RESIDENTS_SQL = text(
    """
    SELECT r.name, r.gender, r.birth_year, r.id_number, r.phone, r.relation,
           (pm.id IS NOT NULL) AS party_member
    FROM resident r LEFT JOIN party_member pm ON pm.resident_id = r.id
    WHERE r.household_id = :household_id
    ORDER BY (r.relation = '户主') DESC, r.id
    """
)


def subtree_prefix(code: str) -> str:
    """The prefix shared by every code in an area's subtree.

    A street's 12-digit code ends in ``000`` and its communities share only its first 9 digits,
    so the street itself is not a prefix of its children.

    >>> subtree_prefix("620881001000"), subtree_prefix("620881001001"), subtree_prefix("620881")
    ('620881001', '620881001001', '620881')
    """
    return code[:9] if len(code) == 12 and code.endswith("000") else code


def _covers(viewer: Viewer, code: str) -> bool:
    # gis.scope.Viewer.covers compares with the scope code itself, which misses a street's
    # children; use the subtree prefix until scope.py does (reported to the lead).
    return viewer.scope_code is not None and code.startswith(subtree_prefix(viewer.scope_code))


def _check_role(viewer: Viewer) -> None:
    if viewer.role not in HOUSEHOLD_ROLES:
        raise Forbidden(
            f"the role {viewer.role} has no access to household records; roles with access: "
            + ", ".join(sorted(HOUSEHOLD_ROLES))
        )


def effective_area(viewer: Viewer, within: str | None) -> str:
    """The area whose subtree to read: ``within`` narrowed to the viewer's scope.

    >>> v = Viewer("li", "grid_chief", "620881001001001")
    >>> effective_area(v, None), effective_area(v, "620881")
    ('620881001001001', '620881001001001')
    """
    assert viewer.scope_code is not None
    if within is None:
        return viewer.scope_code
    if not AREA_CODE_RE.match(within):
        raise InvalidInput("within must be an area code of 6, 12 or 15 digits", parameter="within")
    if _covers(viewer, within):
        return within
    if viewer.scope_code.startswith(subtree_prefix(within)):
        return viewer.scope_code  # an ancestor of the scope: read the whole scope
    raise Forbidden(
        f"the area {within} is outside your scope {viewer.scope_code}", parameter="within"
    )


def _unmasks(viewer: Viewer, grid_code: str, purpose: str | None) -> bool:
    return bool(purpose) and viewer.may_unmask and _covers(viewer, grid_code)


def list_households(
    session: Session,
    viewer: Viewer,
    *,
    within: str | None = None,
    limit: int = 100,
    offset: int = 0,
    purpose: str | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """Households in the viewer's scope (optionally a sub-area), paged, head names masked."""
    _check_role(viewer)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", parameter="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", parameter="offset")
    area = effective_area(viewer, within)
    rows = session.execute(
        _LIST_SQL, {"prefix": subtree_prefix(area) + "%", "limit": limit, "offset": offset}
    ).all()
    total = rows[0].total if rows else 0
    unmasked = 0
    items = []
    for row in rows:
        show = _unmasks(viewer, row.grid_code, purpose)
        unmasked += show
        items.append(
            {
                "code": row.code,
                "address": row.address,
                "unit": row.unit,
                "floor": row.floor,
                "room": row.room,
                "building_code": row.building_code,
                "grid_code": row.grid_code,
                "lon": row.lon,
                "lat": row.lat,
                "residents": row.residents,
                "head_name": row.head_name if show else mask_name(row.head_name),
                "masked": not show,
            }
        )
    if unmasked:
        audit.record_unmasked_read(
            session, viewer, f"households:{area}", purpose=purpose, rows=unmasked, client=client
        )
    return {"within": area, "total": total, "limit": limit, "offset": offset, "items": items}


def household(
    session: Session,
    viewer: Viewer,
    code: str,
    *,
    purpose: str | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """One household and its residents; personal fields masked unless allowed and audited."""
    _check_role(viewer)
    if not HOUSEHOLD_CODE_RE.match(code):
        raise InvalidInput(
            "a household code is the 6-digit district code, 'H' and 9 digits",
            parameter="code",
        )
    row = session.execute(_HOUSEHOLD_SQL, {"code": code}).first()
    # Out of scope looks exactly like missing: the code's existence is itself information.
    if row is None or not _covers(viewer, row.grid_code):
        raise NotFound(f"no household {code} in your scope")
    show = _unmasks(viewer, row.grid_code, purpose)
    residents = []
    for r in session.execute(_RESIDENTS_SQL, {"household_id": row.id}).all():
        residents.append(
            {
                "name": r.name if show else mask_name(r.name),
                "gender": r.gender,
                "birth_year": r.birth_year,
                "id_number": r.id_number if show else mask_id_number(r.id_number),
                "phone": r.phone if show else mask_phone(r.phone),
                "relation": r.relation,
                "party_member": r.party_member,
            }
        )
    if show:
        audit.record_unmasked_read(
            session,
            viewer,
            f"household:{code}",
            purpose=purpose,
            rows=len(residents),
            client=client,
        )
    return {
        "code": row.code,
        "address": row.address,
        "unit": row.unit,
        "floor": row.floor,
        "room": row.room,
        "building_code": row.building_code,
        "grid_code": row.grid_code,
        "lon": row.lon,
        "lat": row.lat,
        "masked": not show,
        "residents": residents,
    }
