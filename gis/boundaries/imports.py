"""Grid re-imports written by the boundary editor's writer.

A file of grids (``gridgov import grids``) is, per community, the editor's ``replace`` operation:
grids of the file take the place of the current ones with the same code, grids with a new code
join, grids the file does not mention stay as they are (an import updates by code; it never
retires a grid). Each community with a change becomes one committed changeset, written by
:func:`gis.boundaries.commit.commit` — the same validation (coverage, buildings), the same new
versions, lineage rows and re-pointing of buildings, open incidents and facilities, the same
audit — so the history shows a re-import exactly like an edit on ``/plan``.

:func:`check` runs the validation without writing (the dry run); :func:`apply` writes.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.boundaries import operations as ops
from gis.boundaries.commit import commit
from gis.boundaries.drafts import (
    EDITOR_ROLES,
    _store,
    base_state,
    draft_state,
    open_draft,
    unsaved_draft,
    validate_state,
)
from gis.boundaries.geometry import location_of
from gis.boundaries.operations import DraftState
from gis.boundaries.validation import ERROR, WARNING, Finding, GridShape, check_coverage
from gis.errors import Forbidden, NotFound
from gis.scope import Viewer

# The operator of the command line has the database in hand; it edits as an administrator of
# the district it imports into.
MACHINE_OPERATOR_ROLE = "cli"


@dataclass
class CommunityPlan:
    """What one community's grids become: the state after the file is applied, and its report."""

    community: str
    features: list[dict[str, Any]]
    given: list[str]
    new_codes: list[str]
    state: DraftState
    findings: list[Finding]

    @property
    def changed(self) -> list[str]:
        return sorted(c for c in self.state.grids if self.state.changed(c))


def _features(
    records: Sequence[Mapping[str, Any]], state: DraftState, community: str
) -> list[dict[str, Any]]:
    """The file's grids as features, their vertices snapped to the current ones within 1 mm.

    A file that went through another CRS and back (or a desktop GIS) moves every vertex by a
    fraction of a millimetre; without snapping, an edge shared with a grid the file leaves
    alone would no longer coincide with it, and an unchanged grid would look changed.
    """
    current = [g.geom for g in state.grids.values() if g.community_code == community]
    vertices = shapely.MultiPoint(shapely.get_coordinates(shapely.GeometryCollection(current)))
    features = []
    for r in records:
        geom = shapely.from_wkb(bytes.fromhex(r["wkb"]))
        snapped = shapely.snap(geom, vertices, ops.UNCHANGED_DEG) if current else geom
        before = state.grids.get(str(r["code"]))
        if before is not None and shapely.hausdorff_distance(snapped, before.geom) <= (
            ops.UNCHANGED_DEG
        ):
            snapped = before.geom
        features.append(
            {
                "type": "Feature",
                "properties": {"code": r["code"], "name": r["name"], "kind": r["kind"]},
                "geometry": mapping(snapped if shapely.is_valid(snapped) else geom),
            }
        )
    return features


def _plans(session: Session, records: Sequence[Mapping[str, Any]]) -> list[CommunityPlan]:
    by_community: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_community[str(record["parent"])].append(record)
    plans = []
    for community, rows in sorted(by_community.items()):
        draft = unsaved_draft(session, community)
        state = base_state(session, draft)
        current = {c for c, g in state.grids.items() if g.community_code == community}
        given = {str(r["code"]) for r in rows}
        # Grids the file does not name keep their current outline.
        kept = [
            {
                "type": "Feature",
                "properties": {"code": code},
                "geometry": mapping(state.grids[code].geom),
            }
            for code in sorted(current - given)
        ]
        features = _features(rows, state, community) + kept
        new_codes = sorted(given - current)
        after, _ = ops.replace(state, community, features, new_codes, kind_label="replace")
        report = validate_state(session, draft, after)
        plans.append(
            CommunityPlan(community, features, sorted(given), new_codes, after, report.findings)
        )
    return plans


# A grid the file leaves out but whose area its grids take over (more than this share) is one the
# file means to retire: said so plainly, rather than only as an overlap.
ABSORBED_SHARE = 0.5


def check(session: Session, records: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """The editor's findings for the grids after the import (nothing is written).

    Errors refuse the import. Warnings and notes concern only grids the file changes or adds,
    so a re-import is not drowned in remarks about grids it leaves alone.
    """
    findings: list[Finding] = []
    for plan in _plans(session, records):
        touched = set(plan.changed)
        findings.extend(_absorbed(session, plan))
        findings.extend(
            f
            for f in plan.findings
            if f.severity == ERROR or (f.severity != "info" and set(f.grids) & touched)
        )
    return findings


def _absorbed(session: Session, plan: CommunityPlan) -> list[Finding]:
    """Grids the file would retire: not named in it, mostly covered by the grids it gives.

    An import updates by code and never retires a grid, because a retired grid's party branch
    (网格党支部), staff and lineage need the planner's choices, which a file cannot carry. Such a
    file (two grids merged in a desktop GIS, one feature left) is refused with what to do: merge
    or split on /plan, where the branch is placed — so no branch is ever orphaned by an import.
    """
    given = set(plan.given)
    union = shapely.union_all([plan.state.grids[c].geom for c in given if c in plan.state.grids])
    out = []
    for code, grid in sorted(plan.state.grids.items()):
        if code in given or grid.community_code != plan.community or grid.geom.area <= 0:
            continue
        share = float(grid.geom.intersection(union).area / grid.geom.area)
        if share <= ABSORBED_SHARE:
            continue
        branch = session.execute(
            text(
                "SELECT o.code, o.name FROM party_org o JOIN area a ON a.id = o.area_id "
                "WHERE o.level = 'grid' AND a.code = :code AND a.valid_to IS NULL"
            ),
            {"code": code},
        ).first()
        owners = sorted(c for c in given if plan.state.grids[c].geom.intersects(grid.geom))
        held = f" and its grid party branch {branch.code} {branch.name}" if branch else ""
        out.append(
            Finding(
                "absorbed",
                ERROR,
                f"grid {code} is not in the file but the file's grid(s) {', '.join(owners)} cover "
                f"{share:.0%} of it: an import never retires a grid. Merge or split it in the "
                f"boundary editor (/plan), where its staff{held} are placed, then import again "
                f"(or add grid {code} to the file with its remaining outline)",
                location_of(grid.geom),
                (code, *owners),
                value=round(share, 4),
                subject=branch.code if branch else None,
            )
        )
    return out


def check_community_outlines(
    session: Session, records: Sequence[Mapping[str, Any]]
) -> list[tuple[str, Finding]]:
    """(community, finding) where its current grids would not partition its re-imported outline.

    Reported as warnings, not errors: a community that grows or shrinks is imported first and
    its grids next (their import is checked against the new outline), so the gap or overhang
    is expected in between — but the operator must hear about it.
    """
    findings: list[tuple[str, Finding]] = []
    for record in records:
        code = str(record["code"])
        try:
            draft = unsaved_draft(session, code)
        except NotFound:
            continue  # a new community has no grids yet
        state = base_state(session, draft)
        grids = [GridShape(g.code, code, g.geom) for g in state.grids.values()]
        if not grids:
            continue
        outline = shapely.from_wkb(bytes.fromhex(record["wkb"]))
        for finding in check_coverage(code, outline, grids):
            if finding.code in {"gap", "outside_community"}:
                message = f"{finding.message}; import the grids of {code} next to cover it again"
                findings.append(
                    (code, dataclasses.replace(finding, severity=WARNING, message=message))
                )
    return findings


def _editor(operator: Viewer, community: str) -> Viewer:
    if operator.role in EDITOR_ROLES and operator.covers(community):
        return operator
    if operator.role == MACHINE_OPERATOR_ROLE:
        return Viewer(operator.username or MACHINE_OPERATOR_ROLE, "admin", community[:6])
    raise Forbidden("importing grids needs the planner or admin role within the area")


def apply(
    session: Session, operator: Viewer, records: Sequence[Mapping[str, Any]], reason: str
) -> dict[str, Any]:
    """Write the grids of ``records``: one committed changeset per community that changes.

    Returns the counts (inserted/updated/unchanged, by the file's rows) and the changesets.
    Raises what the editor raises (``ValidationFailed``, ``Conflict``, ``InvalidInput``); the
    caller rolls back.
    """
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    changesets: list[dict[str, Any]] = []
    for plan in _plans(session, records):
        changed = set(plan.changed)
        for code in plan.given:
            if code in plan.new_codes:
                counts["inserted"] += 1
            elif code in changed:
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        if not changed:
            continue
        editor = _editor(operator, plan.community)
        draft = open_draft(session, editor, plan.community, title=f"导入 {reason}"[:200])
        params = {
            "community": plan.community,
            "features": plan.features,
            "restore_codes": plan.new_codes,
        }
        _store(session, editor, draft, draft_state(session, draft), "replace", params)
        result = commit(
            session,
            editor,
            draft.id,
            reason,
            # New grids start with the chief's post vacant and no party branch: the import
            # confirms them as blank spots (党建空白点), which the result and history show.
            {"chiefs": dict.fromkeys(plan.new_codes), "blank_grids": plan.new_codes},
        )
        changesets.append(result)
    return {"area": counts, "changesets": changesets}
