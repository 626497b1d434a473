"""Quarterly completeness of 三会一课 and 主题党日: per branch, and summed per area.

The rules (what is due, how often, by whom) are :mod:`gis.orglife.rules`; this module only
counts meetings against them. No personal data is read: counts per branch, kind and month.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.orglife import rules
from gis.orglife.meetings import Branch, branches_in
from gis.scope import Viewer

_COUNTS_SQL = text(
    """
    SELECT m.branch_code, m.org_code, m.kind, m.held_on, count(*) AS n
    FROM org_meeting m
    WHERE m.branch_id = ANY(:ids) AND m.held_on BETWEEN :start AND :end
    GROUP BY m.branch_code, m.org_code, m.kind, m.held_on
    """
)

Counts = dict[tuple[str, str, str], list[datetime.date]]


def _kind_status(
    kind: rules.MeetingKind,
    branch: Branch,
    held: Counts,
    quarter: rules.Quarter,
    today: datetime.date,
) -> dict[str, Any]:
    """Met / missed / open periods of one kind for one branch (units × periods)."""
    if not rules.applies(kind, branch.full_members, len(branch.groups)):
        return {"applies": False, "required": 0, "met": 0, "missed": 0, "open": 0}
    units = [g["code"] for g in branch.groups] if kind.unit == "group" else [branch.code]
    tally = {"met": 0, "missed": 0, "open": 0}
    for unit in units:
        days = held.get((branch.code, unit, kind.key), [])
        for period in rules.periods(kind, quarter):
            n = sum(1 for d in days if period.start <= d <= period.end)
            tally[rules.period_status(n, period, today)] += 1
    return {"applies": True, "required": len(units) * len(rules.periods(kind, quarter)), **tally}


def _rate(met: int, missed: int) -> float | None:
    return None if met + missed == 0 else round(met / (met + missed), 4)


def _child_code(within: str, area_code: str) -> str:
    """The code of the area directly under ``within`` that contains ``area_code``.

    >>> _child_code("620881", "620881002003004"), _child_code("620881002000", "620881002003004")
    ('620881002000', '620881002003')
    >>> _child_code("620881002003", "620881002003004"), _child_code("620881002003", "620881002003")
    ('620881002003004', '620881002003')
    """
    if len(within) == 6:
        return area_code[:9] + "000"
    if len(within) == 12 and within.endswith("000"):
        return area_code[:12]
    return area_code


def completeness(
    session: Session,
    viewer: Viewer,
    *,
    quarter: str | None = None,
    within: str | None = None,
    today: datetime.date,
) -> dict[str, Any]:
    """Per branch and per area: how many due periods of each kind were met, missed, still open."""
    period = rules.Quarter.parse(quarter) if quarter else rules.Quarter.of(today)
    area, found = branches_in(session, viewer, within)
    held: Counts = defaultdict(list)
    for row in session.execute(
        _COUNTS_SQL, {"ids": [b.id for b in found], "start": period.start, "end": period.end}
    ):
        held[(row.branch_code, row.org_code, row.kind)] += [row.held_on] * int(row.n)
    branches = []
    for b in found:
        kinds = {k.key: _kind_status(k, b, held, period, today) for k in rules.MEETING_KINDS}
        met = sum(k["met"] for k in kinds.values())
        missed = sum(k["missed"] for k in kinds.values())
        branches.append(
            {
                "code": b.code,
                "name": b.name,
                "area_code": b.area_code,
                "area_name": b.area_name,
                "members": b.members,
                "kinds": kinds,
                "met": met,
                "missed": missed,
                "rate": _rate(met, missed),
                "complete": missed == 0,
            }
        )
    return {
        "quarter": str(period),
        "within": area,
        "as_of": today.isoformat(),
        "rules": rules.for_pages(),
        "totals": _sum(area, branches),
        "areas": _areas(session, area, branches),
        "branches": branches,
    }


def _sum(code: str, branches: list[dict[str, Any]]) -> dict[str, Any]:
    kinds: dict[str, dict[str, int]] = {
        k.key: {"met": 0, "missed": 0, "open": 0} for k in rules.MEETING_KINDS
    }
    for b in branches:
        for key, status in b["kinds"].items():
            for field in ("met", "missed", "open"):
                kinds[key][field] += status[field]
    met = sum(k["met"] for k in kinds.values())
    missed = sum(k["missed"] for k in kinds.values())
    return {
        "code": code,
        "branches": len(branches),
        "complete_branches": sum(1 for b in branches if b["complete"]),
        "kinds": {key: {**v, "rate": _rate(v["met"], v["missed"])} for key, v in kinds.items()},
        "met": met,
        "missed": missed,
        "rate": _rate(met, missed),
    }


def _areas(session: Session, within: str, branches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sums for each area directly under ``within`` that has a branch."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in branches:
        groups[_child_code(within, b["area_code"])].append(b)
    names: dict[str, str] = dict(
        session.execute(
            text("SELECT code, name FROM area WHERE code = ANY(:codes) AND valid_to IS NULL"),
            {"codes": list(groups)},
        ).all()
    )
    return [
        {**_sum(code, members), "name": names.get(code, code)}
        for code, members in sorted(groups.items())
    ]
