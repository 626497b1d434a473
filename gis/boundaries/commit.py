"""Impact preview and the atomic commit of a draft.

Commit runs in the caller's transaction (the request's session) under a transaction-level
advisory lock per community, sorted by code so two drafts over overlapping scopes cannot
deadlock. Optimistic concurrency: the draft recorded the grid versions it started from; if the
current versions differ (someone committed in between), :class:`~gis.errors.Conflict` names what
changed and nothing is written.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
from collections import defaultdict
from typing import Any

from shapely.geometry import mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.boundaries import attachments
from gis.boundaries.drafts import (
    Draft,
    ValidationFailed,
    current_grids,
    draft_state,
    load_draft,
    require_open,
    validate_state,
)
from gis.boundaries.geometry import area_m2, as_multipolygon
from gis.boundaries.operations import DraftState
from gis.errors import Conflict, InvalidInput
from gis.incidents.vocabulary import OPEN_STATUSES
from gis.queries.area_stats import refresh_area_stats
from gis.scope import Viewer
from gis.sqlfiles import read_sql

log = logging.getLogger("gridgov.boundaries")

LOCK_NAMESPACE = "gridgov.boundaries:"
# Lineage pairs sharing less than this are overlay noise, not a transfer of territory.
LINEAGE_MIN_M2 = 0.5


def affected(draft: Draft, state: DraftState) -> tuple[list[str], list[str], list[str]]:
    """(changed or retired base codes, new or changed draft codes, retired codes)."""
    base = draft.base["grids"]
    changed_new = sorted(c for c in state.grids if state.changed(c))
    retired = sorted(set(base) - set(state.grids))
    changed_old = sorted({c for c in changed_new if c in base} | set(retired))
    return changed_old, changed_new, retired


def _draft_json(state: DraftState, codes: list[str]) -> str:
    return json.dumps(
        [{"code": c, "geometry": mapping(as_multipolygon(state.grids[c].geom))} for c in codes]
    )


def _branch_inputs(
    session: Session, draft: Draft, state: DraftState
) -> tuple[list[attachments.Branch], list[str], set[str], dict[str, str]]:
    """Affected branches, changed/new grids, new-code grids, branches of unchanged grids."""
    old, new, _retired = affected(draft, state)
    base = draft.base["grids"]
    kept = {c for c in old if c in state.grids}
    branches = attachments.affected_branches(session, base, old, kept)
    unchanged = [c for c in state.grids if c in base and c not in old]
    return (
        branches,
        new,
        {c for c in new if state.grids[c].base_code is None},
        attachments.branches_of_grids(session, base, unchanged),
    )


def required_choices(session: Session, draft: Draft, state: DraftState) -> dict[str, Any]:
    """What the planner decides before commit: where branches go, new grids' chiefs and staff.

    A revert decides nothing: it brings back the branches and posts the changeset replaced."""
    if draft.reverts_changeset_id is not None:
        return {
            "party_branches": {},
            "branches": [],
            "grids_needing_branch": [],
            "chiefs": {},
            "staff_of_retired_grids": [],
            "restores": draft.reverts_changeset_id,
        }
    _old, _new, retired = affected(draft, state)
    base = draft.base["grids"]
    branches, after, new_grids, unchanged = _branch_inputs(session, draft, state)
    staff = session.execute(
        text(
            "SELECT a.code AS grid, s.role, s.person_id FROM grid_staff s "
            "JOIN area a ON a.id = s.area_id WHERE s.area_id = ANY(:ids) ORDER BY 1, 2, 3"
        ),
        {"ids": [base[c]["id"] for c in retired]},
    ).all()
    defaults = attachments.plan_branches(
        branches, set(state.grids), after, new_grids, unchanged, {}
    )
    held = set(defaults.moves.values()) | set(unchanged)
    return {
        "party_branches": {
            b.grid: {"branch": b.code, "name": b.name, "choose_one_of": sorted(state.grids)}
            for b in branches
            if b.retired
        },
        "branches": [
            {
                "code": b.code,
                "name": b.name,
                "grid": b.grid,
                "retired": b.retired,
                "default": None if b.retired else b.grid,
                "to_one_of": sorted(state.grids),
                "merge_into_one_of": sorted(
                    {x.code for x in branches if x.code != b.code} | set(unchanged.values())
                ),
            }
            for b in branches
        ],
        # Grids that end with no branch unless a branch is moved there, one is created, or the
        # planner confirms the blank spot (党建空白点).
        "grids_needing_branch": [
            g
            for g in after
            if g not in held and (g in new_grids or g in {b.grid for b in branches})
        ],
        "chiefs": {
            code: {"choose": "a person id, or null to leave the post vacant"} for code in new_grids
        },
        "staff_of_retired_grids": [
            {"grid": r.grid, "role": r.role, "person_id": r.person_id} for r in staff
        ],
    }


def check_choices(
    session: Session, draft: Draft, state: DraftState, choices: dict[str, Any] | None
) -> tuple[dict[str, Any], attachments.BranchPlan | None]:
    """Refuse to guess: every affected branch placed, every blank grid confirmed, every new
    grid's chief chosen. A revert needs none of these: it restores what the changeset replaced."""
    choices = choices or {}
    branches = choices.get("party_branches") or {}
    chiefs = choices.get("chiefs") or {}
    staff = choices.get("staff") or {}
    if not all(isinstance(x, dict) for x in (branches, chiefs, staff)) or not all(
        isinstance(v, dict) for v in staff.values()
    ):
        raise InvalidInput(
            "choices.party_branches, choices.chiefs and choices.staff must be objects keyed by "
            "grid code",
            parameter="choices",
        )
    if not isinstance(choices.get("branches") or {}, dict):
        raise InvalidInput("choices.branches must be an object keyed by branch code")
    problems: list[attachments.Problem] = []
    plan = None
    if draft.reverts_changeset_id is None:
        inputs = _branch_inputs(session, draft, state)
        plan = attachments.plan_branches(inputs[0], set(state.grids), *inputs[1:], choices)
        problems.extend(plan.problems)
        for grid in required_choices(session, draft, state)["chiefs"]:
            if grid not in chiefs:
                problems.append(
                    attachments.Problem(
                        "chief_unchosen",
                        {"grid": grid},
                        f"choose the chief of new grid {grid} (choices.chiefs[{grid!r}] = a "
                        "person id, or null to leave it vacant)",
                    )
                )
    people = [p for p in chiefs.values() if p is not None]
    for role_list in staff.values():
        people.extend(role_list.get("workers") or [])
        if role_list.get("instructor") is not None:
            people.append(role_list["instructor"])
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in people):
        raise InvalidInput("person ids in choices must be integers (or null)", parameter="choices")
    if people:
        found = set(
            session.execute(
                text("SELECT id FROM person WHERE id = ANY(:ids)"), {"ids": people}
            ).scalars()
        )
        missing = sorted(set(people) - found)
        if missing:
            problems.append(
                attachments.Problem(
                    "no_person",
                    {"ids": missing},
                    f"no person with id {', '.join(map(str, missing))}",
                )
            )
    if problems:
        raise InvalidInput(
            "; ".join(p.message for p in problems),
            parameter="choices",
            key="choices",
            values={"problems": [{"key": p.key, **p.values} for p in problems]},
        )
    return {
        "party_branches": branches,
        "branches": choices.get("branches") or {},
        "new_branches": plan.create if plan else {},
        "blank_grids": plan.blank if plan else [],
        "chiefs": chiefs,
        "staff": staff,
    }, plan


def impact(session: Session, viewer: Viewer, changeset_id: int) -> dict[str, Any]:
    """Before/after numbers for every affected grid and lists of what moves."""
    draft = load_draft(session, viewer, changeset_id)
    state = draft_state(session, draft)
    return _impact(session, draft, state, None)


def _impact(
    session: Session, draft: Draft, state: DraftState, choices: dict[str, Any] | None
) -> dict[str, Any]:
    old, new, retired = affected(draft, state)
    base = draft.base["grids"]
    old_ids = [base[c]["id"] for c in old]
    params = {
        "old_ids": old_ids,
        "draft": _draft_json(state, new),
        "open": list(OPEN_STATUSES),
    }
    buildings = (
        session.execute(text(read_sql("boundaries_impact_buildings.sql")), params).mappings().all()
    )
    incidents = (
        session.execute(text(read_sql("boundaries_impact_incidents.sql")), params).mappings().all()
    )
    branches = (
        session.execute(
            text(
                "SELECT o.code, o.name, a.code AS grid FROM party_org o "
                "JOIN area a ON a.id = o.area_id "
                "WHERE o.level = 'grid' AND o.area_id = ANY(:ids) ORDER BY o.code"
            ),
            {"ids": old_ids},
        )
        .mappings()
        .all()
    )
    chosen = (choices or {}).get("party_branches") or {}
    counters = (
        "households",
        "residents",
        "party_members",
        "party_orgs",
        "open_incidents",
        "buildings",
    )
    before: dict[str, dict[str, int]] = {c: dict.fromkeys(counters, 0) for c in old}
    after: dict[str, dict[str, int]] = {c: dict.fromkeys(counters, 0) for c in new}
    moves: list[dict[str, Any]] = []
    unassigned = []
    for b in buildings:
        for side, code in ((before, b["old_code"]), (after, b["new_code"])):
            if code in side:
                side[code]["buildings"] += 1
                for key in ("households", "residents", "party_members", "party_orgs"):
                    side[code][key] += int(b[key])
        if b["new_code"] is None:
            unassigned.append(b["code"])
        elif b["new_code"] != b["old_code"]:
            moves.append(
                {
                    "type": "building",
                    **{
                        k: b[k]
                        for k in (
                            "code",
                            "name",
                            "old_code",
                            "new_code",
                            "households",
                            "residents",
                            "party_members",
                        )
                    },
                }
            )
    for i in incidents:
        before[i["old_code"]]["open_incidents"] += 1
        if i["new_code"] in after:
            after[i["new_code"]]["open_incidents"] += 1
        if i["new_code"] != i["old_code"]:
            # With the case's place and category, so the page can mark it on the map.
            moves.append(
                {
                    "type": "incident",
                    **{k: i[k] for k in ("code", "category", "status", "old_code", "new_code")},
                    "lon": float(i["lon"]),
                    "lat": float(i["lat"]),
                }
            )
    branch_moves = []
    for br in branches:
        before[br["grid"]]["party_orgs"] += 1
        target = br["grid"] if br["grid"] in state.grids else chosen.get(br["grid"])
        if target in after:
            after[target]["party_orgs"] += 1
        branch_moves.append(
            {
                "type": "party_branch",
                "code": br["code"],
                "name": br["name"],
                "old_code": br["grid"],
                "new_code": target,
            }
        )
    moves.extend(dict(m) for m in branch_moves if m["new_code"] != m["old_code"])
    warnings = []
    notices: list[dict[str, Any]] = []
    for move in branch_moves:
        if move["new_code"] is None:
            warnings.append(
                f"choose where party branch {move['code']} of retired grid {move['old_code']} goes"
            )
            notices.append(
                {"key": "branch_unplaced", "branch": move["code"], "grid": move["old_code"]}
            )
    covered = {m["new_code"] for m in branch_moves if m["new_code"]}
    for code in new:
        if code not in covered:
            warnings.append(f"grid {code} would have no grid party branch (a blank spot 空白点)")
            notices.append({"key": "blank_spot", "grid": code})
    return {
        "changeset_id": draft.id,
        "retired": retired,
        "before": [{"code": c, **before[c]} for c in old],
        "after": [
            {
                "code": c,
                "name": state.grids[c].name,
                "status": "new" if state.grids[c].base_code is None else "reshaped",
                "area_m2": round(area_m2(state.grids[c].geom), 1),
                **after[c],
            }
            for c in new
        ],
        "moves": moves,
        "unassigned_buildings": unassigned,
        "warnings": warnings,
        "notices": notices,
        "required_choices": required_choices(session, draft, state),
    }


def _lock_communities(session: Session, communities: list[str]) -> None:
    for code in sorted(communities):
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": LOCK_NAMESPACE + code},
        )


def _check_base(session: Session, draft: Draft) -> None:
    now = current_grids(session, draft.community_codes)
    base = draft.base["grids"]
    changes = []
    for code in sorted(set(base) | set(now)):
        if code not in now:
            changes.append(f"{code} was retired")
        elif code not in base:
            changes.append(f"{code} was created")
        elif now[code]["id"] != base[code]["id"]:
            changes.append(
                f"{code} is now version {now[code]['version']} "
                f"(draft started from {base[code]['version']})"
            )
    if changes:
        who = session.execute(
            text(
                "SELECT committed_by, committed_at, id FROM changeset WHERE status = 'committed' "
                "AND id <> :id AND scope_code = ANY(:scopes) ORDER BY committed_at DESC LIMIT 1"
            ),
            {
                "id": draft.id,
                "scopes": [
                    *draft.community_codes,
                    draft.scope_code,
                    *{c[:9] + "000" for c in draft.community_codes},
                ],
            },
        ).first()
        by = (
            f" by {who.committed_by} in changeset {who.id} at {who.committed_at.isoformat()}"
            if who
            else ""
        )
        raise Conflict(
            f"the grids changed since this draft was opened{by}: {'; '.join(changes)}. "
            "Nothing was written; open a new draft from the current grids."
        )


def _lineage_kind(
    state: DraftState,
    old_code: str,
    new_code: str,
    successors: dict[str, set[str]],
    predecessors: dict[str, set[str]],
) -> str:
    kinds = state.touched.get(new_code, set()) | state.touched.get(old_code, set())
    if old_code not in state.grids and len(successors[old_code]) > 1:
        return "split"
    if state.grids[new_code].base_code is None and len(predecessors[new_code]) > 1:
        return "merge"
    if kinds and kinds <= {"transfer"}:
        return "transfer"
    return "reshape"


def commit(
    session: Session,
    viewer: Viewer,
    changeset_id: int,
    reason: str,
    choices: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a draft: new versions, lineage, every attached record re-pointed; all or nothing."""
    if not reason or not reason.strip():
        raise InvalidInput("say why the boundaries change (reason)", parameter="reason")
    draft = load_draft(session, viewer, changeset_id, for_update=True)
    require_open(draft)
    _lock_communities(session, draft.community_codes)
    _check_base(session, draft)
    state = draft_state(session, draft)
    old, new, retired = affected(draft, state)
    if not new and not retired:
        raise InvalidInput("the draft changes nothing; apply an operation first or discard it")
    report = validate_state(session, draft, state)
    if not report.ok:
        raise ValidationFailed(f"commit rejected: {report.errors[0].message}", report.as_list())
    chosen, plan = check_choices(session, draft, state, choices)
    base = draft.base["grids"]
    at = session.execute(text("SELECT clock_timestamp()")).scalar_one()
    old_ids = [base[c]["id"] for c in old]
    session.execute(
        text("UPDATE area SET valid_to = :at, updated_at = :at WHERE id = ANY(:ids)"),
        {"at": at, "ids": old_ids},
    )
    new_ids: dict[str, int] = {}
    new_versions: dict[str, int] = {}
    for code in new:
        grid = state.grids[code]
        inserted = session.execute(
            text(read_sql("boundaries_insert_version.sql")),
            {
                "code": code,
                "name": grid.name,
                "kind": grid.kind,
                "community": grid.community_code,
                "geom": json.dumps(mapping(as_multipolygon(grid.geom))),
                "at": at,
            },
        ).one()
        new_ids[code], new_versions[code] = int(inserted.id), int(inserted.version)
    # Lineage: overlap of every changed predecessor with every changed successor.
    pairs = (
        session.execute(
            text(read_sql("boundaries_lineage_pairs.sql")),
            {"old_ids": old_ids, "new_ids": list(new_ids.values()), "min_m2": LINEAGE_MIN_M2},
        )
        .mappings()
        .all()
    )
    id_to_code = {v: k for k, v in new_ids.items()} | {base[c]["id"]: c for c in old}
    successors: dict[str, set[str]] = defaultdict(set)
    predecessors: dict[str, set[str]] = defaultdict(set)
    for p in pairs:
        successors[id_to_code[p["predecessor_id"]]].add(id_to_code[p["successor_id"]])
        predecessors[id_to_code[p["successor_id"]]].add(id_to_code[p["predecessor_id"]])
    lineage = []
    for p in pairs:
        kind = _lineage_kind(
            state,
            id_to_code[p["predecessor_id"]],
            id_to_code[p["successor_id"]],
            successors,
            predecessors,
        )
        lineage.append({**p, "kind": kind, "changeset_id": draft.id})
    if lineage:
        session.execute(
            text(
                "INSERT INTO area_lineage (changeset_id, predecessor_id, successor_id, kind, "
                "area_share, area_m2, households_moved, buildings_moved) VALUES (:changeset_id, "
                ":predecessor_id, :successor_id, :kind, LEAST(:area_share, 1.0), :area_m2, "
                ":households_moved, :buildings_moved)"
            ),
            lineage,
        )
    repoint = {
        "old_ids": old_ids,
        "new_ids": list(new_ids.values()),
        "open": list(OPEN_STATUSES),
    }
    counts: dict[str, int] = {}
    for name in ("buildings", "incidents", "facilities"):
        result = session.execute(text(read_sql(f"boundaries_repoint_{name}.sql")), repoint)
        counts[name] = int(getattr(result, "rowcount", 0))
    stranded = session.execute(
        text("SELECT count(*) FROM building WHERE grid_id = ANY(:ids) AND valid_to IS NULL"),
        {"ids": old_ids},
    ).scalar_one()
    if stranded:
        raise InvalidInput(
            f"{stranded} buildings would fall in no grid; close the gap before committing"
        )
    area_id_of = {c: new_ids.get(c) or base[c]["id"] for c in state.grids}
    if plan is not None:
        branches = _branch_inputs(session, draft, state)[0]
        counts |= attachments.apply_branches(session, draft.id, plan, branches, area_id_of)
    else:
        # A revert: reshaped grids keep their branch, then what the reverted changeset
        # re-attached is replayed backwards onto the restored versions.
        for code in old:
            if code in new_ids:
                session.execute(
                    text(
                        "UPDATE party_org SET area_id = :new "
                        "WHERE level = 'grid' AND area_id = :old"
                    ),
                    {"new": new_ids[code], "old": base[code]["id"]},
                )
        assert draft.reverts_changeset_id is not None
        counts["replayed"] = attachments.replay_backwards(
            session, draft.reverts_changeset_id, draft.id, area_id_of
        )
    stray = session.execute(
        text(
            "SELECT string_agg(code, ', ') FROM party_org "
            "WHERE level = 'grid' AND area_id = ANY(:ids)"
        ),
        {"ids": old_ids},
    ).scalar_one()
    if stray:
        raise InvalidInput(f"party branches {stray} would serve retired grids; place them first")
    counts |= attachments.follow_buildings(session, draft.id, list(new_ids.values()))
    restored_from = _restored_versions(session, draft, [c for c in new if c not in base])
    # Staff: a reshaped grid's posts carry over to its new version, a restored grid gets the
    # posts of the version the revert brings back; new grids get the planner's choices.
    for code in new:
        source = base[code]["id"] if code in base else restored_from.get(code)
        if source is not None:
            session.execute(
                text(
                    "INSERT INTO grid_staff (area_id, person_id, role) "
                    "SELECT :new, person_id, role "
                    "FROM grid_staff WHERE area_id = :old"
                ),
                {"new": new_ids[code], "old": source},
            )
            continue
        posts: list[tuple[int, str]] = []
        chief = chosen["chiefs"].get(code)
        if chief is not None:
            posts.append((int(chief), "chief"))
        extra = chosen["staff"].get(code) or {}
        posts.extend((int(p), "worker") for p in extra.get("workers", []))
        if extra.get("instructor") is not None:
            posts.append((int(extra["instructor"]), "instructor"))
        for person, role in dict.fromkeys(posts):
            session.execute(
                text(
                    "INSERT INTO grid_staff (area_id, person_id, role) VALUES (:a, :p, :r) "
                    "ON CONFLICT DO NOTHING"
                ),
                {"a": new_ids[code], "p": person, "r": role},
            )
    session.execute(
        text(
            "INSERT INTO changeset_area (changeset_id, area_id, role) "
            "SELECT :id, unnest(CAST(:old AS bigint[])), 'retired' UNION ALL "
            "SELECT :id, unnest(CAST(:new AS bigint[])), 'created'"
        ),
        {"id": draft.id, "old": old_ids, "new": list(new_ids.values())},
    )
    who = viewer.username or viewer.role
    session.execute(
        text(
            "UPDATE changeset SET status = 'committed', committed_at = :at, committed_by = :who, "
            "reason = :why, choices = CAST(:choices AS jsonb), updated_at = :at WHERE id = :id"
        ),
        {
            "at": at,
            "who": who,
            "why": reason.strip(),
            "choices": json.dumps(chosen),
            "id": draft.id,
        },
    )
    audited = _audit(session, viewer, draft, reason.strip(), old, new)
    refresh_area_stats(session, draft.scope_code)  # counts of the new versions, same transaction
    tiles = _invalidate_tiles()
    return {
        "changeset_id": draft.id,
        "committed_at": at.isoformat(),
        "committed_by": who,
        "retired": retired,
        "created": {c: {"id": new_ids[c], "version": new_versions[c]} for c in new},
        "lineage": [
            {
                "predecessor": id_to_code[p["predecessor_id"]],
                "successor": id_to_code[p["successor_id"]],
                "kind": p["kind"],
                "area_share": round(float(p["area_share"]), 6),
                "households_moved": int(p["households_moved"]),
            }
            for p in lineage
        ],
        "repointed": counts,
        "audit": "gis.audit" if audited else "changeset",
        "tile_cache_invalidated": tiles,
    }


def _restored_versions(session: Session, draft: Draft, codes: list[str]) -> dict[str, int]:
    """{code: id of the version the reverted changeset retired} for grids a revert restores."""
    if draft.reverts_changeset_id is None or not codes:
        return {}
    rows = session.execute(
        text(
            "SELECT a.code, a.id FROM changeset_area ca JOIN area a ON a.id = ca.area_id "
            "WHERE ca.changeset_id = :cs AND ca.role = 'retired' AND a.code = ANY(:codes)"
        ),
        {"cs": draft.reverts_changeset_id, "codes": codes},
    ).all()
    return {r.code: int(r.id) for r in rows}


def _audit(
    session: Session, viewer: Viewer, draft: Draft, reason: str, old: list[str], new: list[str]
) -> bool:
    """Record who and why in gis.audit when that module exists (the changeset row always does)."""
    try:
        audit = importlib.import_module("gis.audit")
    except ImportError:
        return False
    record = getattr(audit, "record", None)
    if not callable(record):
        return False
    offered = {
        "session": session,
        "viewer": viewer,
        "actor": viewer.username,
        "action": "boundary.commit",
        "target": f"changeset:{draft.id}",
        "purpose": reason,
        "detail": {"scope": draft.scope_code, "retired_or_changed": old, "created_or_changed": new},
    }
    accepted = inspect.signature(record).parameters
    record(**{k: v for k, v in offered.items() if k in accepted})
    return True


def _invalidate_tiles() -> bool:
    """Call gis.queries.tiles.invalidate_tile_cache() when the tile module provides it."""
    try:
        tiles = importlib.import_module("gis.queries.tiles")
    except ImportError:
        return False
    invalidate = getattr(tiles, "invalidate_tile_cache", None)
    if not callable(invalidate):
        return False
    invalidate()
    return True
