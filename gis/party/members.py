"""The member register (党员名册): who may read and change it, its readers and its one writer.

Access (docs/party-building.md, "Members: who sees and changes what"):

- reading — the party-work roles (:data:`gis.orglife.meetings.ORG_LIFE_ROLES`) for members who
  live in their scope or whose 支部 lies in it. Names, ID numbers, phones and addresses follow the
  disclosure rule with the member's home grid (masked without a stated purpose, exact with one,
  every exact answer audited in the request's transaction).
- changing (组织关系转接, 流动党员, care, learning records) — the member's own branch secretary
  (the account linked to the branch's ``secretary_id``) or a community/street/district secretary
  whose scope holds the branch. The receiving side of a transfer within the register is checked
  the same way for a transfer in.
- a party member's own account reads only his own record (``/party/members/me``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import accounts, audit
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.masking import (
    Exposure,
    exposure,
    show_demographic,
    show_flat,
    show_id_number,
    show_name,
    show_phone,
)
from gis.orglife.meetings import ORG_LIFE_ROLES, local_today
from gis.party import vocabulary as v
from gis.queries.households import effective_area, subtree_prefix
from gis.scope import Viewer

SECRETARY_ROLES = frozenset({"district_secretary", "street_secretary", "community_secretary"})
MAX_LIMIT = 200


def check_reader(viewer: Viewer) -> None:
    if viewer.role not in ORG_LIFE_ROLES:
        raise Forbidden(
            f"the role {viewer.role} has no access to the member register; roles with access: "
            + ", ".join(sorted(ORG_LIFE_ROLES))
        )


# --- reading -----------------------------------------------------------------------------------

_MEMBER_SELECT = """
SELECT m.id, m.resident_id, r.name, r.gender, r.birth_year, r.id_number, r.phone, m.status,
       m.joined_on, m.in_service, m.work_unit, m.care_flags, m.external_org,
       m.registered_on, rc.code AS registered_community,
       br.id AS branch_id, br.code AS branch_code, br.name AS branch_name,
       br.secretary_id AS branch_secretary, ba.code AS branch_area,
       grp.code AS group_code, grp.name AS group_name,
       g.code AS grid_code, g.name AS grid_name, h.id AS household_id, h.code AS household_code,
       h.address, bl.name AS building_name,
       aw.id AS away_id, aw.place AS away_place, aw.host_org AS away_host,
       aw.since AS away_since, aw.reason AS away_reason
FROM party_member m
JOIN resident r ON r.id = m.resident_id
JOIN household h ON h.id = r.household_id
JOIN building bl ON bl.id = h.building_id
JOIN area g ON g.id = bl.grid_id
LEFT JOIN area rc ON rc.id = m.registered_community_id
LEFT JOIN party_org br ON br.id = m.org_id
LEFT JOIN area ba ON ba.id = br.area_id
LEFT JOIN party_org grp ON grp.id = m.group_id
LEFT JOIN party_member_away aw ON aw.member_id = m.id AND aw.until IS NULL
"""

# The list's filters, shared by the page of rows and its count.
_FILTER = """
WHERE (g.code LIKE :prefix OR ba.code LIKE :prefix)
  AND (CAST(:branch AS text) IS NULL OR br.code = :branch)
  AND (CAST(:status AS text) IS NULL OR m.status = :status)
  AND (CAST(:flag AS text) IS NULL OR CAST(:flag AS text) = ANY (m.care_flags))
  AND (CAST(:away AS boolean) IS NULL OR (aw.id IS NOT NULL) = :away)
  AND (CAST(:relation AS text) IS NULL OR (m.org_id IS NOT NULL) = (:relation = 'here'))
"""
_LIST_SQL = text(_MEMBER_SELECT + _FILTER + " ORDER BY m.id LIMIT :limit OFFSET :offset")
_COUNT_SQL = text("SELECT count(*) FROM (" + _MEMBER_SELECT + _FILTER + ") AS listed")
_ONE_SQL = text(_MEMBER_SELECT + " WHERE m.id = :id")


def _years(since: datetime.date, today: datetime.date) -> int:
    return today.year - since.year - ((today.month, today.day) < (since.month, since.day))


def _summary(row: Any, level: Exposure, today: datetime.date) -> dict[str, Any]:
    """A member as the list shows him: identity by the disclosure level, relations, flags."""
    return {
        "id": row.id,
        "name": show_name(row.name, level),
        "gender": show_demographic(row.gender, level),
        "birth_year": show_demographic(row.birth_year, level),
        "status": row.status,
        "joined_on": row.joined_on.isoformat(),
        "party_years": _years(row.joined_on, today),
        "relation": "here" if row.branch_code else "out",
        "branch": None
        if row.branch_code is None
        else {"code": row.branch_code, "name": row.branch_name, "area_code": row.branch_area},
        "group": None
        if row.group_code is None
        else {"code": row.group_code, "name": row.group_name},
        "external_org": row.external_org,
        "grid_code": row.grid_code,
        "grid_name": row.grid_name,
        "care_flags": list(row.care_flags),
        "in_service": row.in_service,
        "away": None
        if row.away_id is None
        else {
            "place": row.away_place,
            "reason": row.away_reason,
            "host_org": row.away_host,
            "since": row.away_since.isoformat(),
        },
        "masked": level is not Exposure.EXACT,
    }


def _in_scope(viewer: Viewer, row: Any) -> bool:
    return viewer.covers(row.grid_code) or (
        row.branch_area is not None and viewer.covers(row.branch_area)
    )


@dataclass(frozen=True)
class ListFilter:
    within: str | None = None
    branch: str | None = None
    status: str | None = None
    flag: str | None = None
    away: bool | None = None
    relation: str | None = None
    limit: int = 50
    offset: int = 0


def list_members(session: Session, viewer: Viewer, f: ListFilter) -> dict[str, Any]:
    """Members who live in the area or whose 支部 lies in it, by the disclosure rule, audited."""
    check_reader(viewer)
    area = effective_area(viewer, f.within)
    params = {
        "prefix": subtree_prefix(area) + "%",
        "branch": f.branch,
        "status": f.status,
        "flag": f.flag,
        "away": f.away,
        "relation": f.relation,
    }
    total = int(session.execute(_COUNT_SQL, params).scalar_one())
    rows = session.execute(_LIST_SQL, {**params, "limit": f.limit, "offset": f.offset}).all()
    today = local_today()
    shown: list[str] = []
    items = []
    for row in rows:
        level = exposure(viewer, row.grid_code)
        if level is Exposure.EXACT:
            shown.append(audit.subject("resident", row.resident_id))
        items.append(_summary(row, level, today))
    audit.disclose(session, viewer, f"party_members:{area}", subjects=shown, area_code=area)
    return {"within": area, "total": total, "items": items}


def _row(session: Session, member_id: int) -> Any:
    row = session.execute(_ONE_SQL, {"id": member_id}).one_or_none()
    if row is None:
        raise NotFound(f"no party member {member_id} in your scope", parameter="member_id")
    return row


def _scoped_row(session: Session, viewer: Viewer, member_id: int) -> Any:
    check_reader(viewer)
    row = _row(session, member_id)
    if not _in_scope(viewer, row):
        # The same answer as a missing member: the register does not confirm who is a member.
        raise NotFound(f"no party member {member_id} in your scope", parameter="member_id")
    return row


_CHAIN_SQL = text(
    """
    WITH RECURSIVE up AS (
        SELECT o.id, o.code, o.name, o.level, o.org_type, o.parent_id, 0 AS depth
        FROM party_org o WHERE o.id = :org
        UNION ALL
        SELECT p.id, p.code, p.name, p.level, p.org_type, p.parent_id, up.depth + 1
        FROM party_org p JOIN up ON p.id = up.parent_id
    )
    SELECT code, name, level, org_type FROM up ORDER BY depth DESC
    """
)


def _chain(session: Session, row: Any) -> list[dict[str, Any]]:
    """The member's organisations from the street's committee down to his 党小组."""
    if row.branch_id is None:
        return []
    chain = [
        {"code": r.code, "name": r.name, "level": r.level, "kind": v.org_label(r.level, r.org_type)}
        for r in session.execute(_CHAIN_SQL, {"org": row.branch_id})
    ]
    if row.group_code:
        chain.append(
            {
                "code": row.group_code,
                "name": row.group_name,
                "level": "building",
                "kind": v.org_label("building", v.GROUP_TYPE),
            }
        )
    return chain


_CENTRAL_SQL = text(
    """
    SELECT c.code, c.named_on, c.member_id, c.household_id,
           (SELECT count(*) FROM party_central_household_served s
             WHERE s.central_household_id = c.id) AS serves,
           EXISTS (SELECT 1 FROM party_central_household_served s
                    WHERE s.central_household_id = c.id AND s.household_id = :household)
               AS serves_this
    FROM party_central_household c
    WHERE c.member_id = :member
       OR c.id IN (SELECT central_household_id FROM party_central_household_served
                    WHERE household_id = :household)
    """
)
_SERVED_SQL = text(
    """
    SELECT h.code, h.address, bl.name AS building_name, s.since
    FROM party_central_household_served s
    JOIN party_central_household c ON c.id = s.central_household_id
    JOIN household h ON h.id = s.household_id
    JOIN building bl ON bl.id = h.building_id
    WHERE c.member_id = :member ORDER BY h.code
    """
)


def _central(session: Session, row: Any, level: Exposure) -> dict[str, Any]:
    """The 党员中心户 he hosts (and the households it serves), or the one serving his home."""
    hosts = None
    served_by = None
    for c in session.execute(_CENTRAL_SQL, {"member": row.id, "household": row.household_id}):
        if c.member_id == row.id:
            served = [
                {
                    "household_code": s.code if level is Exposure.EXACT else None,
                    "address": show_flat(s.address, level) or s.building_name,
                    "since": s.since.isoformat(),
                }
                for s in session.execute(_SERVED_SQL, {"member": row.id})
            ]
            hosts = {"code": c.code, "named_on": c.named_on.isoformat(), "serves": served}
        elif c.serves_this:
            served_by = {"code": c.code, "named_on": c.named_on.isoformat()}
    return {"hosts": hosts, "served_by": served_by}


def _history(session: Session, member_id: int) -> dict[str, list[dict[str, Any]]]:
    transfers = [
        {
            "id": t.id,
            "direction": t.direction,
            "from_org": t.from_org_name,
            "to_org": t.to_org_name,
            "reason": t.reason,
            "letter_no": t.letter_no,
            "transferred_on": t.transferred_on.isoformat(),
            "recorded_by": t.recorded_by,
            "recorded_at": t.recorded_at.isoformat(),
        }
        for t in session.execute(
            text("SELECT * FROM party_member_transfer WHERE member_id = :m ORDER BY id"),
            {"m": member_id},
        )
    ]
    away = [
        {
            "id": a.id,
            "since": a.since.isoformat(),
            "until": None if a.until is None else a.until.isoformat(),
            "place": a.place,
            "reason": a.reason,
            "host_org": a.host_org,
            "contact_note": a.contact_note,
        }
        for a in session.execute(
            text("SELECT * FROM party_member_away WHERE member_id = :m ORDER BY since, id"),
            {"m": member_id},
        )
    ]
    care = [
        {
            "id": c.id,
            "kind": c.kind,
            "cared_on": c.cared_on.isoformat(),
            "note": c.note,
            "amount_yuan": None if c.amount_yuan is None else str(c.amount_yuan),
            "recorded_by": c.recorded_by,
        }
        for c in session.execute(
            text("SELECT * FROM party_care_record WHERE member_id = :m ORDER BY cared_on, id"),
            {"m": member_id},
        )
    ]
    learning = [
        {
            "course_code": lr.code,
            "title": lr.title,
            "category": lr.category,
            "finished_on": lr.finished_on.isoformat(),
            "hours": str(lr.hours),
        }
        for lr in session.execute(
            text(
                "SELECT c.code, c.title, c.category, l.finished_on, l.hours"
                " FROM party_learning_record l JOIN party_course c ON c.id = l.course_id"
                " WHERE l.member_id = :m ORDER BY l.finished_on, c.code"
            ),
            {"m": member_id},
        )
    ]
    return {
        "transfers": transfers,
        "away_history": away,
        "care_records": care,
        "learning": learning,
    }


def _profile(session: Session, row: Any, level: Exposure) -> dict[str, Any]:
    today = local_today()
    out = _summary_for_profile(row, level, today)
    out["chain"] = _chain(session, row)
    out["central_household"] = _central(session, row, level)
    out |= _history(session, row.id)
    return out


def _summary_for_profile(row: Any, level: Exposure, today: datetime.date) -> dict[str, Any]:
    out = _summary(row, level, today)
    out |= {
        "id_number": show_id_number(row.id_number, level),
        "phone": show_phone(row.phone, level),
        "address": show_flat(row.address, level) or row.building_name,
        "household_code": row.household_code if level is Exposure.EXACT else None,
        "work_unit": row.work_unit,
        "registered_community": row.registered_community,
        "registered_on": None if row.registered_on is None else row.registered_on.isoformat(),
    }
    return out


def profile(session: Session, viewer: Viewer, member_id: int) -> dict[str, Any]:
    """One member: identity by the disclosure rule (audited), organisation relations (the chain
    from the street down, 党员中心户), transfers, away periods, care and learning records."""
    row = _scoped_row(session, viewer, member_id)
    level = exposure(viewer, row.grid_code)
    out = _profile(session, row, level)
    out["may_change"] = may_change(session, viewer, row)
    if level is Exposure.EXACT:
        audit.disclose(
            session,
            viewer,
            f"party_member:{member_id}",
            subjects=[audit.subject("resident", row.resident_id)],
            area_code=row.grid_code,
        )
    return out


def own_profile(session: Session, viewer: Viewer) -> dict[str, Any]:
    """A party member's own record, for his account only (the account's ``member_id``)."""
    if viewer.is_public:
        raise Forbidden("sign in to read your own member record")
    member_id = accounts.member_of_user(session, viewer.user_id)
    if member_id is None:
        raise NotFound(
            "your account is not linked to a party-member record; ask your community secretary",
            parameter="member_id",
        )
    row = _row(session, member_id)
    out = _profile(session, row, Exposure.EXACT)
    audit.disclose(
        session,
        viewer,
        f"party_member:{member_id}",
        subjects=[audit.subject("resident", row.resident_id)],
        area_code=row.grid_code,
        detail={"own_record": True},
    )
    return out


# --- changing ----------------------------------------------------------------------------------


def _may_change_branch(
    session: Session, viewer: Viewer, area_code: str, secretary: int | None
) -> bool:
    if viewer.role in SECRETARY_ROLES and viewer.covers(area_code):
        return True
    person = accounts.person_of_user(session, viewer.user_id)
    return person is not None and secretary == person


def may_change(session: Session, viewer: Viewer, row: Any) -> bool:
    if row.branch_id is None:
        # Transferred out: the secretaries where he lives may record his coming back.
        return viewer.role in SECRETARY_ROLES and viewer.covers(row.grid_code)
    return _may_change_branch(session, viewer, row.branch_area, row.branch_secretary)


def changeable(session: Session, viewer: Viewer, member_id: int) -> Any:
    row = _scoped_row(session, viewer, member_id)
    if not may_change(session, viewer, row):
        raise Forbidden(
            f"only the secretary of {row.branch_code or 'the member’s branch'} or a community, "
            "street or district secretary whose area holds it changes this member's record"
        )
    return row


def not_future(day: datetime.date, name: str) -> None:
    if day > local_today():
        raise InvalidInput(
            f"{name} {day} is in the future: record it once it happened", parameter=name
        )
    if day.year < 1921:
        raise InvalidInput(f"{name} must be in 1921 or later", parameter=name)


def _text(value: str | None, name: str, limit: int, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{name} needs 1 to {limit} characters", parameter=name)
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{name} may have at most {limit} characters", parameter=name)
    return value


def _choice(value: str, options: dict[str, str], name: str) -> str:
    if value not in options:
        raise InvalidInput(f"{name} must be one of " + ", ".join(options), parameter=name)
    return value


_BRANCH_SQL = text(
    """
    SELECT o.id, o.code, o.name, o.secretary_id, a.code AS area_code
    FROM party_org o JOIN area a ON a.id = o.area_id
    WHERE o.code = :code AND o.org_type = :branch
    """
)


def _branch(session: Session, code: str, parameter: str) -> Any:
    found = session.execute(_BRANCH_SQL, {"code": code, "branch": v.BRANCH_TYPE}).one_or_none()
    if found is None:
        raise InvalidInput(
            f"{code} is not a party branch (党支部): a member belongs to a 支部",
            parameter=parameter,
        )
    return found


def _group(session: Session, code: str | None, branch_id: int, parameter: str) -> int | None:
    if code is None:
        return None
    gid = session.scalar(
        text("SELECT id FROM party_org WHERE code = :c AND org_type = :g AND parent_id = :b"),
        {"c": code, "g": v.GROUP_TYPE, "b": branch_id},
    )
    if gid is None:
        raise InvalidInput(
            f"{code} is not a party group (党小组) of the receiving branch", parameter=parameter
        )
    return int(gid)


@dataclass(frozen=True)
class TransferInput:
    direction: str  # 'within' or 'out'
    reason: str
    transferred_on: datetime.date
    to_branch_code: str | None = None
    to_group_code: str | None = None
    to_org_name: str | None = None
    letter_no: str | None = None


_TRANSFER_INSERT = text(
    """
    INSERT INTO party_member_transfer (member_id, direction, from_org_id, from_org_name,
        to_org_id, to_org_name, reason, letter_no, transferred_on, recorded_by)
    VALUES (:member, :direction, :from_id, :from_name, :to_id, :to_name, :reason, :letter,
            :on, :by)
    RETURNING id
    """
)


def transfer(
    session: Session, viewer: Viewer, member_id: int, data: TransferInput
) -> dict[str, Any]:
    """组织关系转接 of a member of the register: to another 支部 of it, or out of it.

    Validates everything first and writes nothing on a refusal; then moves the relation and
    appends the history row. A transfer out ends a 党员中心户 he hosted (its households stay
    where they live; the branch names a new host)."""
    _choice(data.direction, {"within": "", "out": ""}, "direction")
    _choice(data.reason, v.TRANSFER_REASONS, "reason")
    not_future(data.transferred_on, "transferred_on")
    letter = _text(data.letter_no, "letter_no", v.LETTER_NO_MAX, required=False)
    row = changeable(session, viewer, member_id)
    if row.branch_id is None:
        raise Conflict(
            f"member {member_id}'s relation is already outside the register ({row.external_org});"
            " record a transfer in instead",
            parameter="member_id",
        )
    if data.direction == "within":
        if data.to_org_name:
            raise InvalidInput(
                "a transfer within the register names to_branch_code, not to_org_name",
                parameter="to_org_name",
            )
        if not data.to_branch_code:
            raise InvalidInput(
                "a transfer within the register names the receiving 支部: to_branch_code",
                parameter="to_branch_code",
            )
        target = _branch(session, data.to_branch_code, "to_branch_code")
        if target.id == row.branch_id:
            raise InvalidInput(
                f"member {member_id} already belongs to {target.code}", parameter="to_branch_code"
            )
        group = _group(session, data.to_group_code, target.id, "to_group_code")
        to_id, to_name = target.id, target.name
        session.execute(
            text("UPDATE party_member SET org_id = :b, group_id = :g WHERE id = :m"),
            {"b": target.id, "g": group, "m": member_id},
        )
    else:
        if data.to_branch_code or data.to_group_code:
            raise InvalidInput(
                "a transfer out names the receiving organisation outside the register: "
                "to_org_name (for a 支部 of the register use direction 'within')",
                parameter="to_branch_code",
            )
        name = _text(data.to_org_name, "to_org_name", v.ORG_NAME_MAX)
        assert name is not None
        to_id, to_name = None, name
        session.execute(
            text(
                "UPDATE party_member SET org_id = NULL, group_id = NULL, external_org = :n"
                " WHERE id = :m"
            ),
            {"n": name, "m": member_id},
        )
        session.execute(
            text("DELETE FROM party_central_household WHERE member_id = :m"), {"m": member_id}
        )
    tid = session.execute(
        _TRANSFER_INSERT,
        {
            "member": member_id,
            "direction": data.direction,
            "from_id": row.branch_id,
            "from_name": row.branch_name,
            "to_id": to_id,
            "to_name": to_name,
            "reason": data.reason,
            "letter": letter,
            "on": data.transferred_on,
            "by": viewer.username or "",
        },
    ).scalar_one()
    return {"transfer_id": int(tid), "member": profile(session, viewer, member_id)}


@dataclass(frozen=True)
class TransferIn:
    resident_id: int
    branch_code: str
    from_org_name: str
    reason: str
    transferred_on: datetime.date
    group_code: str | None = None
    joined_on: datetime.date | None = None
    status: str | None = None
    letter_no: str | None = None


def transfer_in(session: Session, viewer: Viewer, data: TransferIn) -> dict[str, Any]:
    """转入: a member's relation comes into a 支部 of the register from outside it.

    A resident who is not yet on the register gets a member record (``joined_on`` and
    ``status`` required); one whose relation was transferred out gets it back. A member whose
    relation is already here is moved with a transfer within instead (409)."""
    _choice(data.reason, v.TRANSFER_REASONS, "reason")
    not_future(data.transferred_on, "transferred_on")
    source = _text(data.from_org_name, "from_org_name", v.ORG_NAME_MAX)
    letter = _text(data.letter_no, "letter_no", v.LETTER_NO_MAX, required=False)
    check_reader(viewer)
    target = _branch(session, data.branch_code, "branch_code")
    if not _may_change_branch(session, viewer, target.area_code, target.secretary_id):
        raise Forbidden(
            f"only the secretary of {target.code} or a secretary whose area holds it records a "
            "transfer into it"
        )
    group = _group(session, data.group_code, target.id, "group_code")
    resident = session.execute(
        text(
            "SELECT r.id, g.code AS grid_code, m.id AS member_id, m.org_id FROM resident r"
            " JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id LEFT JOIN party_member m ON m.resident_id = r.id"
            " WHERE r.id = :r"
        ),
        {"r": data.resident_id},
    ).one_or_none()
    if resident is None:
        raise InvalidInput(f"no resident {data.resident_id}", parameter="resident_id")
    if resident.member_id is not None and resident.org_id is not None:
        raise Conflict(
            f"resident {data.resident_id} is member {resident.member_id} of a 支部 of the "
            "register: transfer him within it instead",
            parameter="resident_id",
        )
    if resident.member_id is None:
        if data.joined_on is None or data.status is None:
            raise InvalidInput(
                "a new member record needs joined_on and status", parameter="joined_on"
            )
        if data.status not in v.MEMBER_STATUSES:
            raise InvalidInput(
                "status must be one of " + ", ".join(v.MEMBER_STATUSES), parameter="status"
            )
        not_future(data.joined_on, "joined_on")
        member_id = int(
            session.execute(
                text(
                    "INSERT INTO party_member (resident_id, org_id, group_id, joined_on, status,"
                    " district_code) VALUES (:r, :b, :g, :j, :s, :d) RETURNING id"
                ),
                {
                    "r": data.resident_id,
                    "b": target.id,
                    "g": group,
                    "j": data.joined_on,
                    "s": data.status,
                    "d": resident.grid_code[:6],
                },
            ).scalar_one()
        )
    else:
        member_id = int(resident.member_id)
        session.execute(
            text(
                "UPDATE party_member SET org_id = :b, group_id = :g, external_org = NULL"
                " WHERE id = :m"
            ),
            {"b": target.id, "g": group, "m": member_id},
        )
    tid = session.execute(
        _TRANSFER_INSERT,
        {
            "member": member_id,
            "direction": "in",
            "from_id": None,
            "from_name": source,
            "to_id": target.id,
            "to_name": target.name,
            "reason": data.reason,
            "letter": letter,
            "on": data.transferred_on,
            "by": viewer.username or "",
        },
    ).scalar_one()
    return {"transfer_id": int(tid), "member": profile(session, viewer, member_id)}


@dataclass(frozen=True)
class AwayInput:
    since: datetime.date
    place: str
    reason: str
    host_org: str | None = None
    contact_note: str | None = None


def start_away(session: Session, viewer: Viewer, member_id: int, data: AwayInput) -> dict[str, Any]:
    """流动党员: the member lives away from home from ``since``; where, and who looks after him."""
    not_future(data.since, "since")
    place = _text(data.place, "place", v.PLACE_MAX)
    _choice(data.reason, v.AWAY_REASONS, "reason")
    host = _text(data.host_org, "host_org", v.ORG_NAME_MAX, required=False)
    note = _text(data.contact_note, "contact_note", v.CARE_NOTE_MAX, required=False)
    row = changeable(session, viewer, member_id)
    if row.away_id is not None:
        raise Conflict(
            f"member {member_id} is already recorded away (since {row.away_since}); record his "
            "return first",
            parameter="member_id",
        )
    session.execute(
        text(
            "INSERT INTO party_member_away (member_id, since, place, reason, host_org,"
            " contact_note, recorded_by) VALUES (:m, :s, :p, :r, :h, :n, :by)"
        ),
        {
            "m": member_id,
            "s": data.since,
            "p": place,
            "r": data.reason,
            "h": host,
            "n": note,
            "by": viewer.username or "",
        },
    )
    return profile(session, viewer, member_id)


def end_away(
    session: Session, viewer: Viewer, member_id: int, until: datetime.date
) -> dict[str, Any]:
    """The member is back home from ``until``: the open away period ends."""
    not_future(until, "until")
    row = changeable(session, viewer, member_id)
    if row.away_id is None:
        raise Conflict(f"member {member_id} is not recorded away", parameter="member_id")
    if until < row.away_since:
        raise InvalidInput(f"until {until} is before he left ({row.away_since})", parameter="until")
    session.execute(
        text("UPDATE party_member_away SET until = :u WHERE id = :id"),
        {"u": until, "id": row.away_id},
    )
    return profile(session, viewer, member_id)


def set_care_flags(
    session: Session, viewer: Viewer, member_id: int, flags: list[str]
) -> dict[str, Any]:
    """困难党员 / 老党员: the branch marks whom it looks after."""
    for flag in flags:
        _choice(flag, v.CARE_FLAGS, "flags")
    if len(set(flags)) != len(flags):
        raise InvalidInput("flags lists a flag twice", parameter="flags")
    changeable(session, viewer, member_id)
    session.execute(
        text("UPDATE party_member SET care_flags = :f WHERE id = :m"),
        {"f": sorted(flags), "m": member_id},
    )
    return profile(session, viewer, member_id)


@dataclass(frozen=True)
class CareInput:
    kind: str
    cared_on: datetime.date
    note: str
    amount_yuan: Decimal | None = None


def record_care(
    session: Session, viewer: Viewer, member_id: int, data: CareInput
) -> dict[str, Any]:
    """One act of care (走访慰问, 帮扶救助 …) for a member, append-only."""
    _choice(data.kind, v.CARE_KINDS, "kind")
    not_future(data.cared_on, "cared_on")
    note = _text(data.note, "note", v.CARE_NOTE_MAX)
    if data.amount_yuan is not None and not 0 < data.amount_yuan <= v.CARE_AMOUNT_MAX:
        raise InvalidInput(
            f"amount_yuan must be above 0 and at most {v.CARE_AMOUNT_MAX}", parameter="amount_yuan"
        )
    changeable(session, viewer, member_id)
    session.execute(
        text(
            "INSERT INTO party_care_record (member_id, kind, cared_on, note, amount_yuan,"
            " recorded_by) VALUES (:m, :k, :d, :n, :a, :by)"
        ),
        {
            "m": member_id,
            "k": data.kind,
            "d": data.cared_on,
            "n": note,
            "a": data.amount_yuan,
            "by": viewer.username or "",
        },
    )
    return profile(session, viewer, member_id)
