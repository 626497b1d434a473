"""What moves with a boundary and does not simply follow a location.

Buildings, open incidents and service facilities follow their position (``grid_at``, the SQL in
``gis/sql/boundaries_repoint_*.sql``). This module owns the rest of a commit's governance
assignment:

- grid party branches (网格党支部): at most one per grid (a unique index since migration
  0024_grid_branch_attachments).
  The planner decides for every branch of a changed or retired grid whether it moves to a grid
  or is dissolved into another branch (its members and groups join that one), creates branches
  for new grids, and confirms every grid left without one as a blank spot (党建空白点);
- party members and building party groups under the branch of a building's old grid join the
  branch of its new grid;
- every such change is logged in ``changeset_attachment`` so a revert replays it backwards.

Staff (一长两员) are written by ``commit`` from the choices; revert copies the posts of the
versions it restores (old versions keep their ``grid_staff`` rows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Conflict

BRANCHES_OF_AREAS = """
SELECT o.id, o.code, o.name, a.code AS grid, a.id AS area_id FROM party_org o
JOIN area a ON a.id = o.area_id
WHERE o.level = 'grid' AND o.area_id = ANY(:ids) ORDER BY o.code
"""


@dataclass(frozen=True)
class Branch:
    id: int
    code: str
    name: str
    grid: str  # the grid code it serves now
    retired: bool  # its grid is retired by the draft (so the planner must place it)


@dataclass(frozen=True)
class Problem:
    """A choice the planner still has to make, with a key and values for the page's message."""

    key: str
    values: dict[str, Any]
    message: str


@dataclass
class BranchPlan:
    moves: dict[str, str] = field(default_factory=dict)  # branch code → grid code
    dissolve: dict[str, str] = field(default_factory=dict)  # branch code → branch it joins
    create: dict[str, str] = field(default_factory=dict)  # grid code → new branch name
    blank: list[str] = field(default_factory=list)  # grids confirmed without a branch
    problems: list[Problem] = field(default_factory=list)


def affected_branches(
    session: Session, base: dict[str, Any], old: list[str], kept: set[str]
) -> list[Branch]:
    """Grid party branches of the changed or retired base grids ``old``."""
    rows = session.execute(text(BRANCHES_OF_AREAS), {"ids": [base[c]["id"] for c in old]}).all()
    return [Branch(int(r.id), r.code, r.name, r.grid, r.grid not in kept) for r in rows]


def branches_of_grids(session: Session, base: dict[str, Any], codes: list[str]) -> dict[str, str]:
    """{grid code: branch code} for base grids (used for unchanged neighbours as targets)."""
    rows = session.execute(
        text(BRANCHES_OF_AREAS), {"ids": [base[c]["id"] for c in codes if c in base]}
    ).all()
    return {r.grid: r.code for r in rows}


def _text_choice(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def plan_branches(
    branches: list[Branch],
    grids: set[str],
    after: list[str],
    new_grids: set[str],
    unchanged_with_branch: dict[str, str],
    choices: dict[str, Any],
) -> BranchPlan:
    """Where every affected branch goes, which grids get a new one, which stay blank.

    ``grids`` are all grid codes of the draft, ``after`` the changed or new ones,
    ``new_grids`` those with a new code, ``unchanged_with_branch`` the branches of grids the
    draft does not change (a branch may move into such a grid only if it has none).
    """
    plan = BranchPlan()
    legacy = choices.get("party_branches") or {}
    chosen = choices.get("branches") or {}
    by_code = {b.code: b for b in branches}
    for b in branches:
        choice = chosen.get(b.code)
        target: str | None = None
        if isinstance(choice, dict) and _text_choice(choice.get("merge_into")):
            into = str(choice["merge_into"])
            if into == b.code or (
                into not in by_code and into not in unchanged_with_branch.values()
            ):
                plan.problems.append(
                    Problem(
                        "branch_merge_target",
                        {"branch": b.code, "into": into},
                        f"party branch {b.code} cannot be merged into {into}: choose another "
                        "branch of the draft",
                    )
                )
            else:
                plan.dissolve[b.code] = into
            continue
        if isinstance(choice, dict):
            target = _text_choice(choice.get("to"))
        elif b.grid in legacy:
            target = _text_choice(legacy.get(b.grid))
        elif not b.retired:
            target = b.grid  # a reshaped grid keeps its branch
        if target is None:
            plan.problems.append(
                Problem(
                    "branch_unplaced",
                    {"branch": b.code, "name": b.name, "grid": b.grid},
                    f"choose which grid the party branch {b.code} ({b.name}) of retired grid "
                    f"{b.grid} goes to, or merge it into another branch "
                    f"(choices.branches[{b.code!r}] = {{'to': grid}} or {{'merge_into': branch}})",
                )
            )
        elif target not in grids:
            plan.problems.append(
                Problem(
                    "branch_target",
                    {"branch": b.code, "grid": target},
                    f"party branch {b.code} cannot go to {target}: not a grid of the draft",
                )
            )
        else:
            plan.moves[b.code] = target
    for code, into in list(plan.dissolve.items()):
        if into in plan.dissolve:
            plan.problems.append(
                Problem(
                    "branch_merge_target",
                    {"branch": code, "into": into},
                    f"party branch {code} cannot be merged into {into}, which is itself merged "
                    "away; merge both into the branch that stays",
                )
            )
    occupants: dict[str, list[str]] = {}
    for grid, branch in unchanged_with_branch.items():
        occupants.setdefault(grid, []).append(branch)
    for branch, grid in plan.moves.items():
        occupants.setdefault(grid, []).append(branch)
    for grid, held in sorted(occupants.items()):
        if len(held) > 1:
            plan.problems.append(
                Problem(
                    "two_branches",
                    {"grid": grid, "branches": sorted(held)},
                    f"grid {grid} would have two grid party branches ({', '.join(sorted(held))}): "
                    "move one to another grid or merge one into the other",
                )
            )
    create = choices.get("new_branches") or {}
    blank = choices.get("blank_grids") or []
    if not isinstance(create, dict) or not isinstance(blank, list):
        plan.problems.append(
            Problem(
                "choices_shape",
                {},
                "choices.new_branches must be {grid: name} and choices.blank_grids a list",
            )
        )
        return plan
    lost = {b.grid for b in branches}
    for grid in after:
        if occupants.get(grid):
            continue
        name = create.get(grid)
        if isinstance(name, str) and 1 <= len(name.strip()) <= 100:
            plan.create[grid] = name.strip()
        elif grid in blank:
            plan.blank.append(grid)
        elif grid in new_grids or grid in lost:
            plan.problems.append(
                Problem(
                    "blank_unconfirmed",
                    {"grid": grid},
                    f"grid {grid} would have no grid party branch: create one "
                    f"(choices.new_branches[{grid!r}] = its name) or confirm it as a blank spot "
                    f"(党建空白点, choices.blank_grids)",
                )
            )
    return plan


def _log(
    session: Session,
    changeset_id: int,
    action: str,
    entity: str,
    rows: list[dict[str, Any]],
) -> None:
    if rows:
        session.execute(
            text(
                "INSERT INTO changeset_attachment (changeset_id, action, entity, entity_id, "
                "field, old_value, new_value, row_data) VALUES (:cs, :action, :entity, :id, "
                ":field, :old, :new, CAST(:row AS jsonb))"
            ),
            [
                {
                    "cs": changeset_id,
                    "action": action,
                    "entity": entity,
                    "field": None,
                    "old": None,
                    "new": None,
                    "row": None,
                    **r,
                }
                for r in rows
            ],
        )


def _log_moves(
    session: Session, changeset_id: int, entity: str, column: str, rows: Sequence[Any]
) -> int:
    """Log rows ``(id, old, new)`` of ``entity.column`` that a move changed; their number."""
    _log(
        session,
        changeset_id,
        "move",
        entity,
        [{"id": r.id, "field": column, "old": r.old, "new": r.new} for r in rows],
    )
    return len(rows)


def _move(
    session: Session,
    changeset_id: int,
    entity: str,
    column: str,
    where: str,
    params: dict[str, Any],
) -> int:
    """UPDATE entity SET column = :new WHERE <where>, logging each row's old value."""
    rows = session.execute(
        text(
            f"UPDATE {entity} t SET {column} = s.new FROM ("
            f"SELECT id, {column} AS old, :new AS new FROM {entity} WHERE {where}"
            f") s WHERE t.id = s.id AND s.old IS DISTINCT FROM s.new RETURNING t.id, s.old, s.new"
        ),
        params,
    ).all()
    return _log_moves(session, changeset_id, entity, column, rows)


def _dissolve(session: Session, changeset_id: int, branch_id: int, into_id: int) -> None:
    """Members, groups and service orders of one branch join another; the branch is removed."""
    for entity, column in (
        ("party_member", "org_id"),
        ("party_org", "parent_id"),
        ("service_order", "org_id"),
    ):
        _move(
            session,
            changeset_id,
            entity,
            column,
            f"{column} = :old_branch",
            {"old_branch": branch_id, "new": into_id},
        )
    row = session.execute(
        text(
            "SELECT to_jsonb(o) - 'geom' || jsonb_build_object('geom', ST_AsEWKT(o.geom)) "
            "FROM party_org o WHERE id = :id"
        ),
        {"id": branch_id},
    ).scalar_one()
    session.execute(text("DELETE FROM party_org WHERE id = :id"), {"id": branch_id})
    _log(
        session, changeset_id, "dissolve", "party_org", [{"id": branch_id, "row": json.dumps(row)}]
    )


def _create(session: Session, changeset_id: int, grid_id: int, name: str) -> int:
    """A new grid party branch under the community's party organisation."""
    row = session.execute(
        text(
            """
            INSERT INTO party_org (code, name, level, org_type, parent_id, area_id,
                                   district_code, geom, founded_on)
            SELECT 'DZ' || g.code, :name, 'grid', '党支部', c.id, g.id, g.district_code,
                   ST_PointOnSurface(g.geom), current_date
            FROM area g
            LEFT JOIN LATERAL (SELECT id FROM party_org WHERE level = 'community'
                               AND area_id = g.parent_id ORDER BY id LIMIT 1) c ON true
            WHERE g.id = :grid
            RETURNING id, to_jsonb(party_org) - 'geom'
                || jsonb_build_object('geom', ST_AsEWKT(geom)) AS data
            """
        ),
        {"grid": grid_id, "name": name},
    ).one()
    _log(
        session, changeset_id, "create", "party_org", [{"id": row.id, "row": json.dumps(row.data)}]
    )
    return int(row.id)


def apply_branches(
    session: Session,
    changeset_id: int,
    plan: BranchPlan,
    branches: list[Branch],
    area_id_of: dict[str, int],
) -> dict[str, int]:
    """Write the plan; ``area_id_of`` maps every grid code of the draft to its current row."""
    ids = {b.code: b.id for b in branches}
    for code, into in plan.dissolve.items():
        into_id = (
            ids.get(into)
            or session.execute(
                text("SELECT id FROM party_org WHERE code = :c"), {"c": into}
            ).scalar_one()
        )
        _dissolve(session, changeset_id, ids[code], int(into_id))
    moved = 0
    for code, grid in plan.moves.items():
        moved += _move(
            session,
            changeset_id,
            "party_org",
            "area_id",
            "id = :branch",
            {"branch": ids[code], "new": area_id_of[grid]},
        )
    for grid, name in plan.create.items():
        _create(session, changeset_id, area_id_of[grid], name)
    return {"dissolved": len(plan.dissolve), "moved": moved, "created": len(plan.create)}


def follow_buildings(session: Session, changeset_id: int, new_ids: list[int]) -> dict[str, int]:
    """Members and party groups of buildings now in ``new_ids`` join their grid's branch.

    Only what hangs directly on a grid branch moves: a member of a building party group stays
    in the group, and the group's parent becomes the new grid's branch. A building whose new
    grid has no branch keeps its members where they are (their branch still exists).
    """
    members = session.execute(
        text(
            """
            UPDATE party_member t SET org_id = s.new FROM (
                SELECT pm.id, pm.org_id AS old, nb.id AS new
                FROM building b
                JOIN party_org nb ON nb.level = 'grid' AND nb.area_id = b.grid_id
                JOIN household h ON h.building_id = b.id
                JOIN resident r ON r.household_id = h.id
                JOIN party_member pm ON pm.resident_id = r.id
                JOIN party_org cur ON cur.id = pm.org_id AND cur.level = 'grid'
                WHERE b.grid_id = ANY(:ids) AND b.valid_to IS NULL AND pm.org_id <> nb.id
            ) s WHERE t.id = s.id RETURNING t.id, s.old, s.new
            """
        ),
        {"ids": new_ids},
    ).all()
    moved_members = _log_moves(session, changeset_id, "party_member", "org_id", members)
    groups = session.execute(
        text(
            """
            UPDATE party_org t SET parent_id = s.new FROM (
                SELECT g.id, g.parent_id AS old, nb.id AS new
                FROM building b
                JOIN party_org nb ON nb.level = 'grid' AND nb.area_id = b.grid_id
                JOIN party_org g ON g.level IN ('building', 'household')
                     AND (g.building_id = b.id
                          OR g.household_id IN (SELECT id FROM household WHERE building_id = b.id))
                JOIN party_org cur ON cur.id = g.parent_id AND cur.level = 'grid'
                WHERE b.grid_id = ANY(:ids) AND b.valid_to IS NULL AND g.parent_id <> nb.id
            ) s WHERE t.id = s.id RETURNING t.id, s.old, s.new
            """
        ),
        {"ids": new_ids},
    ).all()
    moved_groups = _log_moves(session, changeset_id, "party_org", "parent_id", groups)
    return {"party_members": moved_members, "party_groups": moved_groups}


def replay_backwards(
    session: Session, reverted_id: int, changeset_id: int, area_id_of: dict[str, int]
) -> int:
    """Undo what changeset ``reverted_id`` re-attached, logged as changeset ``changeset_id``.

    Area ids in the log name versions the revert replaced; each is mapped by its code to the
    version current after the revert (``area_id_of``), so a branch returns to the restored grid.
    """
    entries = session.execute(
        text(
            "SELECT action, entity, entity_id, field, old_value, row_data FROM "
            "changeset_attachment WHERE changeset_id = :id ORDER BY id DESC"
        ),
        {"id": reverted_id},
    ).all()
    codes: dict[int, str] = dict(
        session.execute(
            text(
                "SELECT id, code FROM area WHERE id = ANY(:ids)",
            ),
            {
                "ids": [e.old_value for e in entries if e.field == "area_id"]
                + [int(e.row_data["area_id"]) for e in entries if e.action == "dissolve"]
            },
        ).all()
    )

    def area(old_id: int) -> int:
        return area_id_of.get(codes[old_id], old_id)

    for e in entries:
        if e.action == "move":
            value = area(e.old_value) if e.field == "area_id" else e.old_value
            _move(
                session,
                changeset_id,
                e.entity,
                e.field,
                "id = :row",
                {"row": e.entity_id, "new": value},
            )
        elif e.action == "create":
            used = session.execute(
                text(
                    "SELECT (SELECT count(*) FROM party_member WHERE org_id = :id) + "
                    "(SELECT count(*) FROM party_org WHERE parent_id = :id) + "
                    "(SELECT count(*) FROM service_order WHERE org_id = :id)"
                ),
                {"id": e.entity_id},
            ).scalar_one()
            if used:
                raise Conflict(
                    f"party branch {e.row_data['code']} created by changeset {reverted_id} now "
                    "has members or groups of its own; move them before reverting"
                )
            session.execute(text("DELETE FROM party_org WHERE id = :id"), {"id": e.entity_id})
            _log(
                session,
                changeset_id,
                "dissolve",
                "party_org",
                [{"id": e.entity_id, "row": json.dumps(e.row_data)}],
            )
        else:  # dissolve: bring the branch back as it was, on the restored grid
            data = dict(e.row_data)
            data["area_id"] = area(int(data["area_id"]))
            session.execute(
                text(
                    """
                    INSERT INTO party_org (id, code, name, level, org_type, parent_id, area_id,
                        building_id, household_id, secretary_id, founded_on, district_code, geom)
                    SELECT id, code, name, level, org_type, parent_id, area_id, building_id,
                           household_id, secretary_id, founded_on, district_code,
                           ST_GeomFromEWKT(:geom)
                    FROM jsonb_populate_record(NULL::party_org, CAST(:data AS jsonb) - 'geom')
                    """
                ),
                {"data": json.dumps(data), "geom": data["geom"]},
            )
            _log(
                session,
                changeset_id,
                "create",
                "party_org",
                [{"id": e.entity_id, "row": json.dumps(data)}],
            )
    return len(entries)
