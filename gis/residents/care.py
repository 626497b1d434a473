"""Care for vulnerable people (重点人群关爱): the visit plan of the special groups, and which
households are overdue.

A household is under the plan when one of its residents belongs to a special group
(gis/special_groups.py; ``resident.special_groups``). It is due for a visit every
:data:`~gis.residents.vocabulary.VISIT_INTERVAL_DAYS` days of its strictest group after the last
household visit recorded in field work (``household_visit`` of gis/fieldwork/visits.py — the
grid worker's 入户走访 count toward the plan by themselves, nothing is recorded twice). A
household never visited is overdue at once. Group membership is personal data: the list is
for the roles that visit households, in their scope, and reading it is logged as a bulk read.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit, special_groups
from gis.errors import InvalidInput
from gis.queries.households import effective_area, subtree_prefix
from gis.residents import vocabulary
from gis.residents.access import CARE_READERS, check_role
from gis.scope import Viewer

STATES = ("overdue", "due_soon", "ok")
MAX_LIMIT = 500

_CARE_SQL = text(
    """
    WITH cared AS (
        SELECT h.id, h.code, g.code AS grid_code, b.code AS building_code,
               array_agg(DISTINCT x ORDER BY x) AS groups
        FROM household h JOIN building b ON b.id = h.building_id
        JOIN area g ON g.id = b.grid_id
        JOIN resident r ON r.household_id = h.id
        CROSS JOIN LATERAL unnest(r.special_groups) AS x
        WHERE g.code LIKE :prefix AND r.special_groups <> '{}'
        GROUP BY h.id, h.code, g.code, b.code
    )
    SELECT c.*, v.last_visit, v.visits
    FROM cared c
    LEFT JOIN LATERAL (SELECT max(visited_at) AS last_visit, count(*) AS visits
                       FROM household_visit WHERE household_id = c.id) v ON true
    ORDER BY c.grid_code, c.code
    """
)


def interval_days(groups: list[str]) -> int:
    """Days between visits for a household with these groups: the strictest one's.

    >>> interval_days(["veteran", "elderly_alone"]), interval_days(["hardship"])
    (7, 30)
    """
    return min(vocabulary.VISIT_INTERVAL_DAYS[g] for g in groups)


def state(
    last_visit: datetime.datetime | None, interval: int, now: datetime.datetime
) -> tuple[str, datetime.datetime | None]:
    """Whether a household is ``overdue``, ``due_soon`` or ``ok``, and when it is due.

    >>> now = datetime.datetime(2026, 11, 29, tzinfo=datetime.UTC)
    >>> state(None, 7, now)
    ('overdue', None)
    >>> state(now - datetime.timedelta(days=8), 7, now)[0]
    'overdue'
    >>> state(now - datetime.timedelta(days=6), 7, now)[0], state(now, 7, now)[0]
    ('due_soon', 'ok')
    """
    if last_visit is None:
        return "overdue", None
    due = last_visit + datetime.timedelta(days=interval)
    if due < now:
        return "overdue", due
    if due - now <= datetime.timedelta(days=vocabulary.DUE_SOON_DAYS):
        return "due_soon", due
    return "ok", due


def plan() -> list[dict[str, Any]]:
    """The visit plan: every group with its label and days between visits."""
    return [
        {
            "key": key,
            "label": special_groups.label(key),
            "interval_days": vocabulary.VISIT_INTERVAL_DAYS[key],
        }
        for key in special_groups.SPECIAL_GROUPS
    ]


def visits_due(
    session: Session,
    viewer: Viewer,
    *,
    within: str | None = None,
    only: str | None = None,
    now: datetime.datetime | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    """Households under the plan in the viewer's area: their state, per grid counts, and the
    households (overdue first) — optionally only those in state ``only``."""
    check_role(viewer, CARE_READERS, "read the care visit plan")
    if only is not None and only not in STATES:
        raise InvalidInput("state must be one of " + ", ".join(STATES), parameter="state")
    area = effective_area(viewer, within)
    now = now or datetime.datetime.now(datetime.UTC)
    rows = session.execute(_CARE_SQL, {"prefix": subtree_prefix(area) + "%"}).all()
    households = []
    grids: dict[str, dict[str, int]] = {}
    for r in rows:
        groups = list(r.groups)
        interval = interval_days(groups)
        current, due = state(r.last_visit, interval, now)
        counts = grids.setdefault(r.grid_code, dict.fromkeys(STATES, 0) | {"households": 0})
        counts[current] += 1
        counts["households"] += 1
        households.append(
            {
                "household": r.code,
                "building": r.building_code,
                "grid_code": r.grid_code,
                "groups": groups,
                "group_labels": [special_groups.label(g) for g in groups],
                "interval_days": interval,
                "last_visit": r.last_visit.isoformat() if r.last_visit else None,
                "visits": int(r.visits),
                "due_at": due.isoformat() if due else None,
                "state": current,
                "days_overdue": (now - due).days if current == "overdue" and due else None,
            }
        )
    order = {s: i for i, s in enumerate(STATES)}
    households.sort(key=lambda h: (order[h["state"]], h["due_at"] or "", h["household"]))
    listed = [h for h in households if only is None or h["state"] == only][:limit]
    if listed:
        audit.disclose(
            session,
            viewer,
            f"care_visits:{area}",
            rows=len(listed),
            area_code=area,
            action=audit.READ_MASKED_BULK,
            detail={"state": only},
        )
    return {
        "within": area,
        "plan": plan(),
        "totals": {s: sum(g[s] for g in grids.values()) for s in (*STATES, "households")},
        "grids": [{"grid_code": code, **counts} for code, counts in sorted(grids.items())],
        "items": listed,
    }
