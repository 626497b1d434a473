"""The five-level chain as a tree (五级组织链): 街道党工委/镇党委 → 社区党委/党总支/党支部 →
网格党支部 → 楼栋党小组 → 党员中心户, for one area's subtree.

Public like the party_orgs layer: organisations and the 党员中心户 by their building (codes and
names never point at a flat), with member counts — no person.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import NotFound
from gis.party import vocabulary as v
from gis.queries.households import subtree_prefix

_ORGS_SQL = text(
    """
    WITH RECURSIVE inside AS (
        SELECT o.id FROM party_org o
        LEFT JOIN area a ON a.id = o.area_id
        LEFT JOIN building b ON b.id = o.building_id
        LEFT JOIN area bg ON bg.id = b.grid_id
        WHERE coalesce(a.code, bg.code) LIKE :prefix
    ),
    tree AS (
        SELECT id FROM inside
        UNION
        SELECT p.parent_id FROM party_org p JOIN tree ON p.id = tree.id
        WHERE p.parent_id IS NOT NULL
    )
    SELECT o.id, o.code, o.name, o.level, o.org_type, o.parent_id,
           coalesce(a.code, bg.code) AS area_code,
           (SELECT count(*) FROM party_member m WHERE m.org_id = o.id) AS branch_members,
           (SELECT count(*) FROM party_member m WHERE m.group_id = o.id) AS group_members
    FROM party_org o
    LEFT JOIN area a ON a.id = o.area_id
    LEFT JOIN building b ON b.id = o.building_id
    LEFT JOIN area bg ON bg.id = b.grid_id
    WHERE o.id IN (SELECT id FROM tree)
    ORDER BY o.code
    """
)
_CENTRAL_SQL = text(
    """
    SELECT c.code, bl.name || :suffix AS name, g.code AS area_code,
           coalesce(host.group_id, host.org_id) AS parent_id,
           (SELECT count(*) FROM party_central_household_served s
             WHERE s.central_household_id = c.id) AS serves
    FROM party_central_household c
    JOIN party_member host ON host.id = c.member_id
    JOIN household h ON h.id = c.household_id
    JOIN building bl ON bl.id = h.building_id
    JOIN area g ON g.id = bl.grid_id
    WHERE g.code LIKE :prefix
    ORDER BY c.code
    """
)


def chain(session: Session, within: str) -> dict[str, Any]:
    """The tree of the organisations serving ``within``'s subtree, with their ancestors (so the
    chain always starts at the street's committee)."""
    prefix = subtree_prefix(within)
    nodes: dict[int, dict[str, Any]] = {}
    parents: dict[int, int | None] = {}
    for r in session.execute(_ORGS_SQL, {"prefix": prefix + "%"}):
        nodes[r.id] = {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "org_type": r.org_type,
            "kind": v.org_label(r.level, r.org_type),
            "area_code": r.area_code,
            "members": int(r.branch_members) + int(r.group_members),
            "children": [],
        }
        parents[r.id] = r.parent_id
    if not nodes:
        raise NotFound(f"no party organisation serves {within}", parameter="within")
    for c in session.execute(_CENTRAL_SQL, {"prefix": prefix + "%", "suffix": v.CENTRAL_HOUSEHOLD}):
        if c.parent_id in nodes:
            nodes[c.parent_id]["children"].append(
                {
                    "code": c.code,
                    "name": c.name,
                    "level": "household",
                    "org_type": v.CENTRAL_HOUSEHOLD,
                    "kind": v.CENTRAL_HOUSEHOLD,
                    "area_code": c.area_code,
                    "serves": int(c.serves),
                    "children": [],
                }
            )
    roots = []
    for oid, node in nodes.items():
        parent = parents[oid]
        if parent in nodes:
            nodes[parent]["children"].append(node)
        else:
            roots.append(node)
    return {"within": within, "levels": v.LEVEL_LABELS, "items": roots}
