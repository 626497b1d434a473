"""Who may do and see field work: the one place the field-work scope rule lives.

A grid worker (and a party member helping out) sees only his own patrols and visits; every
other staff role sees those recorded in grids of its subtree (gis/scope.py). The public sees
none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, NotFound
from gis.scope import Viewer, subtree_code_prefix

# Roles that record patrols and visits themselves.
RECORDING_ROLES = frozenset(
    {
        "admin",
        "district_secretary",
        "street_secretary",
        "community_secretary",
        "grid_chief",
        "grid_worker",
        "party_instructor",
    }
)
# Roles that see only what they recorded themselves.
OWN_ONLY_ROLES = frozenset({"grid_worker", "party_member"})


def require_recorder(viewer: Viewer) -> int:
    """The account id of a viewer who may record field work; Forbidden otherwise."""
    if viewer.user_id is None or viewer.role not in RECORDING_ROLES:
        raise Forbidden("only grid staff signed in with an account record patrols and visits")
    return viewer.user_id


def require_viewer(viewer: Viewer) -> None:
    if viewer.is_public or viewer.scope_code is None:
        raise Forbidden("sign in as staff to see patrols and visits")


def visible_sql(alias: str) -> str:
    """A SQL predicate on ``alias`` (with grid_code and user_id) for the binds of :func:`binds`."""
    return (
        f"{alias}.grid_code LIKE :scope_like"
        f" AND (NOT :own_only OR {alias}.user_id = :viewer_id)"
        f" AND {alias}.grid_code LIKE :area_like"
    )


def sees(viewer: Viewer, grid_code: str, user_id: int | None) -> bool:
    """:func:`visible_sql` for one record in Python (e.g. a finding's photo being served)."""
    if viewer.is_public or viewer.scope_code is None or not viewer.covers(grid_code):
        return False
    return viewer.role not in OWN_ONLY_ROLES or (
        viewer.user_id is not None and viewer.user_id == user_id
    )


def binds(viewer: Viewer, area: str | None) -> dict[str, Any]:
    """Binds of :func:`visible_sql`; ``area`` narrows to a subtree, which must be in scope."""
    require_viewer(viewer)
    if area is not None and not (area.isdigit() and viewer.covers(area)):
        raise Forbidden(f"area {area} is not in your scope")
    return {
        "scope_like": viewer.scope_like,
        "own_only": viewer.role in OWN_ONLY_ROLES,
        "viewer_id": viewer.user_id or 0,
        "area_like": subtree_code_prefix(area) + "%" if area else "%",
    }


def current_grid(session: Session, lon: float | None, lat: float | None) -> str | None:
    """The code of the current grid containing the point (None outside every grid)."""
    if lon is None or lat is None:
        return None
    code = session.execute(
        text(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL"
            " AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
            " ORDER BY code LIMIT 1"
        ),
        {"lon": lon, "lat": lat},
    ).scalar_one_or_none()
    return None if code is None else str(code)


def grid_for_work(
    session: Session, viewer: Viewer, grid_code: str | None, lon: float | None, lat: float | None
) -> str:
    """The grid a patrol belongs to: the one named, else the one under the worker, else his own."""
    code = grid_code or current_grid(session, lon, lat)
    if code is None and viewer.scope_code is not None and len(viewer.scope_code) == 15:
        code = viewer.scope_code
    if code is None:
        raise InvalidInput(
            "name the grid (grid_code) or send a position inside one", parameter="grid_code"
        )
    exists = session.execute(
        text("SELECT 1 FROM area WHERE level = 'grid' AND valid_to IS NULL AND code = :c"),
        {"c": code},
    ).first()
    if exists is None:
        raise NotFound(f"no current grid {code}")
    if not viewer.covers(code):
        raise Forbidden(f"grid {code} is not in your scope")
    return code
