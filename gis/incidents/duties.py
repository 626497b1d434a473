"""Separation of duties and the other facts a step depends on, read for one case and viewer.

The workflow (gis/incidents/workflow.py) is pure; it asks :class:`~gis.incidents.workflow.CaseFacts`
whether a step is open now. This module reads them from the database, so the case's
``allowed_transitions`` and the check of a step use the same facts:

- who handled the case: every account that reported its handling back (处置反馈, a history row
  into ``handled``), the assignee's own account, and every grid account of the case's grid —
  none of them verifies, sends back or closes it;
- who verifies its category (``incident_deadline_rule.verified_by``: ``community`` or
  ``centre``; a category without a rule is verified by the centre);
- a pending deadline-extension request (延期申请) and who asked for it;
- where a suspended case resumes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import accounts
from gis.incidents.deadlines import deadline_rule, load_calendar, stage_deadline
from gis.incidents.history import actor_of
from gis.incidents.timestamps import iso
from gis.incidents.workflow import CaseFacts
from gis.scope import Viewer

# Accounts that work for one grid: a case of their grid was handled by "the grid".
GRID_ROLES = frozenset({"grid_worker", "grid_chief"})

_FACTS_SQL = text(
    """
    SELECT coalesce(r.verified_by, 'centre') AS verified_by,
           EXISTS (SELECT 1 FROM incident_transition t
                   WHERE t.incident_id = i.id AND t.to_status = 'handled' AND t.actor = :actor)
               AS reported_back,
           (i.assignee_id IS NOT NULL AND i.assignee_id = :person_id) AS is_assignee,
           x.requested_by AS extension_requested_by
    FROM incident i
    LEFT JOIN incident_deadline_rule r ON r.category = i.category
    LEFT JOIN incident_extension x ON x.incident_id = i.id AND x.decision IS NULL
    WHERE i.id = :id
    """
)


def case_facts(session: Session, viewer: Viewer, case: Any) -> CaseFacts:
    """The facts of ``case`` (a row or mapping with ``id``, ``grid_code``, ``suspended_from``)
    for this viewer."""
    get = case.get if isinstance(case, dict) else lambda k: getattr(case, k)
    actor = actor_of(viewer)
    row = session.execute(
        _FACTS_SQL,
        {
            "id": get("id"),
            "actor": actor,
            "person_id": accounts.person_of_user(session, viewer.user_id),
        },
    ).one()
    grid_code = get("grid_code")
    own_grid = (
        viewer.role in GRID_ROLES and grid_code is not None and viewer.scope_code == grid_code
    )
    return CaseFacts(
        suspended_from=get("suspended_from"),
        pending_extension=row.extension_requested_by is not None,
        requested_by_viewer=row.extension_requested_by == actor,
        handled_by_viewer=bool(row.reported_back or row.is_assignee or own_grid),
        verified_by=row.verified_by,
    )


def extensions(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """The case's deadline-extension requests (延期申请), oldest first, with their decisions."""
    rows = session.execute(
        text(
            "SELECT id, requested_at, requested_by, reason, previous_due_at, requested_due_at,"
            " decision, decided_at, decided_by, decision_note FROM incident_extension"
            " WHERE incident_id = :id ORDER BY requested_at, id"
        ),
        {"id": incident_id},
    ).all()
    return [
        {
            "id": r.id,
            "requested_at": iso(r.requested_at),
            "requested_by": r.requested_by,
            "reason": r.reason,
            "previous_due_at": iso(r.previous_due_at),
            "requested_due_at": iso(r.requested_due_at),
            "decision": r.decision,
            "decided_at": iso(r.decided_at),
            "decided_by": r.decided_by,
            "decision_note": r.decision_note,
        }
        for r in rows
    ]


def work_deadlines(session: Session, case: Any, now: datetime) -> dict[str, Any]:
    """What the case panel's dispatch form needs: the handling deadline a dispatch now would get
    from the category's rule (``dispatch_due_at``, the latest a dispatch may set)."""
    if case.status != "registered":
        return {}
    rule = deadline_rule(session, case.category)
    return {"dispatch_due_at": iso(stage_deadline(rule, load_calendar(session), "dispatched", now))}
