"""What the planner's page reads besides the draft itself.

The communities of the planner's scope (with the open draft of each, so choosing a community
resumes it), the buildings of a community with their counts (what a line cuts, what a grid holds),
live counts per draft grid against the 300–500 households norm, and the staff of the draft's
communities to pick a grid's chief, workers and 党建指导员 from by name.

Staff names are shown masked (张*明, ``gis.masking.mask_name``) as on every map page
(docs/security.md): the planner needs to tell people apart and see their current post, not to read
a full name, so nothing here is a disclosure that needs an audit row.
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.boundaries.drafts import EDITOR_ROLES, Draft
from gis.boundaries.operations import DraftState
from gis.boundaries.validation import HOUSEHOLDS_MAX, HOUSEHOLDS_MIN
from gis.errors import Forbidden, NotFound
from gis.masking import mask_name
from gis.scope import Viewer


def _require_planner(viewer: Viewer) -> None:
    if viewer.role not in EDITOR_ROLES or viewer.scope_like is None:
        raise Forbidden("the planner's workbench needs the planner or admin role")


def scope_overview(session: Session, viewer: Viewer) -> dict[str, Any]:
    """Streets and communities of the viewer's scope as GeoJSON, each community with its open
    draft (the newest) and grid count, plus the household norm the page colours by."""
    _require_planner(viewer)
    rows = session.execute(
        text(
            """
            SELECT a.code, a.name, a.level, p.code AS parent, p.name AS parent_name,
                   ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, 0.00001), 6) AS geometry,
                   (SELECT count(*) FROM area g WHERE g.parent_id = a.id AND g.level = 'grid'
                      AND g.valid_to IS NULL) AS grids,
                   (SELECT id FROM changeset c WHERE c.status = 'draft' AND c.scope_code = a.code
                    ORDER BY c.updated_at DESC LIMIT 1) AS draft
            FROM area a LEFT JOIN area p ON p.id = a.parent_id
            WHERE a.level IN ('street', 'community') AND a.valid_to IS NULL
              AND a.code LIKE :scope
            ORDER BY a.code, a.level DESC
            """
        ),
        {"scope": viewer.scope_like},
    ).mappings()
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(r["geometry"]),
            "properties": {
                "code": r["code"],
                "name": r["name"],
                "level": r["level"],
                "parent": r["parent"],
                "parent_name": r["parent_name"],
                "grids": int(r["grids"]),
                "draft": r["draft"],
            },
        }
        for r in rows
    ]
    return {
        "scope": viewer.scope_code,
        "areas": {"type": "FeatureCollection", "features": features},
        "households_norm": [HOUSEHOLDS_MIN, HOUSEHOLDS_MAX],
    }


def community_buildings(session: Session, viewer: Viewer, community: str) -> dict[str, Any]:
    """Current buildings of one community with households, residents, party members, grid."""
    _require_planner(viewer)
    if not viewer.covers(community):
        raise Forbidden(f"community {community} is outside your scope ({viewer.scope_code})")
    found = session.execute(
        text("SELECT id FROM area WHERE code = :c AND level = 'community' AND valid_to IS NULL"),
        {"c": community},
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no current community {community}")
    rows = session.execute(
        text(
            """
            SELECT b.code, b.name, g.code AS grid, ST_AsGeoJSON(b.geom, 7) AS geometry,
                   coalesce(s.households, 0) AS households, coalesce(s.residents, 0) AS residents,
                   coalesce(s.party_members, 0) AS party_members
            FROM area c
            JOIN building b ON b.geom && c.geom AND ST_Intersects(c.geom, b.anchor)
            JOIN area g ON g.id = b.grid_id
            LEFT JOIN building_stats s ON s.building_id = b.id
            WHERE c.id = :id AND b.valid_to IS NULL
            ORDER BY b.code
            """
        ),
        {"id": found},
    ).mappings()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(r["geometry"]),
                "properties": {k: r[k] for k in r if k != "geometry"},
            }
            for r in rows
        ],
    }


def grid_counts(session: Session, draft: Draft, state: DraftState) -> dict[str, dict[str, Any]]:
    """Per draft grid: buildings, households, residents, party members (by building anchor, as
    the commit assigns them) and whether a grid party branch serves it now."""
    rows = session.execute(
        text(
            """
            SELECT ST_AsBinary(b.anchor) AS anchor, coalesce(s.households, 0) AS households,
                   coalesce(s.residents, 0) AS residents,
                   coalesce(s.party_members, 0) AS party_members
            FROM building b JOIN area c ON c.id = ANY(:ids) AND b.geom && c.geom
                 AND ST_Intersects(c.geom, b.anchor)
            LEFT JOIN building_stats s ON s.building_id = b.id
            WHERE b.valid_to IS NULL
            """
        ),
        {"ids": list(draft.base["communities"].values())},
    ).all()
    codes = sorted(state.grids)
    tree = shapely.STRtree([state.grids[c].geom for c in codes])
    counts: dict[str, dict[str, Any]] = {
        c: {"buildings": 0, "households": 0, "residents": 0, "party_members": 0} for c in codes
    }
    for r in rows:
        point = shapely.from_wkb(bytes(r.anchor))
        hits = tree.query(point, predicate="intersects")
        if len(hits):
            grid = counts[codes[int(min(hits))]]
            grid["buildings"] += 1
            for key in ("households", "residents", "party_members"):
                grid[key] += int(getattr(r, key))
    branches: dict[str, str] = dict(
        session.execute(
            text(
                "SELECT a.code, o.code FROM party_org o JOIN area a ON a.id = o.area_id "
                "WHERE o.level = 'grid' AND a.code = ANY(:codes) AND a.valid_to IS NULL"
            ),
            {"codes": codes},
        ).all()
    )
    for code in codes:
        counts[code]["branch"] = branches.get(code)
    return counts


def staff_choices(session: Session, viewer: Viewer, draft: Draft) -> list[dict[str, Any]]:
    """People who hold a post in the draft's communities (grid staff and party secretaries),
    each with a masked name, title and current posts, for the page's pickers."""
    _require_planner(viewer)
    rows = session.execute(
        text(
            """
            WITH posts AS (
                SELECT s.person_id, g.code AS area, g.name AS area_name, s.role
                FROM grid_staff s JOIN area g ON g.id = s.area_id AND g.valid_to IS NULL
                WHERE g.parent_id = ANY(:ids)
                UNION ALL
                SELECT o.secretary_id, coalesce(a.code, ''), o.name, 'secretary'
                FROM party_org o LEFT JOIN area a ON a.id = o.area_id
                WHERE o.secretary_id IS NOT NULL AND o.level IN ('community', 'grid')
                  AND (o.area_id = ANY(:ids) OR a.parent_id = ANY(:ids))
            )
            SELECT p.id, p.name, p.title,
                   jsonb_agg(jsonb_build_object('area', posts.area, 'area_name', posts.area_name,
                                                'role', posts.role)
                             ORDER BY posts.area, posts.role) AS posts
            FROM posts JOIN person p ON p.id = posts.person_id
            GROUP BY p.id ORDER BY p.title, p.id
            """
        ),
        {"ids": list(draft.base["communities"].values())},
    ).mappings()
    return [
        {"id": int(r["id"]), "name": mask_name(r["name"]), "title": r["title"], "posts": r["posts"]}
        for r in rows
    ]
