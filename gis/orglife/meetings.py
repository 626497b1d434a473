"""Who may see and record organisational life, the one writer of meetings, and the readers.

Access (docs/party-building.md, "Who sees what"):

- reading — the roles that do party work (:data:`ORG_LIFE_ROLES`), for branches whose area lies
  in their scope (a community secretary sees the branches of his community, a street secretary
  those of his street). Other roles get 403, the public 401.
- recording — only the branch's own secretary: the account linked (``app_user.person_id``) to
  the person who is the branch's ``secretary_id``. Nobody records for another branch.
- members' names are personal data, shown by the disclosure rule like residents'
  (``Viewer.unmasks`` with the member's home grid: masked without a stated purpose, exact with
  one, and every exact answer audited here, in the request's transaction).

A branch's members are those whose 支部 it is (``party_member.org_id``); a 党小组's members are
those whose ``group_id`` it is (migration 0034_party_members).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import accounts, audit
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.masking import Exposure, exposure, show_name
from gis.orglife import rules
from gis.queries.households import effective_area, subtree_prefix
from gis.scope import Viewer
from gis.settings import get_settings

ORG_LIFE_ROLES = frozenset(
    {
        "admin",
        "district_secretary",
        "street_secretary",
        "community_secretary",
        "grid_chief",
        "party_instructor",
    }
)
MAX_LIMIT = 200
MAX_ATTENDANCE = 2_000


def local_today() -> datetime.date:
    """Today where the city is (meetings are dated by the local calendar)."""
    return datetime.datetime.now(ZoneInfo(get_settings().timezone)).date()


def check_reader(viewer: Viewer) -> None:
    if viewer.role not in ORG_LIFE_ROLES:
        raise Forbidden(
            f"the role {viewer.role} has no access to organisational life; roles with access: "
            + ", ".join(sorted(ORG_LIFE_ROLES))
        )


# --- branches and their members ---------------------------------------------------------------

# Branches (党支部) whose area lies in a subtree, with their 党小组 and member counts.
_BRANCHES_SQL = text(
    """
    WITH branch AS (
        SELECT o.id, o.code, o.name, o.level, o.secretary_id, a.code AS area_code,
               a.name AS area_name
        FROM party_org o JOIN area a ON a.id = o.area_id
        WHERE o.org_type = :branch_type AND a.code LIKE :prefix
          AND (CAST(:code AS text) IS NULL OR o.code = :code)
    )
    SELECT b.*,
           (SELECT count(*) FROM party_member m WHERE m.org_id = b.id) AS members,
           (SELECT count(*) FROM party_member m
             WHERE m.org_id = b.id AND m.status = :full) AS full_members,
           (SELECT coalesce(json_agg(json_build_object('code', g.code, 'name', g.name)
                                     ORDER BY g.code), '[]')
              FROM party_org g WHERE g.parent_id = b.id AND g.org_type = :group_type) AS groups,
           coalesce(b.secretary_id = :person_id, false) AS is_secretary
    FROM branch b
    ORDER BY b.area_code, b.code
    """
)

# The members of a branch (or of one 党小组 of it), with their home grid for the disclosure rule.
_ROSTER_SQL = text(
    """
    SELECT m.id AS member_id, r.id AS resident_id, r.name, m.status, grp.code AS group_code,
           g.code AS grid_code
    FROM party_member m
    LEFT JOIN party_org grp ON grp.id = m.group_id
    JOIN resident r ON r.id = m.resident_id
    JOIN household h ON h.id = r.household_id
    JOIN building bl ON bl.id = h.building_id
    JOIN area g ON g.id = bl.grid_id
    WHERE m.org_id = :root OR m.group_id = :root
    ORDER BY grp.code NULLS FIRST, m.id
    """
)


@dataclass(frozen=True)
class Branch:
    id: int
    code: str
    name: str
    level: str
    area_code: str
    area_name: str
    members: int
    full_members: int
    groups: list[dict[str, str]]
    is_secretary: bool

    def public(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "area_code": self.area_code,
            "area_name": self.area_name,
            "members": self.members,
            "full_members": self.full_members,
            "groups": self.groups,
            "may_record": self.is_secretary,
        }


def _branches(
    session: Session, viewer: Viewer, prefix: str, code: str | None = None
) -> list[Branch]:
    rows = session.execute(
        _BRANCHES_SQL,
        {
            "prefix": prefix + "%",
            "code": code,
            "branch_type": rules.BRANCH_TYPE,
            "group_type": rules.GROUP_TYPE,
            "full": rules.FULL_MEMBER_STATUS,
            "person_id": accounts.person_of_user(session, viewer.user_id),
        },
    ).all()
    return [
        Branch(
            r.id,
            r.code,
            r.name,
            r.level,
            r.area_code,
            r.area_name,
            int(r.members),
            int(r.full_members),
            list(r.groups),
            bool(r.is_secretary),
        )
        for r in rows
    ]


def branches_in(session: Session, viewer: Viewer, within: str | None) -> tuple[str, list[Branch]]:
    """The area read (``within`` narrowed to the scope) and the branches in it."""
    check_reader(viewer)
    area = effective_area(viewer, within)
    return area, _branches(session, viewer, subtree_prefix(area))


def branch(session: Session, viewer: Viewer, code: str) -> Branch:
    """One branch in the viewer's scope; 404 when there is none (or it is outside the scope)."""
    check_reader(viewer)
    assert viewer.scope_code is not None
    found = _branches(session, viewer, subtree_prefix(viewer.scope_code), code)
    if not found:
        raise NotFound(f"no party branch (党支部) {code} in your scope", parameter="code")
    return found[0]


def _members(session: Session, root_id: int) -> list[Any]:
    return list(
        session.execute(
            _ROSTER_SQL,
            {"root": root_id, "branch_type": rules.BRANCH_TYPE, "group_type": rules.GROUP_TYPE},
        ).all()
    )


def _shown(viewer: Viewer, row: Any, shown: list[str]) -> dict[str, Any]:
    level = exposure(viewer, row.grid_code)
    if level is Exposure.EXACT:
        shown.append(audit.subject("resident", row.resident_id))
    return {
        "member_id": row.member_id,
        "name": show_name(row.name, level),
        "status": row.status,
        "group_code": row.group_code,
        "masked": level is not Exposure.EXACT,
    }


def roster(session: Session, viewer: Viewer, code: str) -> dict[str, Any]:
    """A branch's members for marking attendance: names by the disclosure rule, audited."""
    found = branch(session, viewer, code)
    shown: list[str] = []
    members = [_shown(viewer, row, shown) for row in _members(session, found.id)]
    audit.disclose(
        session, viewer, f"party_branch:{code}", subjects=shown, area_code=found.area_code
    )
    return {"branch": found.public(), "members": members}


# --- recording a meeting ----------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingInput:
    branch_code: str
    kind: str
    held_on: datetime.date
    place: str
    topic: str
    minutes: str = ""
    group_code: str | None = None
    attendance: list[tuple[int, str]] = field(default_factory=list)

    def fingerprint(self) -> str:
        body = {
            "branch": self.branch_code,
            "kind": self.kind,
            "held_on": self.held_on.isoformat(),
            "place": self.place.strip(),
            "topic": self.topic.strip(),
            "minutes": self.minutes,
            "group": self.group_code,
            "attendance": sorted(self.attendance),
        }
        return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()

    def validate(self, today: datetime.date) -> None:
        """Field checks that need no database; each failure says what to fix."""
        if self.kind not in rules.KINDS:
            raise InvalidInput(
                "kind must be one of " + ", ".join(rules.KIND_KEYS), parameter="kind"
            )
        if self.held_on > today:
            raise InvalidInput(
                f"held_on {self.held_on} is in the future: record a meeting once it was held",
                parameter="held_on",
            )
        if self.held_on.year < rules.EARLIEST_YEAR:
            raise InvalidInput(
                f"held_on must be in {rules.EARLIEST_YEAR} or later", parameter="held_on"
            )
        for name, value, limit in (
            ("place", self.place, rules.PLACE_MAX),
            ("topic", self.topic, rules.TOPIC_MAX),
        ):
            if not 1 <= len(value.strip()) <= limit:
                raise InvalidInput(
                    f"{name} needs 1 to {limit} characters besides spaces", parameter=name
                )
        if len(self.minutes) > rules.MINUTES_MAX:
            raise InvalidInput(
                f"minutes may have at most {rules.MINUTES_MAX} characters", parameter="minutes"
            )
        is_group = rules.KINDS[self.kind].unit == "group"
        if is_group and not self.group_code:
            raise InvalidInput(
                "a 党小组会 (group_meeting) names the 党小组 that met: give group_code",
                parameter="group_code",
            )
        if not is_group and self.group_code:
            raise InvalidInput(
                "group_code is only for a 党小组会 (group_meeting); the branch holds the others",
                parameter="group_code",
            )
        if not self.attendance:
            raise InvalidInput(
                "attendance is empty: mark each member present, absent or on leave",
                parameter="attendance",
            )
        if len(self.attendance) > MAX_ATTENDANCE:
            raise InvalidInput(
                f"attendance lists at most {MAX_ATTENDANCE} members", parameter="attendance"
            )
        ids = [member for member, _ in self.attendance]
        if len(set(ids)) != len(ids):
            raise InvalidInput("attendance lists a member twice", parameter="attendance")
        bad = sorted({status for _, status in self.attendance} - set(rules.ATTENDANCE))
        if bad:
            raise InvalidInput(
                f"attendance status {bad[0]!r} is unknown; use " + ", ".join(rules.ATTENDANCE),
                parameter="attendance",
            )
        if not any(status == "present" for _, status in self.attendance):
            raise InvalidInput(
                "nobody is marked present: a meeting needs at least one member present",
                parameter="attendance",
            )


@dataclass(frozen=True)
class Recorded:
    meeting: dict[str, Any]
    created: bool


_INSERT_SQL = text(
    """
    INSERT INTO org_meeting (branch_id, org_id, branch_code, org_code, org_name, kind, held_on,
                             place, topic, minutes, recorded_by, idempotency_key, fingerprint)
    VALUES (:branch_id, :org_id, :branch_code, :org_code, :org_name, :kind, :held_on, :place,
            :topic, :minutes, :by, :key, :fingerprint)
    ON CONFLICT (branch_code, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id
    """
)


def _holder(session: Session, found: Branch, data: MeetingInput) -> tuple[int, str, str]:
    """The organisation that met: the branch, or its 党小组 ``group_code``."""
    if data.group_code is None:
        return found.id, found.code, found.name
    row = session.execute(
        text(
            "SELECT id, code, name FROM party_org WHERE code = :code AND parent_id = :branch"
            " AND org_type = :group_type"
        ),
        {"code": data.group_code, "branch": found.id, "group_type": rules.GROUP_TYPE},
    ).one_or_none()
    if row is None:
        raise InvalidInput(
            f"{data.group_code} is not a 党小组 of the branch {found.code}; its groups: "
            + (", ".join(g["code"] for g in found.groups) or "none"),
            parameter="group_code",
        )
    return int(row.id), str(row.code), str(row.name)


def record_meeting(
    session: Session,
    viewer: Viewer,
    data: MeetingInput,
    *,
    idempotency_key: str | None = None,
    today: datetime.date | None = None,
) -> Recorded:
    """Record a meeting and its attendance; only the branch's own secretary may.

    With ``idempotency_key`` a retry of the same request returns the first meeting
    (``created`` False); the same key with a different body is a Conflict.
    """
    if viewer.is_public:
        raise Forbidden("sign in as the branch's secretary to record its meetings")
    data.validate(today or local_today())
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InvalidInput("Idempotency-Key needs 1 to 200 characters", parameter="Idempotency-Key")
    found = _branch_to_record(session, viewer, data.branch_code)
    kind = rules.KINDS[data.kind]
    if not rules.applies(kind, found.full_members, len(found.groups)):
        raise InvalidInput(
            f"the branch {found.code} has {found.full_members} full members, fewer than "
            f"{rules.COMMITTEE_MIN_FULL_MEMBERS}: it has no committee (支委会) to meet",
            parameter="kind",
        )
    org_id, org_code, org_name = _holder(session, found, data)
    members = {row.member_id for row in _members(session, org_id)}
    strangers = sorted({member for member, _ in data.attendance} - members)
    if strangers:
        raise InvalidInput(
            f"member {strangers[0]} is not a member of {org_code}: attendance lists only the "
            "members of the organisation that met",
            parameter="attendance",
        )
    fingerprint = data.fingerprint()
    new_id = session.execute(
        _INSERT_SQL,
        {
            "branch_id": found.id,
            "org_id": org_id,
            "branch_code": found.code,
            "org_code": org_code,
            "org_name": org_name,
            "kind": data.kind,
            "held_on": data.held_on,
            "place": data.place.strip(),
            "topic": data.topic.strip(),
            "minutes": data.minutes,
            "by": viewer.username,
            "key": idempotency_key,
            "fingerprint": fingerprint if idempotency_key is not None else None,
        },
    ).scalar_one_or_none()
    if new_id is None:
        earlier = session.execute(
            text(
                "SELECT id, fingerprint FROM org_meeting WHERE branch_code = :b"
                " AND idempotency_key = :k"
            ),
            {"b": found.code, "k": idempotency_key},
        ).one()
        if earlier.fingerprint != fingerprint:
            raise Conflict(
                "this Idempotency-Key was already used for a different meeting; use a new key",
                parameter="Idempotency-Key",
            )
        return Recorded(meeting(session, viewer, int(earlier.id)), False)
    session.execute(
        text(
            "INSERT INTO org_meeting_attendance (meeting_id, member_id, status)"
            " SELECT :m, a.member, a.status FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
            " AS a(member bigint, status text)"
        ),
        {
            "m": new_id,
            "rows": json.dumps([{"member": m, "status": s} for m, s in data.attendance]),
        },
    )
    return Recorded(meeting(session, viewer, int(new_id)), True)


def _branch_to_record(session: Session, viewer: Viewer, code: str) -> Branch:
    row = session.execute(
        text(
            "SELECT a.code FROM party_org o JOIN area a ON a.id = o.area_id WHERE o.code = :c"
            " AND o.org_type = :t"
        ),
        {"c": code, "t": rules.BRANCH_TYPE},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no party branch (党支部) {code}", parameter="branch_code")
    found = _branches(session, viewer, row.code, code)[0]
    if not found.is_secretary:
        raise Forbidden(
            f"only the secretary of {found.name} records its meetings (your account is not "
            "linked to its secretary)",
            parameter="branch_code",
        )
    return found


# --- reading meetings -------------------------------------------------------------------------

_LIST_SQL = text(
    """
    SELECT m.id, m.branch_code, m.org_code, m.org_name, m.kind, m.held_on, m.place, m.topic,
           m.recorded_by, m.recorded_at, a.code AS area_code, o.name AS branch_name,
           count(*) FILTER (WHERE t.status = 'present') AS present,
           count(*) FILTER (WHERE t.status = 'absent') AS absent,
           count(*) FILTER (WHERE t.status = 'leave') AS leave,
           count(*) OVER () AS total
    FROM org_meeting m
    JOIN party_org o ON o.id = m.branch_id
    JOIN area a ON a.id = o.area_id
    LEFT JOIN org_meeting_attendance t ON t.meeting_id = m.id
    WHERE a.code LIKE :prefix
      AND (CAST(:branch AS text) IS NULL OR m.branch_code = :branch)
      AND (CAST(:kind AS text) IS NULL OR m.kind = :kind)
      AND m.held_on BETWEEN :start AND :end
    GROUP BY m.id, a.code, o.name
    ORDER BY m.held_on DESC, m.id DESC
    LIMIT :limit OFFSET :offset
    """
)


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "branch_code": row.branch_code,
        "branch_name": row.branch_name,
        "org_code": row.org_code,
        "org_name": row.org_name,
        "area_code": row.area_code,
        "kind": row.kind,
        "held_on": row.held_on.isoformat(),
        "place": row.place,
        "topic": row.topic,
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at.isoformat(),
        "attendance": {"present": row.present, "absent": row.absent, "leave": row.leave},
    }


def list_meetings(
    session: Session,
    viewer: Viewer,
    *,
    within: str | None = None,
    branch_code: str | None = None,
    quarter: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Meetings of the branches in the viewer's scope, newest first, with attendance counts."""
    check_reader(viewer)
    if kind is not None and kind not in rules.KINDS:
        raise InvalidInput("kind must be one of " + ", ".join(rules.KIND_KEYS), parameter="kind")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", parameter="limit")
    area = effective_area(viewer, within)
    period = rules.Quarter.parse(quarter) if quarter else None
    rows = session.execute(
        _LIST_SQL,
        {
            "prefix": subtree_prefix(area) + "%",
            "branch": branch_code,
            "kind": kind,
            "start": period.start if period else datetime.date(rules.EARLIEST_YEAR, 1, 1),
            "end": period.end if period else datetime.date(2100, 12, 31),
            "limit": limit,
            "offset": offset,
        },
    ).all()
    return {
        "within": area,
        "quarter": str(period) if period else None,
        "total": rows[0].total if rows else 0,
        "limit": limit,
        "offset": offset,
        "items": [_summary(r) for r in rows],
    }


def meeting(session: Session, viewer: Viewer, meeting_id: int) -> dict[str, Any]:
    """One meeting with its minutes and attendance (names by the disclosure rule, audited)."""
    check_reader(viewer)
    assert viewer.scope_code is not None
    row = session.execute(
        text(
            """
            SELECT m.id, m.branch_code, m.org_code, m.org_name, m.kind, m.held_on, m.place,
                   m.topic, m.minutes, m.recorded_by, m.recorded_at, a.code AS area_code,
                   o.name AS branch_name,
                   (SELECT count(*) FROM org_meeting_attendance t
                     WHERE t.meeting_id = m.id AND t.status = 'present') AS present,
                   (SELECT count(*) FROM org_meeting_attendance t
                     WHERE t.meeting_id = m.id AND t.status = 'absent') AS absent,
                   (SELECT count(*) FROM org_meeting_attendance t
                     WHERE t.meeting_id = m.id AND t.status = 'leave') AS leave
            FROM org_meeting m JOIN party_org o ON o.id = m.branch_id
            JOIN area a ON a.id = o.area_id
            WHERE m.id = :id AND a.code LIKE :prefix
            """
        ),
        {"id": meeting_id, "prefix": subtree_prefix(viewer.scope_code) + "%"},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no meeting {meeting_id} in your scope", parameter="meeting_id")
    attendees = session.execute(
        text(
            """
            SELECT t.member_id, r.id AS resident_id, r.name, m.status AS member_status,
                   t.status, g.code AS grid_code
            FROM org_meeting_attendance t JOIN party_member m ON m.id = t.member_id
            JOIN resident r ON r.id = m.resident_id JOIN household h ON h.id = r.household_id
            JOIN building bl ON bl.id = h.building_id JOIN area g ON g.id = bl.grid_id
            WHERE t.meeting_id = :id ORDER BY t.member_id
            """
        ),
        {"id": meeting_id},
    ).all()
    shown: list[str] = []
    attendance = []
    for a in attendees:
        level = exposure(viewer, a.grid_code)
        if level is Exposure.EXACT:
            shown.append(audit.subject("resident", a.resident_id))
        attendance.append(
            {
                "member_id": a.member_id,
                "name": show_name(a.name, level),
                "status": a.status,
                "masked": level is not Exposure.EXACT,
            }
        )
    audit.disclose(
        session, viewer, f"org_meeting:{meeting_id}", subjects=shown, area_code=row.area_code
    )
    return {**_summary(row), "minutes": row.minutes, "members": attendance}
