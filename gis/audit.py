"""The append-only audit log: who read or changed what, when, and for what purpose.

Every read that returns personal fields unmasked is recorded here (PIPL: processing of personal
information must be traceable), as are bulk masked reads, exports, sign-ins and account changes.
The table refuses UPDATE, DELETE and TRUNCATE (migration 0002), so functions here only ever insert
and select.

The disclosure rule has two halves that live together: ``Viewer.unmasks(code)`` (gis/scope.py)
decides whether a row's personal fields are shown, and :func:`disclose` records the response that
showed them, with the request's purpose and the people it showed (their *subjects*, e.g.
``resident:42``), in the caller's transaction. :func:`who_saw` answers "who saw this person's
data, when and why" (``gridgov audit --subject``, the admin page ``/admin/audit``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.scope import Viewer

READ_UNMASKED = "read.unmasked"
READ_MASKED_BULK = "read.masked_bulk"
EXPORT_UNMASKED = "export.unmasked"
EXPORT_MASKED = "export.masked"
DISCLOSURE_ACTIONS = (READ_UNMASKED, READ_MASKED_BULK, EXPORT_UNMASKED, EXPORT_MASKED)
# The kinds of subject a disclosure row names: ``<kind>:<key>``.
SUBJECT_KINDS = (
    "resident",
    "person",
    "household",
    "incident",
    "service_order",
    "petition",
    "dispute_party",
)
PURPOSE_MIN_LENGTH = 2
PURPOSE_MAX_LENGTH = 200
# A row lists at most this many subjects; a larger read is a bulk read and names its area.
MAX_SUBJECTS = 2_000
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
SIGN_OUT = "auth.sign_out"
ACCOUNT_CHANGE = "account.change"
API_CLIENT_CHANGE = "api_client.change"
# A backup reads every person's data at once; a restore replaces a database with such a read.
BACKUP_CREATE = "backup.create"
BACKUP_RESTORE = "backup.restore"
# A day of the working-time calendar added, changed or removed, or a CSV imported.
CALENDAR_CHANGE = "calendar.change"
MAX_QUERY_ROWS = 10_000


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    username: str | None
    role: str
    scope_code: str | None
    action: str
    target: str
    purpose: str | None
    client: str | None
    detail: dict[str, Any]
    subjects: list[str] = field(default_factory=list)
    area_code: str | None = None


def record(
    session: Session,
    viewer: Viewer,
    action: str,
    target: str,
    *,
    purpose: str | None = None,
    client: str | None = None,
    detail: dict[str, Any] | None = None,
    subjects: Iterable[str] = (),
    area_code: str | None = None,
) -> None:
    """Append one audit row in the caller's transaction (so it commits with the read it logs).

    ``target`` names what was touched, e.g. ``household:620881H000000001`` or
    ``households:620881001001001``; ``detail`` holds small structured facts (row counts);
    ``subjects`` the people shown and ``area_code`` the area a bulk read covered. When a command
    acts as an account (``--as``), ``detail.operator`` names who really ran it.
    """
    facts = dict(detail or {})
    if viewer.operator:
        facts["operator"] = viewer.operator
    session.execute(
        text(
            "INSERT INTO audit_log (username, role, scope_code, action, target, purpose, client,"
            " detail, subjects, area_code) VALUES (:username, :role, :scope, :action, :target,"
            " :purpose, :client, CAST(:detail AS jsonb), CAST(:subjects AS text[]), :area)"
        ),
        {
            "username": viewer.username,
            "role": viewer.role,
            "scope": viewer.scope_code,
            "action": action,
            "target": target[:500],
            "purpose": purpose[:500] if purpose else None,
            "client": client[:100] if client else None,
            "detail": json.dumps(facts, ensure_ascii=False),
            "subjects": sorted(set(subjects)),
            "area": area_code,
        },
    )


def subject(kind: str, key: object) -> str:
    """The name of one person (or the record standing for one) in the audit log.

    >>> subject("resident", 42), subject("incident", "620881E202611000001")
    ('resident:42', 'incident:620881E202611000001')
    """
    if kind not in SUBJECT_KINDS:
        raise ValueError(f"subject kind must be one of {', '.join(SUBJECT_KINDS)}")
    return f"{kind}:{key}"


def disclose(
    session: Session,
    viewer: Viewer,
    target: str,
    *,
    subjects: Iterable[str] = (),
    rows: int | None = None,
    area_code: str | None = None,
    action: str = READ_UNMASKED,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record that this response disclosed personal data (the second half of the rule).

    Call it once per response, in the request's transaction (the request commits before its
    response leaves), whenever ``viewer.unmasks(...)`` let any row through unmasked — and for
    bulk masked reads and exports with the matching ``action``. The purpose and client address
    come from the viewer of the request. Nothing is written for an empty disclosure.
    """
    names = sorted(set(subjects))
    count = len(names) if rows is None else rows
    if not count and not names:
        return
    facts: dict[str, Any] = {"rows": count, **(detail or {})}
    if len(names) > MAX_SUBJECTS:
        # A bulk read: the area stands for the people (who_saw matches it by area).
        facts["subjects_omitted"] = len(names)
        names = []
    record(
        session,
        viewer,
        action,
        target,
        purpose=viewer.purpose,
        client=viewer.client,
        detail=facts,
        subjects=names,
        area_code=area_code,
    )


def record_unmasked_read(
    session: Session,
    viewer: Viewer,
    target: str,
    *,
    purpose: str | None,
    rows: int,
    client: str | None = None,
) -> None:
    """Log that ``viewer`` received ``rows`` records with personal fields unmasked.

    Kept for callers outside the request path; request handlers use :func:`disclose`, which also
    names the subjects and takes the purpose from the request.
    """
    record(
        session,
        viewer,
        READ_UNMASKED,
        target,
        purpose=purpose,
        client=client,
        detail={"rows": rows},
    )


def query(
    session: Session,
    *,
    username: str | None = None,
    since: datetime | None = None,
    action: str | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Audit rows, newest first, optionally of one user, one action, or since a moment."""
    limit = max(1, min(limit, MAX_QUERY_ROWS))
    rows = session.execute(
        text(
            "SELECT " + _COLUMNS + " FROM audit_log"
            " WHERE (CAST(:username AS text) IS NULL OR username = :username)"
            "   AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)"
            "   AND (CAST(:action AS text) IS NULL OR action = :action)"
            " ORDER BY at DESC, id DESC LIMIT :limit"
        ),
        {"username": username, "since": since, "action": action, "limit": limit},
    ).all()
    return [AuditRecord(**row._asdict()) for row in rows]


_COLUMNS = (
    "id, at, username, role, scope_code, action, target, purpose, client, detail, subjects,"
    " area_code"
)
_SUBJECT_RE = re.compile(r"^(resident|person|household|incident|service_order):(\S{1,40})$")
_ID_NUMBER_RE = re.compile(r"^[0-9]{17}[0-9Xx]$")
_PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")


@dataclass(frozen=True)
class Subject:
    """A person as the audit log knows them: every subject name that stands for them and the
    areas (grid or district codes) their records lie in, for matching bulk reads."""

    query: str
    keys: tuple[str, ...]
    areas: tuple[str, ...]

    @property
    def found(self) -> bool:
        return bool(self.keys)


_PEOPLE_SQL = text(
    """
    WITH r AS (
        SELECT r.id, r.id_number, r.phone, h.code AS household, g.code AS area
        FROM resident r JOIN household h ON h.id = r.household_id
        JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id
        WHERE r.id_number = :value OR r.phone = :value OR r.id = :resident
    ), p AS (
        SELECT p.id, p.id_number, p.phone,
               coalesce((SELECT a.code FROM grid_staff s JOIN area a ON a.id = s.area_id
                          WHERE s.person_id = p.id ORDER BY a.code LIMIT 1),
                        p.district_code) AS area
        FROM person p
        WHERE p.id_number = :value OR p.phone = :value OR p.id = :person
    ), phones AS (
        SELECT phone FROM r WHERE phone IS NOT NULL
        UNION SELECT phone FROM p WHERE phone IS NOT NULL
        UNION SELECT CAST(:value AS text) WHERE :is_phone
    )
    SELECT 'resident:' || id AS key, area FROM r
    UNION SELECT 'household:' || household, area FROM r
    UNION SELECT 'person:' || id, area FROM p
    UNION SELECT 'incident:' || i.code, coalesce(g.code, i.district_code)
          FROM incident i LEFT JOIN area g ON g.id = i.grid_id
          WHERE i.reporter_phone IN (SELECT phone FROM phones)
             OR i.code = :incident
    UNION SELECT 'service_order:' || o.code, c.code
          FROM service_order o JOIN area c ON c.id = o.community_id
          WHERE o.requester_phone IN (SELECT phone FROM phones)
    UNION SELECT 'petition:' || pt.code, coalesce(g.code, c.code)
          FROM petition pt LEFT JOIN area g ON g.id = pt.grid_id
          JOIN area c ON c.id = pt.community_id
          WHERE pt.petitioner_phone IN (SELECT phone FROM phones)
    UNION SELECT 'dispute_party:' || dp.id, coalesce(g.code, c.code)
          FROM dispute_party dp JOIN dispute d ON d.id = dp.dispute_id
          LEFT JOIN area g ON g.id = d.grid_id JOIN area c ON c.id = d.community_id
          WHERE dp.phone IN (SELECT phone FROM phones) OR dp.id_number = :value
             OR dp.resident_id IN (SELECT id FROM r)
    """
)


def resolve_subject(session: Session, value: str) -> Subject:
    """Everything the audit log may call a person: by 18-digit ID number, 11-digit mobile, or a
    subject name (``resident:42``, ``person:7``, ``household:<code>``, ``incident:<code>``).

    A household stands for everyone in it; an incident or service order for its reporter.
    """
    value = value.strip()
    match = _SUBJECT_RE.match(value)
    kind, key = match.groups() if match else ("", "")
    number = key if key.isdigit() and len(key) <= 18 else None
    if not (match or _ID_NUMBER_RE.match(value) or _PHONE_RE.match(value)):
        raise InvalidInput(
            "a subject is an 18-character ID number, an 11-digit mobile number or a subject "
            "name such as resident:42, person:7, household:<code> or incident:<code>",
            parameter="subject",
        )
    if kind == "household":
        rows = session.execute(
            text(
                "SELECT 'household:' || h.code AS key, g.code AS area FROM household h"
                " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
                " WHERE h.code = :c UNION SELECT 'resident:' || r.id, g.code FROM resident r"
                " JOIN household h ON h.id = r.household_id JOIN building b ON b.id ="
                " h.building_id JOIN area g ON g.id = b.grid_id WHERE h.code = :c"
            ),
            {"c": key},
        ).all()
    elif kind == "service_order":
        rows = session.execute(
            text(
                "SELECT 'service_order:' || o.code AS key, c.code AS area FROM service_order o"
                " JOIN area c ON c.id = o.community_id WHERE o.code = :c"
            ),
            {"c": key},
        ).all()
    else:
        rows = session.execute(
            _PEOPLE_SQL,
            {
                "value": "" if match else value.upper() if len(value) == 18 else value,
                "is_phone": bool(_PHONE_RE.match(value)),
                "resident": int(number) if kind == "resident" and number else None,
                "person": int(number) if kind == "person" and number else None,
                "incident": key if kind == "incident" else None,
            },
        ).all()
    keys = sorted({str(r.key) for r in rows})
    areas = sorted({str(r.area) for r in rows if r.area})
    return Subject(value, tuple(keys), tuple(areas))


def who_saw(
    session: Session, subject_value: str, *, limit: int = 200
) -> tuple[Subject, list[AuditRecord]]:
    """Who saw this person's data, when and why: disclosure rows naming any of the person's
    subject names, and bulk reads or exports whose area covers one of the person's records."""
    found = resolve_subject(session, subject_value)
    if not found.found:
        return found, []
    limit = max(1, min(limit, MAX_QUERY_ROWS))
    rows = session.execute(
        text(
            "SELECT " + _COLUMNS + " FROM audit_log"
            " WHERE action = ANY(CAST(:actions AS text[]))"
            "   AND (subjects && CAST(:keys AS text[])"
            "        OR (area_code IS NOT NULL AND EXISTS ("
            "            SELECT 1 FROM unnest(CAST(:areas AS text[])) AS a(code)"
            "            WHERE a.code LIKE (CASE WHEN length(area_code) = 12"
            "                 AND right(area_code, 3) = '000' THEN left(area_code, 9)"
            "                 ELSE area_code END) || '%')))"
            " ORDER BY at DESC, id DESC LIMIT :limit"
        ),
        {
            "actions": list(DISCLOSURE_ACTIONS),
            "keys": list(found.keys),
            "areas": list(found.areas),
            "limit": limit,
        },
    ).all()
    return found, [AuditRecord(**row._asdict()) for row in rows]
