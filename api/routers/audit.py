"""``/api/v1/audit/disclosures``: who saw this person's data, when and why (admins only).

The admin page ``/admin/audit`` (web/admin_audit.py) and ``gridgov audit --subject`` answer the
same question from the same function, :func:`gis.audit.who_saw`. Looking a person up is itself
recorded (``audit.query``), so the log also tells who asked about whom.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import SessionDep
from api.security import SignedInViewerDep, scope_decision
from gis import audit
from gis.errors import Forbidden

router = APIRouter(tags=["audit"])
AUDIT_QUERY = "audit.query"


class Disclosure(BaseModel):
    at: str
    username: str | None
    role: str
    scope_code: str | None
    action: str
    target: str
    purpose: str | None
    client: str | None
    rows: int | None
    area_code: str | None


class Disclosures(BaseModel):
    subject: str
    found: bool
    keys: list[str]
    items: list[Disclosure]


@router.get(
    "/audit/disclosures",
    response_model=Disclosures,
    responses={
        400: {"description": "The subject is not an ID number, mobile or subject name"},
        401: {"description": "Not signed in"},
        403: {"description": "Only admins read the audit log"},
    },
    openapi_extra=scope_decision("personal"),
)
def disclosures(
    session: SessionDep,
    viewer: SignedInViewerDep,
    subject: Annotated[
        str,
        Query(
            min_length=3,
            max_length=60,
            description="An 18-character ID number, an 11-digit mobile, or a subject name "
            "(resident:42, person:7, household:<code>, incident:<code>, service_order:<code>)",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Every disclosure of this person's data, newest first: unmasked reads naming them, and
    bulk reads and exports of an area holding their records."""
    if viewer.role != "admin":
        raise Forbidden("only admins read the audit log")
    found, rows = audit.who_saw(session, subject, limit=limit)
    if found.found and not any(viewer.covers(area) for area in found.areas):
        # Another district's person: as unknown as a missing one.
        found, rows = audit.Subject(found.query, (), ()), []
    audit.record(
        session,
        viewer,
        AUDIT_QUERY,
        f"subject:{subject.strip()}"[:500],
        purpose=viewer.purpose,
        client=viewer.client,
        detail={"rows": len(rows)},
    )
    return {
        "subject": found.query,
        "found": found.found,
        "keys": list(found.keys),
        "items": [
            {
                "at": r.at.isoformat(),
                "username": r.username,
                "role": r.role,
                "scope_code": r.scope_code,
                "action": r.action,
                "target": r.target,
                "purpose": r.purpose,
                "client": r.client,
                "rows": r.detail.get("rows"),
                "area_code": r.area_code,
            }
            for r in rows
        ],
    }
