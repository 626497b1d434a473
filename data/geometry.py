"""Road network, blocks and building footprints of the synthetic city.

The city is laid out in a local metric frame (x east, y north, metres) and converted to
EPSG:4326 lon/lat by one affine map at the end. An affine map keeps containment exact, so a
footprint placed strictly inside a block in metres is strictly inside it in degrees.

Blocks are the cells of a jittered lattice of road-network nodes: neighbouring blocks share
their corner nodes exactly (the same floats), so unions of blocks have no slivers, gaps or
overlaps, and roads run along block edges.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

# Where the town sits (east of the 汭河 valley town centre of 华亭).
ORIGIN_LON = 106.65
ORIGIN_LAT = 35.22
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(ORIGIN_LAT))


def to_lonlat(geom: shapely.Geometry, cx: float, cy: float) -> shapely.Geometry:
    """Map a metric geometry centred on (cx, cy) to lon/lat around the origin."""
    return shapely.affinity.affine_transform(
        geom,
        [
            1 / _M_PER_DEG_LON,
            0.0,
            0.0,
            1 / _M_PER_DEG_LAT,
            ORIGIN_LON - cx / _M_PER_DEG_LON,
            ORIGIN_LAT - cy / _M_PER_DEG_LAT,
        ],
    )


def xy_to_lonlat(x: float, y: float, cx: float, cy: float) -> tuple[float, float]:
    """Map one metric point to (lon, lat); same map as :func:`to_lonlat`."""
    return (ORIGIN_LON + (x - cx) / _M_PER_DEG_LON, ORIGIN_LAT + (y - cy) / _M_PER_DEG_LAT)


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle of lattice cells: columns [c0, c1), rows [r0, r1); row 0 is the north."""

    c0: int
    r0: int
    c1: int
    r1: int

    @property
    def cols(self) -> int:
        return self.c1 - self.c0

    @property
    def rows(self) -> int:
        return self.r1 - self.r0

    @property
    def area(self) -> int:
        return self.cols * self.rows

    def cells(self) -> list[tuple[int, int]]:
        """(row, col) of every cell, north to south, west to east."""
        return [(r, c) for r in range(self.r0, self.r1) for c in range(self.c0, self.c1)]


def _cut_options(
    rect: Rect, need_a: int, need_b: int, frac: float
) -> list[tuple[float, Rect, Rect]]:
    out: list[tuple[float, Rect, Rect]] = []
    # Vertical cuts (west | east), then horizontal (north / south); prefer cutting the long side.
    for vertical in (True, False):
        length = rect.cols if vertical else rect.rows
        width = rect.rows if vertical else rect.cols
        for p in range(1, length):
            if p * width < need_a or (length - p) * width < need_b:
                continue
            if vertical:
                a = Rect(rect.c0, rect.r0, rect.c0 + p, rect.r1)
                b = Rect(rect.c0 + p, rect.r0, rect.c1, rect.r1)
            else:
                a = Rect(rect.c0, rect.r0, rect.c1, rect.r0 + p)
                b = Rect(rect.c0, rect.r0 + p, rect.c1, rect.r1)
            long_side = (rect.cols >= rect.rows) == vertical
            score = abs(p / length - frac) + (0.0 if long_side else 0.35)
            out.append((score, a, b))
    return out


def treemap(rect: Rect, weights: Sequence[float], needs: Sequence[int]) -> list[Rect]:
    """Split ``rect`` into one rectangle per item, areas roughly proportional to ``weights``.

    Items keep their order. Item ``i`` gets at least ``needs[i]`` cells (so that its own
    children can be placed later).

    Raises
    ------
    ValueError
        If no guillotine split satisfies the needs.
    """
    n = len(weights)
    if n == 1:
        if rect.area < needs[0]:
            raise ValueError("rectangle too small")
        return [rect]
    total = float(sum(weights))
    best: tuple[float, list[Rect]] | None = None
    # Try the balanced split point first, then its neighbours.
    acc = 0.0
    splits: list[tuple[float, int]] = []
    for k in range(1, n):
        acc += weights[k - 1]
        splits.append((abs(acc / total - 0.5), k))
    splits.sort()
    for _, k in splits[:3]:
        frac = sum(weights[:k]) / total
        need_a, need_b = sum(needs[:k]), sum(needs[k:])
        for score, a, b in sorted(_cut_options(rect, need_a, need_b, frac), key=lambda t: t[0]):
            try:
                left = treemap(a, weights[:k], needs[:k])
                right = treemap(b, weights[k:], needs[k:])
            except ValueError:
                continue
            if best is None or score < best[0]:
                best = (score, left + right)
            break
        if best is not None and best[0] < 0.08:
            break
    if best is None:
        raise ValueError("no feasible split")
    return best[1]


@dataclass
class Lattice:
    """Road-network nodes: ``x[r, c]``, ``y[r, c]`` for rows 0..R and columns 0..C (metres)."""

    x: np.ndarray
    y: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.x.shape[0]) - 1

    @property
    def cols(self) -> int:
        return int(self.x.shape[1]) - 1

    def corners(self, r: int, c: int) -> list[tuple[float, float]]:
        """Corner nodes of block (r, c) counter-clockwise: SW, SE, NE, NW."""
        x, y = self.x, self.y
        return [
            (float(x[r + 1, c]), float(y[r + 1, c])),
            (float(x[r + 1, c + 1]), float(y[r + 1, c + 1])),
            (float(x[r, c + 1]), float(y[r, c + 1])),
            (float(x[r, c]), float(y[r, c])),
        ]

    def block(self, r: int, c: int) -> Polygon:
        return Polygon(self.corners(r, c))

    def bilinear(self, r: int, c: int, u: float, v: float) -> tuple[float, float]:
        """Point of block (r, c) at u (west→east) and v (south→north), both in [0, 1]."""
        sw, se, ne, nw = self.corners(r, c)
        x = (1 - u) * (1 - v) * sw[0] + u * (1 - v) * se[0] + u * v * ne[0] + (1 - u) * v * nw[0]
        y = (1 - u) * (1 - v) * sw[1] + u * (1 - v) * se[1] + u * v * ne[1] + (1 - u) * v * nw[1]
        return x, y


def make_lattice(rng: random.Random, rows: int, cols: int) -> Lattice:
    """Jittered, gently bent lattice with an irregular outer edge.

    Column widths 170-300 m and row heights 150-250 m give blocks of realistic size; interior
    nodes move by at most 12 % of the spacing so blocks stay convex; outer nodes move
    along the outward normal by up to 40 % (a smooth random walk), which makes the outline
    ragged without letting blocks fold.
    """
    widths = [rng.uniform(170, 300) for _ in range(cols)]
    heights = [rng.uniform(150, 250) for _ in range(rows)]
    xs = np.concatenate([[0.0], np.cumsum(widths)])
    ys = -np.concatenate([[0.0], np.cumsum(heights)])  # row 0 is the north edge
    x = np.tile(xs, (rows + 1, 1))
    y = np.tile(ys[:, None], (1, cols + 1))
    span_x = float(xs[-1])
    # The valley bends: a smooth north-south wave along the town.
    phase = rng.uniform(0, 2 * math.pi)
    amp = 0.04 * span_x
    y = y + amp * np.sin(2 * math.pi * x / max(span_x, 1.0) * 0.8 + phase)
    mind = min(min(widths), min(heights))
    for r in range(1, rows):
        for c in range(1, cols):
            x[r, c] += rng.uniform(-0.12, 0.12) * mind
            y[r, c] += rng.uniform(-0.12, 0.12) * mind

    def walk(n: int) -> list[float]:
        v, out = 0.0, []
        for _ in range(n):
            v = max(-0.4, min(0.4, 0.7 * v + rng.uniform(-0.2, 0.2)))
            out.append(v)
        return out

    north, south = walk(cols + 1), walk(cols + 1)
    west, east = walk(rows + 1), walk(rows + 1)
    for c in range(cols + 1):
        y[0, c] += north[c] * heights[0]
        y[rows, c] -= south[c] * heights[-1]
    for r in range(rows + 1):
        x[r, 0] -= west[r] * widths[0]
        x[r, cols] += east[r] * widths[-1]
    return Lattice(x, y)


# Footprint templates (length along the street, depth), metres, per building use.
_SLAB = {
    "住宅": (42.0, 13.0),
    "混合": (48.0, 16.0),
    "商业": (36.0, 22.0),
    "公共服务": (30.0, 20.0),
    "办公": (32.0, 18.0),
}


def building_slots(
    lat: Lattice, r: int, c: int, rng: random.Random, setback: float = 10.0
) -> list[tuple[float, float, float, float]]:
    """Candidate building positions in block (r, c): (x, y, angle, max_length).

    Slots sit on a regular (u, v) arrangement of the block, rows facing south as Chinese
    housing does, spaced ≈ 34 m for sunlight.
    """
    sw, se, ne, nw = lat.corners(r, c)
    width = (math.dist(sw, se) + math.dist(nw, ne)) / 2
    height = (math.dist(sw, nw) + math.dist(se, ne)) / 2
    nu = max(1, int((width - 2 * setback) // 55))
    nv = max(1, int((height - 2 * setback) // 34))
    angle = (
        math.atan2(se[1] - sw[1], se[0] - sw[0]) + math.atan2(ne[1] - nw[1], ne[0] - nw[0])
    ) / 2
    slots = []
    for j in range(nv):
        for i in range(nu):
            x, y = lat.bilinear(r, c, (i + 0.5) / nu, (j + 0.5) / nv)
            slots.append((x, y, angle + rng.uniform(-0.06, 0.06), (width - 2 * setback) / nu))
    return slots


def footprint(x: float, y: float, angle: float, length: float, depth: float) -> Polygon:
    """A rotated rectangle centred on (x, y)."""
    ca, sa = math.cos(angle), math.sin(angle)
    hl, hd = length / 2, depth / 2
    pts = [(-hl, -hd), (hl, -hd), (hl, hd), (-hl, hd)]
    return Polygon([(x + px * ca - py * sa, y + px * sa + py * ca) for px, py in pts])


def fit_footprint(
    inner: Polygon, x: float, y: float, angle: float, use: str, max_length: float
) -> Polygon | None:
    """The largest template footprint (shrunk up to three times) that fits inside ``inner``."""
    length, depth = _SLAB[use]
    length = min(length, max_length * 0.85)
    for _ in range(4):
        fp = footprint(x, y, angle, length, depth)
        if inner.contains(fp):
            return fp
        length *= 0.8
        depth *= 0.85
    return None
