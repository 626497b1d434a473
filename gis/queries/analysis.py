"""Spatial analyses for party organisers: the 15-minute service circle and party blank spots.

Both return aggregates and public geometry (buildings, grids, communities); no personal data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.queries.areas import subtree_pattern
from gis.scope import Viewer
from gis.sqlfiles import read_sql

RADIUS_RANGE = (50.0, 10_000.0)


def service_coverage(
    session: Session, viewer: Viewer, *, within: str | None = None, radius_m: float = 1000.0
) -> dict[str, Any]:
    """Buildings and households farther than ``radius_m`` from every 党群服务中心, per grid."""
    low, high = RADIUS_RANGE
    if not low <= radius_m <= high:
        raise InvalidInput(
            f"radius_m must be between {low:g} and {high:g} metres", parameter="radius_m"
        )
    row = (
        session.execute(
            text(read_sql("analysis_service_coverage.sql")),
            {"prefix": subtree_pattern(session, within), "radius_m": radius_m},
        )
        .mappings()
        .one()
    )
    grids = [
        {
            **g,
            "households": int(g["households"]),
            "households_uncovered": int(g["households_uncovered"]),
        }
        for g in row["grids"]
    ]
    totals = {
        key: sum(int(g[key]) for g in grids)
        for key in ("buildings", "buildings_uncovered", "households", "households_uncovered")
    }
    return {
        "within": within,
        "radius_m": radius_m,
        "totals": totals,
        "grids": grids,
        "uncovered_buildings": {"type": "FeatureCollection", "features": row["features"]},
    }


def blank_spots(session: Session, viewer: Viewer, *, within: str | None = None) -> dict[str, Any]:
    """Grids without a party branch, uninhabited-by-party buildings, communities by density."""
    row = (
        session.execute(
            text(read_sql("analysis_blank_spots.sql")), {"prefix": subtree_pattern(session, within)}
        )
        .mappings()
        .one()
    )
    return {
        "within": within,
        "grids_without_branch": row["grids_without_branch"],
        "uncovered_buildings": {
            "type": "FeatureCollection",
            "features": row["uncovered_buildings"],
        },
        "communities": row["communities"],
    }
