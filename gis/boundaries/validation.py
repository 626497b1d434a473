"""Validation of a community's grids as a *coverage*: pure shapely 2, no database.

The grids of a community must partition it: no grid leaves the community, no gaps, no overlaps,
each grid in one piece. Buildings belong to the grid that contains their point on surface; a
building cut by a grid boundary is reported (warning), and so are grids outside 300–500
households (warning) and each grid's Polsby-Popper compactness (info).

Why shapely 2 and not PostGIS Topology: see docs/boundaries.md ("The coverage check").
``shapely.coverage_is_valid``/``coverage_invalid_edges`` (GEOS ≥ 3.12; installed 3.14) find
edges that do not match their neighbour's exactly and gaps narrower than ``gap_width``; explicit
overlay (community − ∪grids, pairwise ∩) gives every gap and overlap with its area and position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from gis.boundaries.geometry import (
    area_m2,
    degrees_for_metres,
    location_of,
    polsby_popper,
    to_metres,
)

# Gaps and overlaps smaller than this, or thinner than NOISE_WIDTH_M on average, are
# floating-point noise of overlay (a split point rounded off a long edge leaves a hairline
# triangle of a few cm² along it), not planning errors.
NOISE_AREA_M2 = 0.01
NOISE_WIDTH_M = 0.001
# A gap or overlap narrower than this many metres is called a sliver in the message.
DEFAULT_TOLERANCE_M = 1.0
# A building whose footprint has at least this much area on the far side of a boundary is cut.
BUILDING_CUT_MIN_M2 = 0.5
HOUSEHOLDS_MIN = 300
HOUSEHOLDS_MAX = 500

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One validation result: what, how bad, where (a GeoJSON point), and the numbers."""

    code: str
    severity: str
    message: str
    location: dict[str, Any]
    grids: tuple[str, ...] = ()
    area_m2: float | None = None
    value: float | None = None
    # What the finding is about besides grids (a building's code), for the page's message.
    subject: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["grids"] = list(self.grids)
        return data


@dataclass(frozen=True)
class GridShape:
    code: str
    community_code: str
    geom: BaseGeometry


@dataclass(frozen=True)
class BuildingShape:
    code: str
    geom: BaseGeometry
    households: int
    anchor: BaseGeometry | None = None


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_list(self) -> list[dict[str, Any]]:
        return [f.as_dict() for f in self.findings]


def _pieces(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.is_empty:
        return []
    if isinstance(geom, shapely.Polygon):
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, shapely.Polygon)]


def _width_m(piece: BaseGeometry, reference: BaseGeometry) -> float:
    """Mean width of a thin polygon: 2·area / perimeter (exact for a long strip)."""
    metric = to_metres(piece, reference)
    return 2 * metric.area / metric.length if metric.length else 0.0


def _significant(piece: BaseGeometry, reference: BaseGeometry) -> bool:
    return area_m2(piece, reference) > NOISE_AREA_M2 and _width_m(piece, reference) > NOISE_WIDTH_M


def _describe_patch(kind: str, piece: BaseGeometry, ref: BaseGeometry, tol_m: float) -> str:
    area = area_m2(piece, ref)
    width = _width_m(piece, ref)
    if width < tol_m:
        return f"a sliver {kind} {width:.2f} m wide ({area:.1f} m²)"
    return f"a {kind} of {area:.1f} m²"


def check_coverage(
    community_code: str,
    community: BaseGeometry,
    grids: Sequence[GridShape],
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> list[Finding]:
    """Gaps, overlaps, grids leaving the community, grids in several pieces."""
    findings: list[Finding] = []
    geoms = [g.geom for g in grids]
    for grid in grids:
        outside = grid.geom.difference(community)
        for piece in _pieces(outside):
            if _significant(piece, community):
                findings.append(
                    Finding(
                        "outside_community",
                        ERROR,
                        f"grid {grid.code} leaves community {community_code} by "
                        f"{area_m2(piece, community):.1f} m²; keep every grid inside its community",
                        location_of(piece),
                        (grid.code,),
                        round(area_m2(piece, community), 2),
                    )
                )
        if len(_pieces(grid.geom)) > 1:
            findings.append(
                Finding(
                    "multipart",
                    ERROR,
                    f"grid {grid.code} is in {len(_pieces(grid.geom))} separate pieces; "
                    "a grid must be one connected area",
                    location_of(grid.geom),
                    (grid.code,),
                )
            )
    if not geoms:
        return findings
    union = shapely.union_all(geoms)
    for piece in _pieces(community.difference(union)):
        area = area_m2(piece, community)
        if _significant(piece, community):
            findings.append(
                Finding(
                    "gap",
                    ERROR,
                    f"{_describe_patch('gap', piece, community, tolerance_m)} in community "
                    f"{community_code} belongs to no grid",
                    location_of(piece),
                    (),
                    round(area, 2),
                )
            )
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        overlap = geoms[i].intersection(geoms[j])
        for piece in _pieces(overlap):
            area = area_m2(piece, community)
            if _significant(piece, community):
                findings.append(
                    Finding(
                        "overlap",
                        ERROR,
                        f"grids {grids[i].code} and {grids[j].code} overlap: "
                        f"{_describe_patch('overlap', piece, community, tolerance_m)}",
                        location_of(piece),
                        (grids[i].code, grids[j].code),
                        round(area, 2),
                    )
                )
    # Edges that almost, but not exactly, match their neighbour: the gaps/overlaps above catch
    # the area; this catches hairline mismatches below the noise area that would still break
    # shared-edge editing later.
    gap_width = degrees_for_metres(tolerance_m, community.centroid.y)
    if not bool(shapely.coverage_is_valid(geoms, gap_width=gap_width)) and not any(
        f.code in {"gap", "overlap"} for f in findings
    ):
        edges = shapely.coverage_invalid_edges(geoms, gap_width=gap_width)
        for grid, edge in zip(grids, edges, strict=True):
            if edge is not None and not edge.is_empty:
                findings.append(
                    Finding(
                        "mismatched_edge",
                        ERROR,
                        f"an edge of grid {grid.code} does not coincide with its neighbour's "
                        f"(a hairline gap or overlap narrower than {tolerance_m} m); snap the "
                        "shared boundary",
                        location_of(edge),
                        (grid.code,),
                    )
                )
    return findings


def check_buildings(
    grids: Sequence[GridShape], buildings: Sequence[BuildingShape]
) -> tuple[list[Finding], dict[str, int]]:
    """Buildings cut by a boundary (warning) and households per grid (from anchors)."""
    findings: list[Finding] = []
    households = {g.code: 0 for g in grids}
    if not grids:
        return findings, households
    geoms = [g.geom for g in grids]
    tree = shapely.STRtree(geoms)
    for building in buildings:
        anchor = building.anchor or shapely.point_on_surface(building.geom)
        owners = [int(i) for i in tree.query(anchor, predicate="covered_by")]
        if owners:
            households[grids[owners[0]].code] += building.households
        touching = [int(i) for i in tree.query(building.geom, predicate="intersects")]
        if len(touching) > 1:
            shares = []
            for i in touching:
                part = building.geom.intersection(geoms[i])
                shares.append((area_m2(part, building.geom), grids[i].code))
            cut = [code for area, code in shares if area >= BUILDING_CUT_MIN_M2]
            if len(cut) > 1:
                owner = grids[owners[0]].code if owners else "none"
                findings.append(
                    Finding(
                        "building_cut",
                        WARNING,
                        f"building {building.code} is cut by the boundary of grids "
                        f"{', '.join(sorted(cut))}; it belongs to {owner}, the grid containing "
                        "its point on surface",
                        location_of(building.geom),
                        tuple(sorted(cut)),
                        subject=building.code,
                    )
                )
    return findings, households


def check_households(households: Mapping[str, int], grids: Sequence[GridShape]) -> list[Finding]:
    findings = []
    for grid in grids:
        count = households.get(grid.code, 0)
        if not HOUSEHOLDS_MIN <= count <= HOUSEHOLDS_MAX:
            findings.append(
                Finding(
                    "household_count",
                    WARNING,
                    f"grid {grid.code} would have {count} households; grids usually hold "
                    f"{HOUSEHOLDS_MIN}–{HOUSEHOLDS_MAX}",
                    location_of(grid.geom),
                    (grid.code,),
                    value=float(count),
                )
            )
    return findings


def compactness(grids: Iterable[GridShape]) -> list[Finding]:
    return [
        Finding(
            "compactness",
            INFO,
            f"grid {g.code}: Polsby-Popper compactness {polsby_popper(g.geom):.2f}",
            location_of(g.geom),
            (g.code,),
            value=round(polsby_popper(g.geom), 4),
        )
        for g in grids
    ]


def validate(
    communities: Mapping[str, BaseGeometry],
    grids: Sequence[GridShape],
    buildings: Sequence[BuildingShape] = (),
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Report:
    """All checks for the grids of the given communities; errors first, then warnings, info."""
    report = Report()
    for community_code, community in sorted(communities.items()):
        members = [g for g in grids if g.community_code == community_code]
        report.findings.extend(check_coverage(community_code, community, members, tolerance_m))
    cut, households = check_buildings(grids, buildings)
    report.findings.extend(cut)
    report.findings.extend(check_households(households, grids))
    report.findings.extend(compactness(grids))
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    report.findings.sort(key=lambda f: order[f.severity])
    return report


def repair_preview(geom: BaseGeometry) -> dict[str, Any]:
    """What ``make_valid`` would do with an invalid polygon (a preview; nothing is saved)."""
    from shapely.geometry import mapping

    from gis.boundaries.geometry import as_multipolygon

    reason = shapely.is_valid_reason(geom)
    repaired = as_multipolygon(shapely.make_valid(geom, method="structure"))
    return {
        "valid": bool(shapely.is_valid(geom)),
        "reason": reason,
        "repaired": mapping(repaired),
        "parts": len(repaired.geoms),
        "area_m2_before": round(area_m2(geom), 2) if geom.is_valid else None,
        "area_m2_after": round(area_m2(repaired), 2),
    }
