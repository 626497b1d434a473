"""Boundary planning: drafts, operations, validation, impact preview, commit, revert, history.

Editing needs the planner or admin role within the viewer's scope (checked in gis.boundaries).
History endpoints are public: boundaries and aggregate counts are public information.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep
from api.errors import problem
from api.security import ViewerDep, scope_decision
from gis.boundaries import commit as commits
from gis.boundaries import drafts, history, workbench
from gis.boundaries.drafts import Draft, ValidationFailed
from gis.boundaries.geometry import parse_polygonal
from gis.boundaries.validation import repair_preview
from gis.errors import InvalidInput

router = APIRouter(tags=["plan"])

OperationKind = Literal[
    "split", "merge", "move_vertices", "reshape", "transfer", "create", "replace"
]
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class DraftIn(BaseModel):
    scope_code: str = Field(pattern=r"^[0-9]{12}$", description="a community or street code")
    title: str = Field("", max_length=200)


class DraftPatch(BaseModel):
    title: str = Field(max_length=200)


class OperationIn(BaseModel):
    """An operation: ``kind`` plus its parameters (see docs/boundaries.md)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "kind": "split",
                    "code": "620881001001001",
                    "line": {"type": "LineString", "coordinates": [[106.6, 35.2], [106.7, 35.2]]},
                },
                {"kind": "merge", "codes": ["620881001001001", "620881001001002"]},
                {"kind": "move_vertices", "moves": [{"from": [106.6, 35.2], "to": [106.61, 35.2]}]},
                {"kind": "transfer", "building_codes": ["620881B0000001"], "to": "620881001001002"},
                {"kind": "create", "building_codes": ["620881B0000001"], "buffer_m": 10},
            ]
        },
    )
    kind: OperationKind


class CommitIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the boundaries change")
    choices: dict[str, Any] | None = Field(
        None,
        description=(
            "party_branches: {retired grid code: grid code its branch goes to}; chiefs: {new grid "
            "code: person id or null}; staff: {new grid code: {workers: [ids], instructor: id}}"
        ),
    )


class GeometryIn(BaseModel):
    geometry: dict[str, Any]


def _rejected(exc: ValidationFailed) -> JSONResponse:
    return problem(400, "Invalid boundaries", exc.detail, findings=exc.findings)


def _draft_body(
    session: SessionDep, draft: Draft, findings: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    state = drafts.draft_state(session, draft)
    if findings is None:
        findings = drafts.validate_state(session, draft, state).as_list()
    return {
        "id": draft.id,
        "scope_code": draft.scope_code,
        "communities": draft.community_codes,
        "title": draft.title,
        "status": draft.status,
        "created_by": draft.created_by,
        "head": draft.head,
        "can_undo": draft.can_undo,
        "can_redo": draft.can_redo,
        "reverts_changeset_id": draft.reverts_changeset_id,
        "base_versions": {c: v["version"] for c, v in draft.base["grids"].items()},
        "operations": [
            {
                "seq": o["seq"],
                "kind": o["kind"],
                "summary": o["summary"],
                "applied": o["seq"] <= draft.head,
            }
            for o in draft.operations
        ],
        "grids": drafts.state_features(draft, state),
        "counts": workbench.grid_counts(session, draft, state),
        "findings": findings,
    }


@router.get("/plan/workbench", openapi_extra=scope_decision("scoped"))
def planner_workbench(session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """The planner's scope: streets and communities (GeoJSON) with each community's open draft."""
    return workbench.scope_overview(session, viewer)


@router.get("/plan/communities/{code}/buildings", openapi_extra=scope_decision("scoped"))
def community_buildings(
    code: Annotated[str, PathParam(pattern=r"^[0-9]{12}$")], session: SessionDep, viewer: ViewerDep
) -> dict[str, Any]:
    """Current buildings of a community with households, residents, party members and grid."""
    return workbench.community_buildings(session, viewer, code)


@router.get("/plan/drafts/{changeset_id}/staff", openapi_extra=scope_decision("scoped"))
def draft_staff(changeset_id: int, session: SessionDep, viewer: ViewerDep) -> list[dict[str, Any]]:
    """People holding posts in the draft's communities (masked names), for the staff pickers."""
    draft = drafts.load_draft(session, viewer, changeset_id)
    return workbench.staff_choices(session, viewer, draft)


@router.post("/plan/drafts", status_code=201)
def open_draft(body: DraftIn, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """Open a draft on a community or a street (its grids as they are now)."""
    draft = drafts.open_draft(session, viewer, body.scope_code, body.title)
    return _draft_body(session, draft)


@router.get("/plan/drafts")
def list_drafts(
    session: SessionDep,
    viewer: ViewerDep,
    status: Literal["draft", "committed", "discarded"] = "draft",
) -> list[dict[str, Any]]:
    """Drafts (or committed/discarded changesets) in the viewer's scope, newest first."""
    return drafts.list_drafts(session, viewer, status)


@router.get("/plan/drafts/{changeset_id}")
def get_draft(changeset_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """Resume a draft: its grids, operations (undo/redo state) and current findings."""
    return _draft_body(session, drafts.load_draft(session, viewer, changeset_id))


@router.patch("/plan/drafts/{changeset_id}")
def save_draft(
    changeset_id: int, body: DraftPatch, session: SessionDep, viewer: ViewerDep
) -> dict[str, Any]:
    """Save the draft's title (operations are saved as they are applied)."""
    return _draft_body(session, drafts.rename(session, viewer, changeset_id, body.title))


@router.delete("/plan/drafts/{changeset_id}")
def discard_draft(changeset_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """Discard a draft; nothing it contained is written to the boundaries."""
    draft = drafts.discard(session, viewer, changeset_id)
    return {"id": draft.id, "status": draft.status}


@router.post("/plan/drafts/{changeset_id}/operations", response_model=None)
def add_operation(
    changeset_id: int, body: OperationIn, session: SessionDep, viewer: ViewerDep
) -> dict[str, Any] | JSONResponse:
    """Apply an operation; rejected with findings (and nothing saved) if the result is invalid."""
    params = dict(body.model_extra or {})
    try:
        draft, _state, report = drafts.add_operation(
            session, viewer, changeset_id, body.kind, params
        )
    except ValidationFailed as exc:
        return _rejected(exc)
    return _draft_body(session, draft, report.as_list())


@router.post("/plan/drafts/{changeset_id}/upload", response_model=None)
async def upload_grids(
    changeset_id: int,
    session: SessionDep,
    viewer: ViewerDep,
    community: Annotated[str, Query(pattern=r"^[0-9]{12}$")],
    file: Annotated[UploadFile, File(description="GeoJSON or GeoPackage with the new grids")],
) -> dict[str, Any] | JSONResponse:
    """Replace a community's grids from a GeoJSON or GeoPackage (property ``code`` keeps a grid)."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput("the upload is larger than 20 MB", parameter="file")
    features = read_upload(file.filename or "", data)
    try:
        draft, _state, report = drafts.add_operation(
            session, viewer, changeset_id, "replace", {"community": community, "features": features}
        )
    except ValidationFailed as exc:
        return _rejected(exc)
    return _draft_body(session, draft, report.as_list())


def read_upload(filename: str, data: bytes) -> list[dict[str, Any]]:
    """GeoJSON features from an uploaded GeoJSON or GeoPackage, reprojected to EPSG:4326."""
    if data[:16].startswith(b"SQLite format 3"):
        import geopandas

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload.gpkg"
            path.write_bytes(data)
            try:
                frame = geopandas.read_file(path, engine="pyogrio")
            except Exception as exc:
                raise InvalidInput(f"cannot read the GeoPackage: {exc}", parameter="file") from None
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs(4326)
        collection = json.loads(frame.to_json(drop_id=True))
        return list(collection.get("features", []))
    try:
        collection = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(
            f"{filename or 'the upload'} is neither GeoJSON nor a GeoPackage", parameter="file"
        ) from None
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput("the GeoJSON must be a FeatureCollection", parameter="file")
    return list(collection.get("features") or [])


@router.post("/plan/drafts/{changeset_id}/undo")
def undo(changeset_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    return _draft_body(session, drafts.move_head(session, viewer, changeset_id, -1))


@router.post("/plan/drafts/{changeset_id}/redo")
def redo(changeset_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    return _draft_body(session, drafts.move_head(session, viewer, changeset_id, +1))


@router.get("/plan/drafts/{changeset_id}/validation")
def validation(
    changeset_id: int,
    session: SessionDep,
    viewer: ViewerDep,
    tolerance_m: Annotated[float, Query(gt=0, le=50)] = 1.0,
) -> dict[str, Any]:
    """Findings for the draft's current state (errors, warnings, compactness)."""
    draft = drafts.load_draft(session, viewer, changeset_id)
    state = drafts.draft_state(session, draft)
    report = drafts.validate_state(session, draft, state, tolerance_m)
    return {"ok": report.ok, "tolerance_m": tolerance_m, "findings": report.as_list()}


@router.get("/plan/drafts/{changeset_id}/impact")
def impact(changeset_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """Before/after households, residents, members, party orgs, open incidents; what moves."""
    return commits.impact(session, viewer, changeset_id)


@router.post("/plan/drafts/{changeset_id}/commit", response_model=None)
def commit_draft(
    changeset_id: int, body: CommitIn, session: SessionDep, viewer: ViewerDep
) -> dict[str, Any] | JSONResponse:
    """Write the draft atomically; 409 if the community changed since the draft was opened."""
    try:
        return commits.commit(session, viewer, changeset_id, body.reason, body.choices)
    except ValidationFailed as exc:
        return _rejected(exc)


@router.post("/plan/changesets/{changeset_id}/revert", status_code=201)
def revert(changeset_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """Open a new draft that undoes a committed changeset (commit it like any draft)."""
    draft = history.revert(session, viewer, changeset_id)
    body = _draft_body(session, draft)
    body["impact"] = commits.impact(session, viewer, draft.id)
    return body


@router.post("/plan/repair-preview")
def repair(body: GeometryIn, viewer: ViewerDep) -> dict[str, Any]:
    """What make_valid would make of an invalid polygon (a preview; nothing is saved)."""
    del viewer  # public: a pure geometry computation on the caller's own input
    geom = parse_polygonal(body.geometry, "geometry", require_valid=False)
    return repair_preview(geom)


def _parse_time(value: str | None, name: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO 8601 time, e.g. 2026-03-01T00:00:00Z", parameter=name
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/history/areas")
def areas_as_of(
    session: SessionDep,
    viewer: ViewerDep,
    as_of: Annotated[str | None, Query(description="ISO 8601 time; default now")] = None,
    level: Literal["district", "street", "community", "grid"] = "grid",
    within: Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$")] = None,
) -> JSONResponse:
    """Areas of one level as they were at ``as_of`` (GeoJSON)."""
    body = history.areas_as_of(session, viewer, _parse_time(as_of, "as_of"), level, within)
    return JSONResponse(
        json.loads(json.dumps(body, default=str)), media_type="application/geo+json"
    )


@router.get(
    "/history/areas.gpkg",
    response_class=Response,
    responses={200: {"content": {"application/geopackage+sqlite3": {}}}},
    openapi_extra=scope_decision("public"),
)
def areas_as_of_geopackage(
    session: SessionDep,
    viewer: ViewerDep,
    as_of: Annotated[str | None, Query(description="ISO 8601 time; default now")] = None,
    level: Literal["district", "street", "community", "grid"] = "grid",
    within: Annotated[str | None, Query(pattern=r"^[0-9]{6,15}$")] = None,
) -> Response:
    """The areas of one level as they were at ``as_of`` (default now) as a GeoPackage."""
    del viewer  # boundaries are public, as in /history/areas
    instant = _parse_time(as_of, "as_of")
    try:
        stamp = instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    except OverflowError:  # an instant at the very edge of the calendar
        stamp = "as_of"
    name = f"{level}s" + (f"_{within}" if within else "") + f"_{stamp}.gpkg"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        history.areas_geopackage(session, instant, path, level, within)
        data = path.read_bytes()
    return Response(
        data,
        media_type="application/geopackage+sqlite3",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/history/buildings/{code}")
def building_as_of(
    code: str, session: SessionDep, viewer: ViewerDep, as_of: str | None = None
) -> dict[str, Any]:
    """Which grid (version) a building was in at ``as_of``, and that version's chief."""
    del viewer  # boundaries and posts are public; the chief's person record is not returned
    return history.building_grid_as_of(session, code, _parse_time(as_of, "as_of"))


@router.get("/history/diff")
def diff(
    session: SessionDep,
    viewer: ViewerDep,
    from_: Annotated[str, Query(alias="from")],
    to: str | None = None,
) -> dict[str, Any]:
    """Which grids changed between two times, how (lineage), and what moved."""
    del viewer
    return history.diff(session, _parse_time(from_, "from"), _parse_time(to, "to"))


@router.get(
    "/plan/changesets/{changeset_id}/export.gpkg",
    response_class=Response,
    responses={200: {"content": {"application/geopackage+sqlite3": {}}}},
    openapi_extra=scope_decision("public"),
)
def export_changeset(changeset_id: int, session: SessionDep, viewer: ViewerDep) -> Response:
    """A committed changeset as a GeoPackage: retired and created grids, lineage, who/when/why."""
    del viewer  # boundaries, lineage and the changeset record are public, as in /history
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"changeset-{changeset_id}.gpkg"
        history.changeset_geopackage(session, changeset_id, path)
        data = path.read_bytes()
    return Response(
        data,
        media_type="application/geopackage+sqlite3",
        headers={"Content-Disposition": f'attachment; filename="changeset-{changeset_id}.gpkg"'},
    )


@router.get("/history/lineage/{code}")
def lineage(code: str, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """Every version of a grid and its predecessors and successors."""
    del viewer
    return history.lineage(session, code)
