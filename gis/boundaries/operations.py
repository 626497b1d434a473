"""Boundary operations on a draft: pure functions from one draft state to the next.

A :class:`DraftState` holds the grids of the communities a draft covers. Each operation returns
a new state (the old one is untouched, which is what makes undo/redo a matter of replaying) and a
one-line summary. Operations raise :class:`~gis.errors.InvalidInput` when their input cannot be
applied; whether the *result* is an acceptable partition is decided by ``validation``.

After every operation the grids of the touched community are *noded*: every vertex of a grid
that lies on a neighbour's edge is inserted into that neighbour too, so shared boundaries stay
vertex-for-vertex identical and a later vertex move takes both sides along.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely import ops as shapely_ops
from shapely.geometry.base import BaseGeometry

from gis.boundaries.geometry import (
    degrees_for_metres,
    parse_line,
    parse_polygonal,
    parse_position,
    polygonal,
)
from gis.errors import InvalidInput

OPERATION_KINDS = (
    "split",
    "merge",
    "move_vertices",
    "reshape",
    "transfer",
    "create",
    "replace",
    "revert",
)
GRID_KINDS = ("综合网格", "专属网格")
# Vertices closer than this to the position a planner grabbed are the "same" shared vertex.
VERTEX_SNAP_M = 0.5
NODE_TOLERANCE_DEG = 1e-9
# Outlines closer than this everywhere (about 1 mm) are the same boundary.
UNCHANGED_DEG = 1e-8
# A grid drawn from buildings reaches this far beyond their hull unless the planner says otherwise.
CREATE_BUFFER_M = 10.0
CREATE_BUFFER_MAX_M = 200.0


@dataclass
class DraftGrid:
    """One grid in a draft. ``base_code`` is set while it continues an existing grid."""

    code: str
    name: str
    kind: str
    community_code: str
    geom: BaseGeometry
    base_code: str | None


@dataclass
class DraftState:
    communities: dict[str, BaseGeometry]
    grids: dict[str, DraftGrid]
    next_seq: dict[str, int]
    # Operation kinds that touched each grid code (drives the lineage kind at commit).
    touched: dict[str, set[str]] = field(default_factory=dict)
    # Geometry of each base grid as the draft started (to tell changed grids from unchanged).
    original: dict[str, BaseGeometry] = field(default_factory=dict)
    # Name and kind of each base grid as the draft started (a renamed grid is a new version too).
    original_attrs: dict[str, tuple[str, str]] = field(default_factory=dict)

    def changed(self, code: str) -> bool:
        """Whether a grid differs from the version the draft started from."""
        grid = self.grids.get(code)
        if grid is None or grid.base_code is None or code not in self.original:
            return True
        if self.original_attrs.get(code, (grid.name, grid.kind)) != (grid.name, grid.kind):
            return True
        # Noding inserts a neighbour's new vertex into an edge, rounded a fraction of a millimetre
        # off it; that is not a change worth a new version.
        before = self.original[code]
        return float(shapely.hausdorff_distance(grid.geom, before)) > UNCHANGED_DEG

    def copy(self) -> DraftState:
        return copy.deepcopy(self)

    def grid(self, code: str) -> DraftGrid:
        try:
            return self.grids[code]
        except KeyError:
            raise InvalidInput(
                f"grid {code} is not in this draft (retired, or outside the draft's scope)",
                parameter="code",
            ) from None

    def mark(self, code: str, kind: str) -> None:
        self.touched.setdefault(code, set()).add(kind)

    def allocate_code(self, community_code: str) -> str:
        """The next free 15-digit code of a community (codes of retired grids are never reused)."""
        seq = self.next_seq.get(community_code, 1)
        if seq > 999:
            raise InvalidInput(f"community {community_code} has used all 999 grid codes")
        self.next_seq[community_code] = seq + 1
        return f"{community_code}{seq:03d}"


def node(state: DraftState, community_code: str) -> None:
    """Insert every grid vertex lying on a neighbour's edge into that neighbour."""
    members = [g for g in state.grids.values() if g.community_code == community_code]
    if len(members) < 2:
        return
    vertices = shapely.MultiPoint(
        shapely.get_coordinates(shapely.GeometryCollection([g.geom for g in members]))
    )
    for grid in members:
        snapped = shapely.snap(grid.geom, vertices, NODE_TOLERANCE_DEG)
        if shapely.is_valid(snapped):
            grid.geom = polygonal(shapely.normalize(snapped))


def _pieces(geom: BaseGeometry) -> list[BaseGeometry]:
    if isinstance(geom, shapely.Polygon):
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, shapely.Polygon)]


def _name(value: Any, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 100:
        raise InvalidInput("a grid name must be 1–100 characters", parameter="name")
    return value.strip()


def split(state: DraftState, code: str, line_geojson: Any, names: Sequence[str] | None = None):
    """Split a grid along a drawn line into new grids (new codes; the old grid retires)."""
    grid = state.grid(code)
    line = parse_line(line_geojson, "line")
    if not line.intersects(grid.geom) or line.within(grid.geom):
        raise InvalidInput(
            f"the split line does not cross grid {code}: draw it from one side of the grid "
            "to the other, starting and ending outside it",
            parameter="line",
            key="split_misses",
            values={"grid": code},
        )
    parts = _pieces(shapely_ops.split(shapely.make_valid(grid.geom), line))
    parts = [p for p in parts if p.area > 0]
    if len(parts) < 2:
        raise InvalidInput(
            f"the split line does not cross grid {code} from boundary to boundary; extend both "
            "ends past the grid's edge",
            parameter="line",
            key="split_not_through",
            values={"grid": code},
        )
    # Number pieces west→east, north→south like the code scheme.
    parts.sort(key=lambda p: (-round(p.centroid.y, 4), p.centroid.x))
    if names is not None and len(names) != len(parts):
        raise InvalidInput(
            f"the line cuts grid {code} into {len(parts)} pieces; give {len(parts)} names",
            parameter="names",
        )
    new = state.copy()
    del new.grids[code]
    created = []
    for i, part in enumerate(parts):
        new_code = new.allocate_code(grid.community_code)
        label = _name(names[i] if names else None, f"{grid.name}（分{i + 1}）"[:100])
        new.grids[new_code] = DraftGrid(new_code, label, grid.kind, grid.community_code, part, None)
        new.mark(new_code, "split")
        created.append(new_code)
    new.mark(code, "split")
    node(new, grid.community_code)
    return new, f"split {code} into {', '.join(created)}"


def grids_divided_by(state: DraftState, line_geojson: Any) -> list[str]:
    """Codes of the grids a drawn line cuts into two or more pieces (the grids it splits).

    A planner draws the line across one grid, overshooting into its neighbours; the neighbours
    are only touched, not divided, so they are not candidates.
    """
    line = parse_line(line_geojson, "line")
    found = []
    for code, grid in sorted(state.grids.items()):
        if not line.intersects(grid.geom) or line.within(grid.geom):
            continue
        parts = _pieces(shapely_ops.split(shapely.make_valid(grid.geom), line))
        if len([p for p in parts if p.area > 0]) >= 2:
            found.append(code)
    return found


def merge(state: DraftState, codes: Sequence[str], name: str | None = None):
    """Merge adjacent grids of one community into one new grid."""
    if len(set(codes)) < 2:
        raise InvalidInput(
            "merge needs at least two different grid codes",
            parameter="codes",
            key="merge_needs_two",
        )
    grids = [state.grid(c) for c in dict.fromkeys(codes)]
    communities = {g.community_code for g in grids}
    if len(communities) > 1:
        raise InvalidInput(
            "grids of different communities cannot be merged; move the community boundary first",
            parameter="codes",
            key="merge_communities",
        )
    merged = polygonal(shapely.union_all([g.geom for g in grids]))
    if len(_pieces(merged)) > 1:
        raise InvalidInput(
            f"grids {', '.join(g.code for g in grids)} are not adjacent (they share no edge); "
            "only neighbouring grids can be merged",
            parameter="codes",
            key="merge_not_adjacent",
            values={"grids": [g.code for g in grids]},
        )
    new = state.copy()
    community = grids[0].community_code
    for g in grids:
        del new.grids[g.code]
        new.mark(g.code, "merge")
    new_code = new.allocate_code(community)
    new.grids[new_code] = DraftGrid(
        new_code, _name(name, grids[0].name), grids[0].kind, community, merged, None
    )
    new.mark(new_code, "merge")
    node(new, community)
    return new, f"merged {', '.join(g.code for g in grids)} into {new_code}"


def move_vertices(state: DraftState, moves: Sequence[Any], tolerance_m: float = VERTEX_SNAP_M):
    """Move shared vertices: every grid with a vertex at ``from`` moves it to ``to``.

    Both neighbours of a shared boundary move together, so no gap or overlap opens.
    """
    if not moves:
        raise InvalidInput("give at least one vertex move {from: [lon, lat], to: [lon, lat]}")
    new = state.copy()
    changed: set[str] = set()
    for i, move in enumerate(moves):
        if not isinstance(move, dict):
            raise InvalidInput(f"moves[{i}] must be an object with 'from' and 'to'")
        src = parse_position(move.get("from"), f"moves[{i}].from")
        dst = parse_position(move.get("to"), f"moves[{i}].to")
        tol = degrees_for_metres(tolerance_m, src[1])
        hit = False
        for grid in new.grids.values():
            coords_before = shapely.get_coordinates(grid.geom)
            near = (abs(coords_before[:, 0] - src[0]) <= tol) & (
                abs(coords_before[:, 1] - src[1]) <= tol
            )
            if not near.any():
                continue
            hit = True

            def _move(
                xy: Any,
                near_tol: float = tol,
                src: tuple[float, float] = src,
                dst: tuple[float, float] = dst,
            ) -> Any:
                mask = (abs(xy[:, 0] - src[0]) <= near_tol) & (abs(xy[:, 1] - src[1]) <= near_tol)
                xy = xy.copy()
                xy[mask] = dst
                return xy

            moved = shapely.transform(grid.geom, _move)
            if not shapely.is_valid(moved):
                raise InvalidInput(
                    f"moving the vertex at {list(src)} to {list(dst)} makes grid {grid.code} "
                    f"invalid ({shapely.is_valid_reason(moved)}); move it less far",
                    parameter=f"moves[{i}]",
                    key="vertex_invalid",
                    values={"grid": grid.code, "at": list(dst)},
                )
            grid.geom = polygonal(moved)
            changed.add(grid.code)
        if not hit:
            raise InvalidInput(
                f"no grid vertex within {tolerance_m} m of {list(src)}; snap to a vertex",
                parameter=f"moves[{i}].from",
                key="vertex_none",
                values={"at": list(src)},
            )
    for code in changed:
        new.mark(code, "reshape")
    for community in {new.grids[c].community_code for c in changed}:
        node(new, community)
    return new, f"moved {len(moves)} vertex(es) of {', '.join(sorted(changed))}"


def reshape(state: DraftState, code: str, geometry: Any):
    """Give one grid a new outline (its neighbours are not adjusted: validation must pass)."""
    grid = state.grid(code)
    geom = parse_polygonal(geometry, "geometry")
    new = state.copy()
    new.grids[code].geom = polygonal(geom)
    new.mark(code, "reshape")
    node(new, grid.community_code)
    return new, f"reshaped {code}"


def _shared_boundary(a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
    shared = a.boundary.intersection(b.boundary)
    lines = [g for g in getattr(shared, "geoms", [shared]) if isinstance(g, shapely.LineString)]
    if not lines:
        return shapely.LineString()
    return shapely_ops.linemerge(shapely.MultiLineString(lines))


def transfer(
    state: DraftState,
    to_code: str,
    buildings: Sequence[tuple[str, BaseGeometry, str]],
):
    """Move buildings (code, footprint, current grid code) to a neighbouring grid.

    The boundary is moved around each building: the area between the building and the shared
    boundary (the convex hull of the footprint and the nearest stretch of that boundary) goes to
    the target grid. Other buildings whose point on surface falls in that area move too; the
    impact preview lists them.
    """
    target = state.grid(to_code)
    if not buildings:
        raise InvalidInput("name at least one building to transfer", parameter="buildings")
    new = state.copy()
    moved_from: set[str] = set()
    for building_code, footprint, source_code in buildings:
        if source_code == to_code:
            raise InvalidInput(f"building {building_code} is already in grid {to_code}")
        source = new.grid(source_code)
        if source.community_code != target.community_code:
            raise InvalidInput(
                f"building {building_code} is in another community; move the community "
                "boundary instead",
                parameter="buildings",
            )
        shared = _shared_boundary(source.geom, new.grids[to_code].geom)
        if shared.is_empty:
            raise InvalidInput(
                f"grid {to_code} is not a neighbour of grid {source_code} (building "
                f"{building_code}); buildings can only move to an adjacent grid",
                parameter="to",
            )
        parts = list(getattr(shared, "geoms", [shared]))
        line = min(parts, key=lambda part: part.distance(footprint))
        position = line.project(footprint.centroid)
        minx, miny, maxx, maxy = footprint.bounds
        half = max(maxx - minx, maxy - miny)
        stretch = shapely_ops.substring(line, position - half, position + half)
        region = shapely.convex_hull(shapely.union_all([footprint, stretch]))
        region = region.intersection(source.geom)
        source.geom = polygonal(source.geom.difference(region))
        new.grids[to_code].geom = polygonal(shapely.union_all([new.grids[to_code].geom, region]))
        moved_from.add(source_code)
    for code in (*moved_from, to_code):
        new.mark(code, "transfer")
    node(new, target.community_code)
    names = ", ".join(b[0] for b in buildings)
    return new, f"transferred {names} to {to_code}"


def create(
    state: DraftState,
    buildings: Sequence[tuple[str, BaseGeometry, str]],
    buffer_m: float = CREATE_BUFFER_M,
    name: str | None = None,
):
    """Draw a new grid around buildings (code, footprint, current grid code).

    The new grid is the convex hull of the footprints grown by ``buffer_m`` metres, clipped to
    the grids the buildings are in now (and so to their community): it never takes area from a grid
    none of the chosen buildings belongs to, so neighbours keep their outline and no overlap
    arises. The grids it is carved from shrink (a grid left with nothing retires); other
    buildings whose point on surface falls inside come along (the impact lists them). Noding
    then makes the new edges shared, vertex for vertex.
    """
    if not buildings:
        raise InvalidInput(
            "choose at least one building for the new grid",
            parameter="building_codes",
            key="create_no_buildings",
        )
    if (
        isinstance(buffer_m, bool)
        or not isinstance(buffer_m, int | float)
        or not 0 <= buffer_m <= CREATE_BUFFER_MAX_M
    ):
        raise InvalidInput(
            f"buffer_m must be a number of metres from 0 to {CREATE_BUFFER_MAX_M:g}",
            parameter="buffer_m",
        )
    sources = {code: state.grid(code) for _b, _f, code in buildings}
    communities = {g.community_code for g in sources.values()}
    if len(communities) > 1:
        raise InvalidInput(
            "the buildings are in different communities; a grid lies within one community",
            parameter="building_codes",
            key="create_communities",
        )
    (community,) = communities
    hull = shapely.convex_hull(shapely.union_all([f for _b, f, _c in buildings]))
    latitude = hull.centroid.y
    grown: BaseGeometry = hull.buffer(degrees_for_metres(float(buffer_m), latitude), quad_segs=4)
    # Clipped to the buildings' grids, which lie within the community: so within it too. (Not
    # to the community's outline itself: where a grid's outer edge and the outline differ by a
    # hairline, that would leave a sliver of the old grid along it.)
    clipped = grown.intersection(shapely.union_all([g.geom for g in sources.values()]))
    region = polygonal(shapely.make_valid(clipped))
    if region.is_empty or region.area <= 0:
        raise InvalidInput(
            "the buildings leave no area for a new grid inside their grids",
            parameter="building_codes",
            key="create_empty",
        )
    new = state.copy()
    # The region's vertices on a grid's edge go into that edge first: otherwise the difference
    # keeps a hair-thin sliver where the region runs along the edge (a vertex a hair off it).
    corners = shapely.MultiPoint(shapely.get_coordinates(region))
    for code in sources:
        noded = shapely.snap(new.grids[code].geom, corners, NODE_TOLERANCE_DEG)
        left = polygonal(noded.difference(region))
        if left.is_empty:
            del new.grids[code]  # the new grid takes all of it: it retires
        else:
            new.grids[code].geom = left
        new.mark(code, "transfer")
    new_code = new.allocate_code(community)
    first = sources[buildings[0][2]]
    new.grids[new_code] = DraftGrid(
        new_code, _name(name, f"新网格{new_code[-3:]}"), first.kind, community, region, None
    )
    new.mark(new_code, "transfer")
    node(new, community)
    codes = ", ".join(b[0] for b in buildings)
    return new, f"new grid {new_code} drawn around {codes} (+{float(buffer_m):g} m)"


def replace(
    state: DraftState,
    community_code: str,
    features: Sequence[Any],
    allow_codes: Iterable[str] = (),
    kind_label: str = "replace",
):
    """Replace all grids of one community with uploaded features.

    A feature whose ``code`` property names a current grid of the community reshapes that grid
    (same code, next version); a feature without a code becomes a new grid with a new code;
    grids of the community missing from the upload retire.
    """
    if community_code not in state.communities:
        raise InvalidInput(
            f"community {community_code} is not in this draft's scope", parameter="community"
        )
    if not features:
        raise InvalidInput("the upload has no features", parameter="features")
    allowed = set(allow_codes)
    current = {c for c, g in state.grids.items() if g.community_code == community_code}
    new = state.copy()
    for code in current:
        del new.grids[code]
    seen: set[str] = set()
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InvalidInput(f"features[{i}] is not a GeoJSON Feature", parameter="features")
        props = feature.get("properties") or {}
        geom = parse_polygonal(feature.get("geometry"), f"features[{i}].geometry")
        code = str(props.get("code") or "")
        if not code:
            code = new.allocate_code(community_code)
            base = None
            name = _name(props.get("name"), f"新网格{code[-3:]}")
            kind = props.get("kind") or GRID_KINDS[0]
        elif code in current:
            old = state.grids[code]
            base, name = old.base_code, _name(props.get("name"), old.name)
            kind = props.get("kind") or old.kind
        elif code in allowed:
            # A revert brings back a grid the reverted changeset retired, under its own code.
            base, name, kind = None, _name(props.get("name"), code), props.get("kind")
        else:
            raise InvalidInput(
                f"features[{i}] has code {code}, which is not a current grid of community "
                f"{community_code}; leave code empty for a new grid",
                parameter="features",
            )
        if code in seen:
            raise InvalidInput(f"code {code} appears twice in the upload", parameter="features")
        if kind not in GRID_KINDS:
            raise InvalidInput(f"grid kind must be one of {', '.join(GRID_KINDS)}")
        seen.add(code)
        new.grids[code] = DraftGrid(code, name, kind, community_code, polygonal(geom), base)
        new.mark(code, kind_label)
    for code in current - seen:
        new.mark(code, kind_label)
    node(new, community_code)
    return new, f"{kind_label}: community {community_code} now has {len(seen)} grids"
