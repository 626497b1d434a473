"""SQL for households and their residents: personal data, scoped and masked by the viewer.

Only roles that work with households see them (:data:`HOUSEHOLD_ROLES`), only inside their own
area subtree. Names, ID numbers and phones are shown by the disclosure rule (``Viewer.unmasks``:
a role that needs them, a row in scope, a stated purpose); every unmasked response is written to
the audit log here, in the data layer, so no endpoint can forget it. Masked answers are
generalised (gis.masking.Exposure): the building instead of the flat, and for roles without the
need no gender or birth year. A masked page read by a role without the need is audited as a bulk
masked read.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.masking import (
    Exposure,
    exposure,
    show_demographic,
    show_flat,
    show_id_number,
    show_name,
    show_phone,
)
from gis.queries.areas import escape_like
from gis.scope import PERSONAL_DATA_ROLES, Viewer
from gis.special_groups import SPECIAL_GROUPS

# Roles that need household records; planners and the command centre see them masked.
HOUSEHOLD_ROLES = PERSONAL_DATA_ROLES | {"command_operator", "planner"}
AREA_CODE_RE = re.compile(r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$")
HOUSEHOLD_CODE_RE = re.compile(r"^[0-9]{6}H[0-9]{9}$")
MAX_LIMIT = 500

# ``:q`` matches the household code, the flat's address, or (``:names``) any resident's name;
# ``:group`` keeps households with a resident in that special group. Both are optional.
_LIST_SQL = text(
    """
    WITH grids AS (
        SELECT id, code FROM area
        WHERE level = 'grid' AND valid_to IS NULL AND code LIKE :prefix
    )
    SELECT h.code, h.address, h.unit, h.floor, h.room, b.code AS building_code,
           b.address AS building_address,
           g.code AS grid_code, ST_X(b.anchor) AS lon, ST_Y(b.anchor) AS lat,
           (SELECT count(*) FROM resident r WHERE r.household_id = h.id) AS residents,
           (SELECT coalesce(array_agg(DISTINCT gr ORDER BY gr), '{}')
              FROM resident r, unnest(r.special_groups) gr
             WHERE r.household_id = h.id) AS special_groups,
           head.id AS head_id, head.name AS head_name,
           count(*) OVER () AS total
    FROM grids g
    JOIN building b ON b.grid_id = g.id AND b.valid_to IS NULL
    JOIN household h ON h.building_id = b.id
    LEFT JOIN LATERAL (SELECT r.id, r.name FROM resident r WHERE r.household_id = h.id
                       ORDER BY (r.relation = '户主') DESC, r.id LIMIT 1) head ON true
    WHERE (CAST(:building AS text) IS NULL OR b.code = :building)
      AND (CAST(:group AS text) IS NULL OR EXISTS (
               SELECT 1 FROM resident r WHERE r.household_id = h.id
                  AND r.special_groups @> ARRAY[CAST(:group AS text)]))
      AND (CAST(:q AS text) IS NULL OR h.code = :q OR h.address LIKE :pattern
           OR (:names AND EXISTS (SELECT 1 FROM resident r WHERE r.household_id = h.id
                                   AND r.name LIKE :pattern)))
    ORDER BY h.code
    LIMIT :limit OFFSET :offset
    """
)

_HOUSEHOLD_SQL = text(
    """
    SELECT h.id, h.code, h.address, h.unit, h.floor, h.room, b.code AS building_code,
           b.address AS building_address, g.code AS grid_code,
           ST_X(b.anchor) AS lon, ST_Y(b.anchor) AS lat
    FROM household h
    JOIN building b ON b.id = h.building_id
    JOIN area g ON g.id = b.grid_id
    WHERE h.code = :code
    """
)

_RESIDENTS_SQL = text(
    """
    SELECT r.id, r.name, r.gender, r.birth_year, r.id_number, r.phone, r.relation,
           r.special_groups, (pm.id IS NOT NULL) AS party_member
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


def _flat(row: Any, level: Exposure) -> dict[str, Any]:
    """The place of a household as this exposure may see it: the flat, or only its building."""
    return {
        "address": row.address if level is Exposure.EXACT else row.building_address,
        "unit": show_flat(row.unit, level),
        "floor": show_flat(row.floor, level),
        "room": show_flat(row.room, level),
    }


def list_households(
    session: Session,
    viewer: Viewer,
    *,
    within: str | None = None,
    q: str | None = None,
    group: str | None = None,
    building: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Households in the viewer's scope (optionally a sub-area), paged, head names masked.

    ``q`` finds a household by its code, part of its address or (for roles that work with
    people's names) part of a resident's name; ``group`` keeps households with someone in that
    special group (gis.special_groups), which only those roles may ask, since membership is
    itself personal data; ``building`` keeps one building's households.
    """
    _check_role(viewer)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", parameter="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", parameter="offset")
    query = q.strip() if q is not None else None
    if q is not None and not 1 <= len(query or "") <= 50:
        raise InvalidInput("q needs 1 to 50 characters besides spaces", parameter="q")
    if group is not None:
        if group not in SPECIAL_GROUPS:
            raise InvalidInput(
                f"group must be one of {', '.join(SPECIAL_GROUPS)}", parameter="group"
            )
        if not viewer.may_unmask:
            raise Forbidden(
                f"the role {viewer.role} may not list people by special group", parameter="group"
            )
    area = effective_area(viewer, within)
    rows = session.execute(
        _LIST_SQL,
        {
            "prefix": subtree_prefix(area) + "%",
            "limit": limit,
            "offset": offset,
            "q": query,
            "pattern": f"%{escape_like(query)}%" if query else None,
            "names": viewer.may_unmask,
            "group": group,
            "building": building,
        },
    ).all()
    total = rows[0].total if rows else 0
    shown: list[str] = []
    items = []
    for row in rows:
        level = exposure(viewer, row.grid_code)
        if level is Exposure.EXACT:
            shown += [audit.subject("household", row.code)]
            if row.head_id is not None:
                shown.append(audit.subject("resident", row.head_id))
        items.append(
            {
                "code": row.code,
                **_flat(row, level),
                "building_code": row.building_code,
                "grid_code": row.grid_code,
                "lon": row.lon,
                "lat": row.lat,
                "residents": row.residents,
                "head_name": show_name(row.head_name, level),
                "special_groups": show_demographic(list(row.special_groups), level) or [],
                "masked": level is not Exposure.EXACT,
            }
        )
    # A search or a special-group filter says what was looked for: the log keeps it.
    asked = {k: v for k, v in (("q", query), ("group", group), ("building", building)) if v}
    if shown:
        audit.disclose(
            session,
            viewer,
            f"households:{area}",
            subjects=shown,
            rows=sum(not item["masked"] for item in items),
            area_code=area,
            detail=asked,
        )
    elif rows:
        # A page of households is a bulk read even masked: the log says who listed an area.
        audit.disclose(
            session,
            viewer,
            f"households:{area}",
            rows=len(rows),
            area_code=area,
            action=audit.READ_MASKED_BULK,
            detail=asked,
        )
    return {"within": area, "total": total, "limit": limit, "offset": offset, "items": items}


def household(
    session: Session,
    viewer: Viewer,
    code: str,
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
    level = exposure(viewer, row.grid_code)
    residents = []
    shown = [audit.subject("household", code)]
    for r in session.execute(_RESIDENTS_SQL, {"household_id": row.id}).all():
        shown.append(audit.subject("resident", r.id))
        residents.append(
            {
                "name": show_name(r.name, level),
                "gender": show_demographic(r.gender, level),
                "birth_year": show_demographic(r.birth_year, level),
                "id_number": show_id_number(r.id_number, level),
                "phone": show_phone(r.phone, level),
                "relation": r.relation,
                "special_groups": show_demographic(list(r.special_groups), level) or [],
                "party_member": r.party_member,
            }
        )
    if level is Exposure.EXACT:
        audit.disclose(session, viewer, f"household:{code}", subjects=shown, rows=len(residents))
    return {
        "code": row.code,
        **_flat(row, level),
        "building_code": row.building_code,
        "grid_code": row.grid_code,
        "lon": row.lon,
        "lat": row.lat,
        "masked": level is not Exposure.EXACT,
        "residents": residents,
    }
