"""The append-only audit log: who read or changed what, when, and for what purpose.

Every read that returns personal fields unmasked is recorded here (PIPL: processing of personal
information must be traceable), as are sign-ins and account changes. The table refuses UPDATE,
DELETE and TRUNCATE (migration 0002), so functions here only ever insert and select.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.scope import Viewer

READ_UNMASKED = "read.unmasked"
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
SIGN_OUT = "auth.sign_out"
ACCOUNT_CHANGE = "account.change"
API_CLIENT_CHANGE = "api_client.change"
# A backup reads every person's data at once; a restore replaces a database with such a read.
BACKUP_CREATE = "backup.create"
BACKUP_RESTORE = "backup.restore"
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


def record(
    session: Session,
    viewer: Viewer,
    action: str,
    target: str,
    *,
    purpose: str | None = None,
    client: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction (so it commits with the read it logs).

    ``target`` names what was touched, e.g. ``household:620881H000000001`` or
    ``households:620881001001001``; ``detail`` holds small structured facts (row counts). When
    a command acts as an account (``--as``), ``detail.operator`` names who really ran it.
    """
    facts = dict(detail or {})
    if viewer.operator:
        facts["operator"] = viewer.operator
    session.execute(
        text(
            "INSERT INTO audit_log (username, role, scope_code, action, target, purpose, client,"
            " detail) VALUES (:username, :role, :scope, :action, :target, :purpose, :client,"
            " CAST(:detail AS jsonb))"
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
        },
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

    Every data function that unmasks (``viewer.may_unmask and viewer.covers(code)``) must call
    this once per response; ``tests/api/test_households.py`` shows the pattern.
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
            "SELECT id, at, username, role, scope_code, action, target, purpose, client, detail"
            " FROM audit_log"
            " WHERE (CAST(:username AS text) IS NULL OR username = :username)"
            "   AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)"
            "   AND (CAST(:action AS text) IS NULL OR action = :action)"
            " ORDER BY at DESC, id DESC LIMIT :limit"
        ),
        {"username": username, "since": since, "action": action, "limit": limit},
    ).all()
    return [AuditRecord(**row._asdict()) for row in rows]
