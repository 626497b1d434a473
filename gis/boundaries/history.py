"""History of boundaries: any layer as of a time, a diff between two times, a grid's lineage,
and revert of a committed changeset (as a new draft).

Area rows are versions with ``[valid_from, valid_to)`` periods, so "as of t" is a period
predicate; lineage rows link versions across codes (split, merge) and within one (reshape).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.boundaries.drafts import Draft, _store, current_grids, draft_state, open_draft
from gis.errors import Conflict, InvalidInput, NotFound
from gis.scope import Viewer

LEVELS = ("district", "street", "community", "grid")
AS_OF = "a.valid_from <= :t AND (a.valid_to IS NULL OR a.valid_to > :t)"


def areas_as_of(
    session: Session,
    viewer: Viewer,
    as_of: datetime,
    level: str = "grid",
    within: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """The areas of one level as they were at ``as_of`` (boundaries are public), with chiefs'
    person ids of grid versions (names are personal data and are not returned here)."""
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", parameter="level")
    w, s, e, n = bbox if bbox else (None, None, None, None)
    features = session.execute(
        text(
            f"""
            SELECT coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', a.code || '@' || a.version,
                'geometry', ST_AsGeoJSON(a.geom, 9)::json,
                'properties', json_build_object(
                    'code', a.code, 'name', a.name, 'level', a.level, 'kind', a.kind,
                    'version', a.version, 'version_id', a.id, 'parent_code', p.code,
                    'valid_from', a.valid_from, 'valid_to', a.valid_to,
                    'chief_person_id', (SELECT s.person_id FROM grid_staff s
                                        WHERE s.area_id = a.id AND s.role = 'chief'))
            ) ORDER BY a.code), '[]'::json)
            FROM area a LEFT JOIN area p ON p.id = a.parent_id
            WHERE a.level = :level AND {AS_OF}
              AND (CAST(:within AS text) IS NULL OR a.code LIKE :within || '%')
              AND (CAST(:w AS float8) IS NULL OR a.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326))
            """
        ),
        {"level": level, "t": as_of, "within": within, "w": w, "s": s, "e": e, "n": n},
    ).scalar_one()
    return {"type": "FeatureCollection", "as_of": as_of.isoformat(), "features": features}


def building_grid_as_of(session: Session, building_code: str, as_of: datetime) -> dict[str, Any]:
    """Which grid version contained a building's point on surface at ``as_of``."""
    row = (
        session.execute(
            text(
                f"""
            SELECT a.code, a.name, a.version, a.id, a.valid_from, a.valid_to,
                   (SELECT s.person_id FROM grid_staff s WHERE s.area_id = a.id
                    AND s.role = 'chief') AS chief_person_id
            FROM building b JOIN area a ON a.level = 'grid' AND a.geom && b.anchor
                 AND ST_Covers(a.geom, b.anchor) AND {AS_OF}
            WHERE b.code = :code AND b.valid_from <= :t AND (b.valid_to IS NULL OR b.valid_to > :t)
            ORDER BY a.code LIMIT 1
            """
            ),
            {"code": building_code, "t": as_of},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound(f"building {building_code} was in no grid at {as_of.isoformat()}")
    return {"building": building_code, "as_of": as_of.isoformat(), "grid": dict(row)}


def diff(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """What changed between two times: changesets, grid versions retired/created, lineage."""
    if end <= start:
        raise InvalidInput("'to' must be later than 'from'", parameter="to")
    changesets = (
        session.execute(
            text(
                """
            SELECT c.id, c.scope_code, c.title, c.committed_at, c.committed_by, c.reason,
                   c.reverts_changeset_id,
                   coalesce((SELECT json_agg(json_build_object(
                        'predecessor', p.code, 'predecessor_version', p.version,
                        'successor', s.code, 'successor_version', s.version,
                        'kind', l.kind, 'area_share', round(l.area_share::numeric, 6),
                        'households_moved', l.households_moved,
                        'buildings_moved', l.buildings_moved) ORDER BY p.code, s.code)
                     FROM area_lineage l JOIN area p ON p.id = l.predecessor_id
                     JOIN area s ON s.id = l.successor_id WHERE l.changeset_id = c.id),
                    '[]'::json) AS lineage,
                   coalesce((SELECT json_agg(json_build_object('code', a.code,
                        'version', a.version, 'role', ca.role) ORDER BY ca.role, a.code)
                     FROM changeset_area ca JOIN area a ON a.id = ca.area_id
                     WHERE ca.changeset_id = c.id), '[]'::json) AS areas
            FROM changeset c
            WHERE c.status = 'committed' AND c.committed_at > :start AND c.committed_at <= :end
            ORDER BY c.committed_at
            """
            ),
            {"start": start, "end": end},
        )
        .mappings()
        .all()
    )
    grids = (
        session.execute(
            text(
                """
            SELECT a.code, a.version, a.level,
                   (a.valid_from > :start AND a.valid_from <= :end) AS created,
                   (a.valid_to IS NOT NULL AND a.valid_to > :start AND a.valid_to <= :end)
                       AS retired
            FROM area a
            WHERE (a.valid_from > :start AND a.valid_from <= :end)
               OR (a.valid_to > :start AND a.valid_to <= :end)
            ORDER BY a.code, a.version
            """
            ),
            {"start": start, "end": end},
        )
        .mappings()
        .all()
    )
    codes_before = {r["code"] for r in grids if r["retired"]}
    codes_after = {r["code"] for r in grids if r["created"]}
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "added": sorted(codes_after - codes_before),
        "removed": sorted(codes_before - codes_after),
        "reshaped": sorted(codes_before & codes_after),
        "versions": [dict(r) for r in grids],
        "changesets": [
            {**dict(r), "committed_at": r["committed_at"].isoformat()} for r in changesets
        ],
    }


def lineage(session: Session, code: str) -> dict[str, Any]:
    """Every version of a grid code and the lineage edges reaching it, backwards and forwards."""
    versions = (
        session.execute(
            text(
                "SELECT id, code, name, version, valid_from, valid_to FROM area "
                "WHERE code = :code ORDER BY version"
            ),
            {"code": code},
        )
        .mappings()
        .all()
    )
    if not versions:
        raise NotFound(f"no area with code {code}")
    edges = (
        session.execute(
            text(
                """
            WITH RECURSIVE back(id) AS (
                SELECT id FROM area WHERE code = :code
                UNION SELECT l.predecessor_id FROM area_lineage l
                      JOIN back b ON l.successor_id = b.id
            ), fwd(id) AS (
                SELECT id FROM area WHERE code = :code
                UNION SELECT l.successor_id FROM area_lineage l
                      JOIN fwd f ON l.predecessor_id = f.id
            )
            SELECT l.changeset_id, c.committed_at, c.committed_by, c.reason, l.kind,
                   p.code AS predecessor, p.version AS predecessor_version,
                   s.code AS successor, s.version AS successor_version,
                   l.area_share, l.area_m2, l.households_moved, l.buildings_moved
            FROM area_lineage l JOIN changeset c ON c.id = l.changeset_id
            JOIN area p ON p.id = l.predecessor_id JOIN area s ON s.id = l.successor_id
            -- Ancestry (edges into the code's versions and their ancestors) and descendants.
            WHERE l.successor_id IN (SELECT id FROM back)
               OR l.predecessor_id IN (SELECT id FROM fwd)
            ORDER BY c.committed_at, p.code, s.code
            """
            ),
            {"code": code},
        )
        .mappings()
        .all()
    )
    return {
        "code": code,
        "versions": [dict(v) for v in versions],
        "lineage": [{**dict(e), "committed_at": e["committed_at"].isoformat()} for e in edges],
    }


def revert(session: Session, viewer: Viewer, changeset_id: int) -> Draft:
    """A new draft that restores the grids a committed changeset replaced.

    The draft must still be committed like any other (with choices); if the community changed
    after the reverted changeset, the revert is refused (revert the later changesets first).
    """
    row = session.execute(
        text("SELECT id, scope_code, status FROM changeset WHERE id = :id"), {"id": changeset_id}
    ).one_or_none()
    if row is None:
        raise NotFound(f"no changeset {changeset_id}")
    if row.status != "committed":
        raise InvalidInput(f"changeset {changeset_id} is {row.status}; only committed ones revert")
    areas = (
        session.execute(
            text(
                """
            SELECT ca.role, a.id, a.code, a.name, a.kind, c.code AS community,
                   ST_AsGeoJSON(a.geom, 15)::json AS geometry
            FROM changeset_area ca JOIN area a ON a.id = ca.area_id
            JOIN area c ON c.id = a.parent_id WHERE ca.changeset_id = :id ORDER BY a.code
            """
            ),
            {"id": changeset_id},
        )
        .mappings()
        .all()
    )
    created = {r["code"]: r for r in areas if r["role"] == "created"}
    retired = {r["code"]: r for r in areas if r["role"] == "retired"}
    draft = open_draft(
        session, viewer, row.scope_code, f"撤销变更 {changeset_id}", revert_of=changeset_id
    )
    now = current_grids(session, draft.community_codes)
    stale = [c for c, r in created.items() if now.get(c, {}).get("id") != r["id"]]
    if stale:
        raise Conflict(
            f"grids {', '.join(stale)} changed after changeset {changeset_id}; revert the later "
            "changesets first"
        )
    state = draft_state(session, draft)
    for community in sorted({r["community"] for r in areas}):
        features = []
        for code, grid in sorted(state.grids.items()):
            if grid.community_code != community or code in created:
                continue
            features.append(
                {"type": "Feature", "properties": {"code": code}, "geometry": _geojson(grid.geom)}
            )
        for code, r in retired.items():
            if r["community"] == community:
                features.append(
                    {
                        "type": "Feature",
                        "properties": {"code": code, "name": r["name"], "kind": r["kind"]},
                        "geometry": r["geometry"],
                    }
                )
        params = {
            "community": community,
            "features": features,
            "restore_codes": sorted(c for c in retired if c not in now),
            "reverts": changeset_id,
        }
        draft, state, _ = _store(session, viewer, draft, state, "revert", params)
    return draft


def _geojson(geom: Any) -> dict[str, Any]:
    from shapely.geometry import mapping

    return json.loads(json.dumps(mapping(geom)))


def changeset_geopackage(session: Session, changeset_id: int, path: Any) -> None:
    """Write a committed changeset to a GeoPackage for the record.

    Layers: ``retired`` and ``created`` (the grid versions it closed and opened, EPSG:4326),
    ``lineage`` (predecessor → successor, kind, shares) and ``changeset`` (who, when, why).
    """
    import pandas as pd
    import pyogrio

    head = (
        session.execute(
            text(
                "SELECT id, scope_code, title, committed_by, committed_at, reason, "
                "reverts_changeset_id, status FROM changeset WHERE id = :id"
            ),
            {"id": changeset_id},
        )
        .mappings()
        .one_or_none()
    )
    if head is None:
        raise NotFound(f"no changeset {changeset_id}")
    if head["status"] != "committed":
        raise InvalidInput(f"changeset {changeset_id} is {head['status']}; only committed ones")
    areas = (
        session.execute(
            text(
                "SELECT ca.role, a.code, a.name, a.kind, a.version, a.valid_from, a.valid_to, "
                "ST_AsBinary(a.geom) AS wkb "
                "FROM changeset_area ca JOIN area a ON a.id = ca.area_id "
                "WHERE ca.changeset_id = :id ORDER BY ca.role, a.code"
            ),
            {"id": changeset_id},
        )
        .mappings()
        .all()
    )
    for role in ("retired", "created"):
        _write_versions(path, role, [r for r in areas if r["role"] == role])
    lineage = session.execute(
        text(
            "SELECT p.code AS predecessor, p.version AS predecessor_version, s.code AS successor, "
            "s.version AS successor_version, l.kind, l.area_share, l.area_m2, "
            "l.households_moved, l.buildings_moved FROM area_lineage l "
            "JOIN area p ON p.id = l.predecessor_id JOIN area s ON s.id = l.successor_id "
            "WHERE l.changeset_id = :id ORDER BY 1, 3"
        ),
        {"id": changeset_id},
    ).mappings()
    pyogrio.write_dataframe(pd.DataFrame([dict(r) for r in lineage]), path, layer="lineage")
    record = {k: head[k] for k in head if k != "status"}
    record["committed_at"] = record["committed_at"].isoformat()
    pyogrio.write_dataframe(pd.DataFrame([record]), path, layer="changeset")


def areas_geopackage(
    session: Session,
    as_of: datetime,
    path: Any,
    level: str = "grid",
    within: str | None = None,
) -> int:
    """Write the areas of one level as they were at ``as_of`` to a GeoPackage; the row count.

    Layers: ``<level>`` (the versions in force then: code, name, kind, version, parent, validity
    period, EPSG:4326) and ``export`` (the instant and the area asked for), so a file kept for the
    record says which moment it shows. ``as_of`` now is the current state.
    """
    import pandas as pd
    import pyogrio

    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", parameter="level")
    rows = (
        session.execute(
            text(
                f"""
                SELECT a.code, a.name, a.kind, a.version, p.code AS parent,
                       a.valid_from, a.valid_to, ST_AsBinary(a.geom) AS wkb
                FROM area a LEFT JOIN area p ON p.id = a.parent_id
                WHERE a.level = :level AND {AS_OF}
                  AND (CAST(:within AS text) IS NULL OR a.code LIKE :within || '%')
                ORDER BY a.code
                """
            ),
            {"level": level, "t": as_of, "within": within},
        )
        .mappings()
        .all()
    )
    _write_versions(path, level, rows, extra=("parent",))
    record = {"as_of": as_of.isoformat(), "level": level, "within": within, "areas": len(rows)}
    pyogrio.write_dataframe(pd.DataFrame([record]), path, layer="export")
    return len(rows)


def _write_versions(
    path: Any, layer: str, rows: Sequence[Mapping[Any, Any]], extra: Sequence[str] = ()
) -> None:
    """One GeoPackage layer of area versions (code, name, kind, version, ``extra`` columns,
    validity period; EPSG:4326) from rows with those keys and ``wkb``."""
    import geopandas as gpd
    import pyogrio
    import shapely

    columns: dict[str, list[Any]] = {
        key: [r[key] for r in rows] for key in ("code", "name", "kind", "version", *extra)
    }
    columns["valid_from"] = [r["valid_from"].isoformat() for r in rows]
    columns["valid_to"] = [r["valid_to"].isoformat() if r["valid_to"] else None for r in rows]
    frame = gpd.GeoDataFrame(
        columns, geometry=[shapely.from_wkb(bytes(r["wkb"])) for r in rows], crs="EPSG:4326"
    )
    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", geometry_type="MultiPolygon")
