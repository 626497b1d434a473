"""Drafts (changesets being edited): open, apply operations, undo/redo, resume, discard.

A draft stores the grid versions it started from and the list of operations; its state is the
base replayed through operations ``1..head``. Every operation's input is stored complete (line,
geometry, building footprints), so replay is pure and deterministic. An operation is stored only
if the state after it passes validation; otherwise it is rejected with the findings and nothing
is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.boundaries import operations as ops
from gis.boundaries.operations import DraftGrid, DraftState
from gis.boundaries.validation import (
    DEFAULT_TOLERANCE_M,
    BuildingShape,
    GridShape,
    Report,
    validate,
)
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.scope import Viewer

EDITOR_ROLES = frozenset({"planner", "admin"})


class ValidationFailed(InvalidInput):
    """An operation or commit would leave an invalid partition; ``findings`` say where."""

    def __init__(self, detail: str, findings: list[dict[str, Any]]) -> None:
        super().__init__(detail, key="findings")
        self.findings = findings


def require_editor(viewer: Viewer, scope_code: str) -> None:
    """Editing boundaries needs the planner or admin role, within the viewer's scope."""
    if viewer.role not in EDITOR_ROLES:
        raise Forbidden("editing grid boundaries needs the planner or admin role")
    if not viewer.covers(scope_code):
        raise Forbidden(f"area {scope_code} is outside your scope ({viewer.scope_code})")


@dataclass
class Draft:
    id: int
    scope_code: str
    title: str
    status: str
    base: dict[str, Any]
    head: int
    created_by: str
    operations: list[dict[str, Any]]
    reverts_changeset_id: int | None = None

    @property
    def community_codes(self) -> list[str]:
        return sorted(self.base["communities"])

    @property
    def can_undo(self) -> bool:
        return self.head > 0

    @property
    def can_redo(self) -> bool:
        return self.head < len(self.operations)


def _scope_communities(session: Session, scope_code: str) -> dict[str, int]:
    rows = session.execute(
        text(
            """
            SELECT c.code, c.id FROM area c JOIN area p ON p.id = c.parent_id
            WHERE c.level = 'community' AND c.valid_to IS NULL
              AND (c.code = :scope OR (p.code = :scope AND p.level = 'street'))
            ORDER BY c.code
            """
        ),
        {"scope": scope_code},
    ).all()
    if not rows:
        raise NotFound(f"no current community or street with code {scope_code}")
    return {r.code: int(r.id) for r in rows}


def current_grids(session: Session, community_codes: list[str]) -> dict[str, dict[str, int]]:
    """{code: {id, version}} of the current grids of these communities."""
    rows = session.execute(
        text(
            """
            SELECT g.code, g.id, g.version FROM area g JOIN area c ON c.id = g.parent_id
            WHERE g.level = 'grid' AND g.valid_to IS NULL AND c.code = ANY(:codes)
            ORDER BY g.code
            """
        ),
        {"codes": community_codes},
    ).all()
    return {r.code: {"id": int(r.id), "version": int(r.version)} for r in rows}


def next_sequences(session: Session, community_codes: list[str]) -> dict[str, int]:
    """Next free grid sequence per community, over every version ever (codes never reused)."""
    rows = session.execute(
        text(
            """
            SELECT left(code, 12) AS community, max(right(code, 3)::int) AS top
            FROM area WHERE level = 'grid' AND left(code, 12) = ANY(:codes)
            GROUP BY 1
            """
        ),
        {"codes": community_codes},
    ).all()
    top = {r.community: int(r.top) for r in rows}
    return {c: top.get(c, 0) + 1 for c in community_codes}


def _base(session: Session, scope_code: str) -> dict[str, Any]:
    communities = _scope_communities(session, scope_code)
    return {
        "communities": communities,
        "grids": current_grids(session, list(communities)),
        "next_seq": next_sequences(session, list(communities)),
    }


def unsaved_draft(session: Session, scope_code: str) -> Draft:
    """A draft of the current grids that is not stored (id 0): for checks that write nothing."""
    return Draft(0, scope_code, "", "draft", _base(session, scope_code), 0, "", [])


def open_draft(
    session: Session, viewer: Viewer, scope_code: str, title: str = "", revert_of: int | None = None
) -> Draft:
    require_editor(viewer, scope_code)
    base = _base(session, scope_code)
    new_id = session.execute(
        text(
            """
            INSERT INTO changeset (scope_code, title, base, created_by, reverts_changeset_id)
            VALUES (:scope, :title, CAST(:base AS jsonb), :who, :revert) RETURNING id
            """
        ),
        {
            "scope": scope_code,
            "title": title[:200],
            "base": json.dumps(base),
            "who": viewer.username or viewer.role,
            "revert": revert_of,
        },
    ).scalar_one()
    return load_draft(session, viewer, int(new_id))


def load_draft(
    session: Session, viewer: Viewer, changeset_id: int, *, for_update: bool = False
) -> Draft:
    lock = " FOR UPDATE" if for_update else ""
    row = session.execute(
        text(
            "SELECT id, scope_code, title, status, base, head, created_by, reverts_changeset_id "
            f"FROM changeset WHERE id = :id{lock}"
        ),
        {"id": changeset_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no changeset {changeset_id}")
    require_editor(viewer, row.scope_code)
    operations = [
        {"seq": r.seq, "kind": r.kind, "params": r.params, "summary": r.summary}
        for r in session.execute(
            text(
                "SELECT seq, kind, params, summary FROM changeset_operation "
                "WHERE changeset_id = :id ORDER BY seq"
            ),
            {"id": changeset_id},
        )
    ]
    return Draft(
        int(row.id),
        row.scope_code,
        row.title,
        row.status,
        row.base,
        int(row.head),
        row.created_by,
        operations,
        row.reverts_changeset_id,
    )


def require_open(draft: Draft) -> None:
    if draft.status != "draft":
        raise InvalidInput(f"changeset {draft.id} is {draft.status}; open a new draft to edit")


def base_state(session: Session, draft: Draft) -> DraftState:
    """The grids the draft started from (by version id, so later commits do not leak in)."""
    ids = [g["id"] for g in draft.base["grids"].values()]
    rows = session.execute(
        text(
            """
            SELECT g.code, g.name, g.kind, c.code AS community, ST_AsBinary(g.geom) AS wkb
            FROM area g JOIN area c ON c.id = g.parent_id WHERE g.id = ANY(:ids)
            """
        ),
        {"ids": ids},
    ).all()
    communities = session.execute(
        text("SELECT code, ST_AsBinary(geom) AS wkb FROM area WHERE id = ANY(:ids)"),
        {"ids": list(draft.base["communities"].values())},
    ).all()
    state = DraftState(
        communities={r.code: shapely.from_wkb(bytes(r.wkb)) for r in communities},
        grids={
            r.code: DraftGrid(
                r.code,
                r.name,
                r.kind,
                r.community,
                ops.polygonal(shapely.from_wkb(bytes(r.wkb))),
                r.code,
            )
            for r in rows
        },
        next_seq=dict(draft.base["next_seq"]),
    )
    state.original = {code: grid.geom for code, grid in state.grids.items()}
    state.original_attrs = {code: (grid.name, grid.kind) for code, grid in state.grids.items()}
    for community in state.communities:
        ops.node(state, community)
    return state


def apply(state: DraftState, kind: str, params: dict[str, Any]) -> tuple[DraftState, str]:
    """Apply one stored operation to a state (pure)."""
    if kind == "split":
        return ops.split(state, params["code"], params["line"], params.get("names"))
    if kind == "merge":
        return ops.merge(state, params["codes"], params.get("name"))
    if kind == "move_vertices":
        return ops.move_vertices(state, params["moves"])
    if kind == "reshape":
        return ops.reshape(state, params["code"], params["geometry"])
    if kind == "transfer":
        buildings = [
            (b["code"], shapely.geometry.shape(b["geometry"]), b["grid"])
            for b in params["buildings"]
        ]
        return ops.transfer(state, params["to"], buildings)
    if kind == "create":
        buildings = [
            (b["code"], shapely.geometry.shape(b["geometry"]), b["grid"])
            for b in params["buildings"]
        ]
        return ops.create(state, buildings, params["buffer_m"], params.get("name"))
    if kind in {"replace", "revert"}:
        return ops.replace(
            state,
            params["community"],
            params["features"],
            params.get("restore_codes", ()),
            kind_label=kind,
        )
    raise InvalidInput(f"unknown operation {kind}; use one of {', '.join(ops.OPERATION_KINDS)}")


def draft_state(session: Session, draft: Draft, upto: int | None = None) -> DraftState:
    state = base_state(session, draft)
    for op in draft.operations[: draft.head if upto is None else upto]:
        state, _ = apply(state, op["kind"], op["params"])
    return state


def scope_buildings(session: Session, draft: Draft) -> list[BuildingShape]:
    """Current buildings of the draft's communities (index-bounded) with household counts."""
    rows = session.execute(
        text(
            """
            SELECT b.code, ST_AsBinary(b.geom) AS wkb, ST_AsBinary(b.anchor) AS anchor,
                   (SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households
            FROM building b JOIN area c ON c.id = ANY(:ids) AND b.geom && c.geom
                 AND ST_Intersects(c.geom, b.anchor)
            WHERE b.valid_to IS NULL
            """
        ),
        {"ids": list(draft.base["communities"].values())},
    ).all()
    return [
        BuildingShape(
            r.code,
            shapely.from_wkb(bytes(r.wkb)),
            int(r.households),
            shapely.from_wkb(bytes(r.anchor)),
        )
        for r in rows
    ]


def validate_state(
    session: Session, draft: Draft, state: DraftState, tolerance_m: float = DEFAULT_TOLERANCE_M
) -> Report:
    grids = [GridShape(g.code, g.community_code, g.geom) for g in state.grids.values()]
    return validate(state.communities, grids, scope_buildings(session, draft), tolerance_m)


def _prepare_params(
    session: Session, draft: Draft, state: DraftState, kind: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Complete an operation's input so replay needs no database (e.g. building footprints)."""
    if kind in ("transfer", "create"):
        codes = params.get("building_codes") or []
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            raise InvalidInput(
                f"{kind} needs building_codes: a list of building codes",
                parameter="building_codes",
            )
        rows = session.execute(
            text(
                "SELECT code, ST_AsGeoJSON(geom, 9) AS g, ST_AsBinary(anchor) AS a FROM building "
                "WHERE code = ANY(:codes) AND valid_to IS NULL"
            ),
            {"codes": codes},
        ).all()
        found = {r.code: r for r in rows}
        missing = [c for c in codes if c not in found]
        if missing:
            raise InvalidInput(f"no current building with code {', '.join(missing)}")
        buildings = []
        for code in codes:
            anchor = shapely.from_wkb(bytes(found[code].a))
            owner = next((g.code for g in state.grids.values() if g.geom.covers(anchor)), None)
            if owner is None:
                raise InvalidInput(f"building {code} is outside this draft's scope")
            buildings.append({"code": code, "geometry": json.loads(found[code].g), "grid": owner})
        if kind == "create":
            buffer_m = params.get("buffer_m", ops.CREATE_BUFFER_M)
            return {"buildings": buildings, "buffer_m": buffer_m, "name": params.get("name")}
        return {"to": params.get("to"), "buildings": buildings}
    if kind == "split" and not params.get("code") and params.get("line"):
        # The page sends only the line: the grid is the one it divides (never a click-selection).
        divided = ops.grids_divided_by(state, params["line"])
        if len(divided) != 1:
            key = "split_none" if not divided else "split_many"
            raise InvalidInput(
                "the line divides no grid: draw it across one grid, from outside its edge to "
                "outside the opposite edge"
                if not divided
                else f"the line divides grids {', '.join(divided)}; draw it across one grid only",
                parameter="line",
                key=key,
                values={"grids": divided},
            )
        return {**params, "code": divided[0]}
    if kind not in ops.OPERATION_KINDS or kind == "revert":
        raise InvalidInput(
            f"unknown operation {kind}; use one of split, merge, move_vertices, reshape, "
            "transfer, create, replace",
            parameter="kind",
        )
    return params


def _check_params(kind: str, params: dict[str, Any]) -> None:
    required = {
        "split": ("code", "line"),
        "merge": ("codes",),
        "move_vertices": ("moves",),
        "reshape": ("code", "geometry"),
        "transfer": ("to", "buildings"),
        "create": ("buildings",),
        "replace": ("community", "features"),
        "revert": ("community", "features"),
    }[kind]
    missing = [k for k in required if params.get(k) in (None, "", [])]
    if missing:
        raise InvalidInput(f"operation {kind} needs {', '.join(missing)}", parameter=missing[0])


def add_operation(
    session: Session, viewer: Viewer, changeset_id: int, kind: str, params: dict[str, Any]
) -> tuple[Draft, DraftState, Report]:
    """Apply an operation; store it only if the result validates (errors → nothing written)."""
    draft = load_draft(session, viewer, changeset_id, for_update=True)
    require_open(draft)
    state = draft_state(session, draft)
    params = _prepare_params(session, draft, state, kind, dict(params))
    _check_params(kind, params)
    return _store(session, viewer, draft, state, kind, params)


def _store(
    session: Session,
    viewer: Viewer,
    draft: Draft,
    state: DraftState,
    kind: str,
    params: dict[str, Any],
) -> tuple[Draft, DraftState, Report]:
    new_state, summary = apply(state, kind, params)
    report = validate_state(session, draft, new_state)
    if not report.ok:
        first = report.errors[0]
        raise ValidationFailed(
            f"{kind} rejected: {first.message}"
            + (f" (and {len(report.errors) - 1} more errors)" if len(report.errors) > 1 else ""),
            report.as_list(),
        )
    # A new operation after undo discards the undone ones (no branching history in a draft).
    session.execute(
        text("DELETE FROM changeset_operation WHERE changeset_id = :id AND seq > :head"),
        {"id": draft.id, "head": draft.head},
    )
    session.execute(
        text(
            "INSERT INTO changeset_operation (changeset_id, seq, kind, params, summary) "
            "VALUES (:id, :seq, :kind, CAST(:params AS jsonb), :summary)"
        ),
        {
            "id": draft.id,
            "seq": draft.head + 1,
            "kind": kind,
            "params": json.dumps(params),
            "summary": summary,
        },
    )
    session.execute(
        text("UPDATE changeset SET head = head + 1, updated_at = now() WHERE id = :id"),
        {"id": draft.id},
    )
    return load_draft(session, viewer, draft.id), new_state, report


def move_head(session: Session, viewer: Viewer, changeset_id: int, step: int) -> Draft:
    """Undo (step -1) or redo (step +1)."""
    draft = load_draft(session, viewer, changeset_id, for_update=True)
    require_open(draft)
    target = draft.head + step
    if target < 0:
        raise InvalidInput("nothing to undo")
    if target > len(draft.operations):
        raise InvalidInput("nothing to redo")
    session.execute(
        text("UPDATE changeset SET head = :head, updated_at = now() WHERE id = :id"),
        {"id": draft.id, "head": target},
    )
    return load_draft(session, viewer, changeset_id)


def discard(session: Session, viewer: Viewer, changeset_id: int) -> Draft:
    draft = load_draft(session, viewer, changeset_id, for_update=True)
    require_open(draft)
    session.execute(
        text("UPDATE changeset SET status = 'discarded', updated_at = now() WHERE id = :id"),
        {"id": draft.id},
    )
    return load_draft(session, viewer, changeset_id)


def rename(session: Session, viewer: Viewer, changeset_id: int, title: str) -> Draft:
    draft = load_draft(session, viewer, changeset_id, for_update=True)
    require_open(draft)
    session.execute(
        text("UPDATE changeset SET title = :t, updated_at = now() WHERE id = :id"),
        {"id": draft.id, "t": title[:200]},
    )
    return load_draft(session, viewer, changeset_id)


def list_drafts(session: Session, viewer: Viewer, status: str = "draft") -> list[dict[str, Any]]:
    if viewer.role not in EDITOR_ROLES or viewer.scope_like is None:
        raise Forbidden("listing drafts needs the planner or admin role")
    rows = session.execute(
        text(
            """
            SELECT id, scope_code, title, status, head, created_by, created_at, updated_at,
                   committed_at, committed_by, reason
            FROM changeset WHERE status = :status AND scope_code LIKE :scope
            ORDER BY updated_at DESC LIMIT 200
            """
        ),
        {"status": status, "scope": viewer.scope_like},
    ).mappings()
    return [dict(r) for r in rows]


def state_features(draft: Draft, state: DraftState) -> dict[str, Any]:
    """The draft's grids as GeoJSON, each marked unchanged / reshaped / new."""
    base_versions = draft.base["grids"]
    features = []
    for grid in sorted(state.grids.values(), key=lambda g: g.code):
        if grid.base_code is None:
            status = "new"
        elif state.changed(grid.code):
            status = "reshaped"
        else:
            status = "unchanged"
        features.append(
            {
                "type": "Feature",
                "id": grid.code,
                "geometry": mapping(grid.geom),
                "properties": {
                    "code": grid.code,
                    "name": grid.name,
                    "kind": grid.kind,
                    "community_code": grid.community_code,
                    "status": status,
                    "base_version": base_versions.get(grid.code, {}).get("version"),
                },
            }
        )
    retired = sorted(set(base_versions) - set(state.grids))
    return {"type": "FeatureCollection", "features": features, "retired": retired}
