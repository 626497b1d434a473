"""The static part of the demo city: areas, staff, buildings, party organisations, facilities.

Households, residents, the lower party organisations and party members are generated lazily
per grid by :mod:`data.population`; incidents by :mod:`data.incidents`. Everything refers to
other rows by *local index* (position in the city's lists); the loader turns indices into
database ids, so the same city can be loaded next to existing data.
"""

from __future__ import annotations

import csv
import datetime
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union

from data.geometry import (
    Lattice,
    Rect,
    building_slots,
    fit_footprint,
    make_lattice,
    to_lonlat,
    treemap,
)
from data.people import DISTRICT_CODE, IdNumberAllocator, birth_date, full_name, mobile
from gis.party.vocabulary import BRANCH_TYPE, GENERAL_BRANCH, street_committee_type

REFERENCE_DIR = Path(__file__).parent / "reference"
HOUSEHOLDS_PER_GRID = 20_000 / 56  # the default city has 56 grids
GRIDS_PER_COMMUNITY = 56 / 15
BLOCKS_PER_GRID = 2.6
SETBACK_M = 10.0


@dataclass
class AreaRec:
    """One area row; ``parent`` is a list index, ``cells`` the lattice blocks it covers."""

    level: str
    code: str
    name: str
    kind: str
    parent: int | None
    geom: MultiPolygon
    cells: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class PersonRec:
    name: str
    gender: str
    phone: str | None
    id_number: str | None
    title: str


@dataclass
class BuildingRec:
    code: str
    name: str
    address: str
    use: str
    floors: int
    units: int
    rooms_per_floor: int
    households: int
    grid: int
    geom: Polygon
    point: tuple[float, float]


@dataclass
class GridRec:
    """Per-grid bookkeeping for the lazy population generator."""

    area: int
    community: int
    street: int
    households: int
    buildings: list[int]
    chief: int
    workers: tuple[int, int]
    instructor: int
    branch: int | None = None


@dataclass
class OrgRec:
    code: str
    name: str
    level: str
    org_type: str
    parent: int | None
    area: int | None
    building: int | None
    household: int | None
    secretary: int | None
    founded_on: datetime.date
    point: tuple[float, float]


@dataclass
class FacilityRec:
    code: str
    name: str
    kind: str
    area: int
    address: str
    opening_hours: str
    phone: str | None
    point: tuple[float, float]


@dataclass
class City:
    """A generated city; see :func:`data.demo.build_city`.

    All cross-references are indices into the lists here. ``grids[i]`` describes the i-th grid
    (its area, community, street, household target, buildings and staff); ``incidents`` is how
    many incidents :func:`data.incidents.iter_incidents` will yield.
    """

    households: int
    seed: int
    as_of: datetime.date
    areas: list[AreaRec]
    persons: list[PersonRec]
    staff: list[tuple[int, int, str]]  # (grid area index, person index, role)
    buildings: list[BuildingRec]
    grids: list[GridRec]
    orgs: list[OrgRec]
    facilities: list[FacilityRec]
    lattice: Lattice  # in lon/lat
    street_of_area: dict[int, int]
    community_of_area: dict[int, int]
    incidents: int

    def area_indices(self, level: str) -> list[int]:
        return [i for i, a in enumerate(self.areas) if a.level == level]


_EW_ROADS = (
    "北环路",
    "新华路",
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "民主路",
    "团结路",
    "东兴路",
    "文化路",
    "朝阳路",
    "迎宾路",
    "汭河路",
    "滨河路",
    "南环路",
)
_NS_ROADS = (
    "西关街",
    "北关街",
    "仪州路",
    "崆峒路",
    "光明路",
    "育才路",
    "教育路",
    "振兴路",
    "莲花路",
    "工农路",
    "矿区路",
    "长安路",
    "富民路",
    "华亭路",
    "东关街",
    "安康路",
    "兴业路",
    "东环路",
    "秀峰路",
    "瑞丰路",
)
_COMPOUND_A = (
    "金",
    "华",
    "瑞",
    "阳光",
    "幸福",
    "康",
    "泰",
    "锦",
    "嘉",
    "鑫",
    "福",
    "怡",
    "和",
    "盛",
    "凤",
    "莲",
    "祥",
    "宏",
    "丽",
    "新",
)
_COMPOUND_B = ("苑", "家园", "小区", "花园", "新村", "雅居", "佳园", "公寓", "名邸", "城")
_SYN_STREETS = (
    "汭滨街道",
    "仪州街道",
    "莲湖街道",
    "关山街道",
    "华兴街道",
    "新城街道",
    "朝阳街道",
    "东湖街道",
    "西城街道",
    "北山街道",
    "南苑街道",
    "兴华街道",
)
_SYN_COMM_A = (
    "和平",
    "幸福",
    "阳光",
    "康乐",
    "安居",
    "富民",
    "长兴",
    "锦绣",
    "泰和",
    "福润",
    "春晖",
    "嘉禾",
    "翠柏",
    "金桥",
    "永安",
    "明珠",
    "瑞祥",
    "兴隆",
    "丰泽",
    "清泉",
)
_SYN_COMM_B = ("里", "苑", "园", "湾", "坊", "街", "路", "庭", "居", "城")
_SYN_COMM_C = ("", "东", "西", "南", "北", "中")


def _road_name(names: tuple[str, ...], i: int, prefix: str) -> str:
    return names[i] if i < len(names) else f"{prefix}{i - len(names) + 1}路"


def road_names(lat: Lattice) -> tuple[list[str], list[str]]:
    """Names of the east-west roads (one per lattice row of nodes, north first) and of the
    north-south roads (one per column of nodes, west first)."""
    ew = [_road_name(_EW_ROADS, r, "纬") for r in range(lat.rows + 1)]
    ns = [_road_name(_NS_ROADS, c, "经") for c in range(lat.cols + 1)]
    return ew, ns


def load_reference() -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Read the copied NBS rows: street code → name, and (code, name, street code) communities."""
    streets: dict[str, str] = {}
    communities: list[tuple[str, str, str]] = []
    with (REFERENCE_DIR / "huating_divisions.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["level"] == "street":
                streets[row["code"]] = row["name"]
            elif row["level"] == "community":
                name = row["name"].removesuffix("居委会")
                if not name.endswith("社区"):
                    name += "社区"
                communities.append((row["code"], name, row["parent_code"]))
    return streets, communities


def _plan_divisions(
    n_comm: int, rng: random.Random
) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """Streets (code, name, kind, [(community code, name)]) holding ``n_comm`` communities.

    Real communities of 东华街道 and 东华镇 come first; synthetic streets (codes 620881002000
    onwards, 002..099 then 300..999, never clashing with real ones) hold the rest.
    """
    streets, comms = load_reference()
    by_street: dict[str, list[tuple[str, str]]] = {s: [] for s in streets}
    for code, name, parent in comms:
        by_street[parent].append((code, name))
    dh, town = "620881001000", "620881100000"
    real_total = len(by_street[dh]) + len(by_street[town])
    if n_comm <= real_total:
        n_town = 0 if n_comm < 2 else max(1, round(n_comm * len(by_street[town]) / real_total))
        plan = [(dh, streets[dh], "街道", by_street[dh][: n_comm - n_town])]
        if n_town:
            plan.append((town, streets[town], "镇", by_street[town][:n_town]))
        return plan
    plan = [(dh, streets[dh], "街道", by_street[dh]), (town, streets[town], "镇", by_street[town])]
    left = n_comm - real_total
    names = [c + a + b + "社区" for c in _SYN_COMM_C for a in _SYN_COMM_A for b in _SYN_COMM_B]
    rng.shuffle(names)
    street_nums = [*range(2, 100), *range(300, 1000)]
    k = 0
    while left > 0:
        size = min(left, rng.randint(8, 14))
        num = street_nums[k]
        code9 = f"{DISTRICT_CODE}{num:03d}"
        sname = _SYN_STREETS[k] if k < len(_SYN_STREETS) else f"新区第{k + 1}街道"
        members = []
        for j in range(size):
            idx = n_comm - left + j - real_total
            cname = names[idx] if idx < len(names) else f"新区第{idx + 1}社区"
            members.append((f"{code9}{j + 1:03d}", cname))
        plan.append((code9 + "000", sname, "街道", members))
        left -= size
        k += 1
    return plan


def _split(total: int, weights: list[float]) -> list[int]:
    """Integer split of ``total`` proportional to ``weights`` (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: out[i] - raw[i])
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def grid_count(households: int) -> int:
    """Number of grids so that each holds 300-500 households (≈357 on average)."""
    g = max(1, round(households / HOUSEHOLDS_PER_GRID))
    while g > 1 and households / g < 300:
        g -= 1
    while households / g > 500:
        g += 1
    return g


def _grid_targets(households: int, g: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.86, 1.14) for _ in range(g)]
    out = _split(households, weights)
    # Clamp into 300-500 (only matters for tiny cities); move the excess to grids with room.
    lo, hi = (300, 500) if households >= 300 * g else (0, 500)
    for i in range(g):
        while out[i] > hi:
            j = min(range(g), key=lambda k: out[k])
            out[i] -= 1
            out[j] += 1
        while out[i] < lo:
            j = max(range(g), key=lambda k: out[k])
            out[i] += 1
            out[j] -= 1
    return out


def _as_multi(g: shapely.Geometry) -> MultiPolygon:
    if isinstance(g, MultiPolygon):
        return g
    if isinstance(g, Polygon):
        return MultiPolygon([g])
    raise ValueError(f"unexpected geometry {shapely.get_type_id(g)}")


def _person(
    rng: random.Random,
    ids: IdNumberAllocator,
    as_of: datetime.date,
    title: str,
    age_range: tuple[int, int],
    female_share: float = 0.5,
) -> PersonRec:
    gender = "女" if rng.random() < female_share else "男"
    born = birth_date(rng, as_of, rng.randint(*age_range))
    return PersonRec(
        full_name(rng, gender), gender, mobile(rng), ids.allocate(born, gender == "男"), title
    )


def _date_between(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return datetime.date.fromordinal(rng.randint(start.toordinal(), max(start, end).toordinal()))


def _centre_point(
    lat: Lattice, cells: list[tuple[int, int]], rng: random.Random
) -> tuple[float, float]:
    """A point well inside one of ``cells`` (the one nearest their mean), in lon/lat."""
    mr = sum(r for r, _ in cells) / len(cells)
    mc = sum(c for _, c in cells) / len(cells)
    r, c = min(cells, key=lambda rc: (rc[0] - mr) ** 2 + (rc[1] - mc) ** 2)
    return lat.bilinear(r, c, rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7))


def _random_point(
    lat: Lattice, cells: list[tuple[int, int]], rng: random.Random
) -> tuple[float, float]:
    r, c = rng.choice(cells)
    return lat.bilinear(r, c, rng.uniform(0.08, 0.92), rng.uniform(0.08, 0.92))


_CN_NUM = "〇一二三四五六七八九十"
_ORG_SUFFIX = {"党委": "委员会", "党总支": "总支部委员会", "党支部": "支部委员会"}


def _branch_communities(
    orgs: list[OrgRec], areas: list[AreaRec], grids: list[GridRec], blank: set[int]
) -> None:
    """Every member belongs to a 党支部 (gis.party.vocabulary): a community organisation with
    grid branches under it is a 党总支 at least, and a 党委/党总支 whose grids include a blank
    spot gets a 直属党支部 for the members living there. Draws nothing from the random stream."""
    by_area = {o.area: i for i, o in enumerate(orgs) if o.level == "community"}
    branched = {g.community for gi, g in enumerate(grids) if gi not in blank}
    for c_area, i in by_area.items():
        o = orgs[i]
        if o.org_type == BRANCH_TYPE and c_area in branched:
            o.org_type = GENERAL_BRANCH
            o.name = o.name.removesuffix(_ORG_SUFFIX[BRANCH_TYPE]) + _ORG_SUFFIX[GENERAL_BRANCH]
    for c_area in sorted({grids[gi].community for gi in blank}):
        o = orgs[by_area[c_area]]
        if o.org_type == BRANCH_TYPE:
            continue
        orgs.append(
            OrgRec(
                o.code + "Z",
                f"{areas[c_area].name}直属党支部",
                "community",
                BRANCH_TYPE,
                by_area[c_area],
                c_area,
                None,
                None,
                o.secretary,
                o.founded_on,
                o.point,
            )
        )


def build_static(households: int, seed: int, as_of: datetime.date) -> City:
    """Build everything except households, residents, low-level party orgs and incidents."""
    rng = random.Random(f"gridgov-demo/{seed}/static")
    staff_ids = IdNumberAllocator(first_slot=450, last_slot=500)
    n_grids = grid_count(households)
    n_comm = max(1, min(n_grids, round(n_grids / GRIDS_PER_COMMUNITY)))
    plan = _plan_divisions(n_comm, rng)
    comm_grids = _split(n_grids, [rng.uniform(0.6, 1.4) for _ in range(n_comm)])
    comm_grids = [max(1, g) for g in comm_grids]
    while sum(comm_grids) > n_grids:
        comm_grids[comm_grids.index(max(comm_grids))] -= 1
    targets = _grid_targets(households, n_grids, rng)

    # Lattice dimensions: a valley town about 2.2 times as wide as it is tall.
    n_blocks = math.ceil(n_grids * BLOCKS_PER_GRID)
    rows = max(2, round(math.sqrt(n_blocks / 2.2)))
    cols = max(2, math.ceil(n_blocks / rows))
    lat_m = make_lattice(rng, rows, cols)
    cx = float((lat_m.x.min() + lat_m.x.max()) / 2)
    cy = float((lat_m.y.min() + lat_m.y.max()) / 2)
    lon = to_lonlat(
        shapely.MultiPoint(list(zip(lat_m.x.ravel(), lat_m.y.ravel(), strict=True))), cx, cy
    )
    coords = shapely.get_coordinates(lon)
    lat_ll = Lattice(coords[:, 0].reshape(lat_m.x.shape), coords[:, 1].reshape(lat_m.y.shape))

    # Hierarchical guillotine layout in lattice-cell space.
    street_sizes = [
        sum(comm_grids[k] for k in range(n0, n0 + len(s[3])))
        for n0, s in zip(_offsets(plan), plan, strict=True)
    ]
    street_rects = treemap(Rect(0, 0, cols, rows), street_sizes, street_sizes)
    areas: list[AreaRec] = []
    block_ll = {(r, c): lat_ll.block(r, c) for r in range(rows) for c in range(cols)}

    def union(cells: list[tuple[int, int]]) -> MultiPolygon:
        return _as_multi(unary_union([block_ll[rc] for rc in cells]))

    areas.append(
        AreaRec(
            "district",
            DISTRICT_CODE,
            "华亭市",
            "县级市",
            None,
            union(list(block_ll)),
            list(block_ll),
        )
    )
    grid_plan: list[tuple[int, int, Rect, int]] = []  # (street idx, community idx, rect, target)
    street_of: dict[int, int] = {}
    comm_of: dict[int, int] = {}
    k_comm = 0
    k_grid = 0
    for (scode, sname, skind, members), srect in zip(plan, street_rects, strict=True):
        s_idx = len(areas)
        areas.append(AreaRec("street", scode, sname, skind, 0, union(srect.cells()), srect.cells()))
        sizes = comm_grids[k_comm : k_comm + len(members)]
        crects = treemap(srect, [float(x) for x in sizes], sizes)
        for (ccode, cname), crect, ng in zip(members, crects, sizes, strict=True):
            c_idx = len(areas)
            areas.append(
                AreaRec(
                    "community", ccode, cname, "社区", s_idx, union(crect.cells()), crect.cells()
                )
            )
            street_of[c_idx] = s_idx
            tg = targets[k_grid : k_grid + ng]
            grects = treemap(crect, [float(t) for t in tg], [1] * ng)
            # Grid numbers run west→east within rows north→south; targets follow the rects.
            for grect, t in sorted(zip(grects, tg, strict=True), key=lambda p: (p[0].r0, p[0].c0)):
                grid_plan.append((s_idx, c_idx, grect, t))
            k_grid += ng
        k_comm += len(members)

    # Grid areas (after their communities so parents precede children in the list).
    seq_in_comm: dict[int, int] = {}
    grid_area: list[int] = []
    for s_idx, c_idx, grect, _t in grid_plan:
        n = seq_in_comm.get(c_idx, 0) + 1
        seq_in_comm[c_idx] = n
        comm = areas[c_idx]
        num = _CN_NUM[n] if n <= 10 else str(n)
        a_idx = len(areas)
        areas.append(
            AreaRec(
                "grid",
                f"{comm.code}{n:03d}",
                f"{comm.name}第{num}网格",
                "综合网格",
                c_idx,
                union(grect.cells()),
                grect.cells(),
            )
        )
        street_of[a_idx] = s_idx
        comm_of[a_idx] = c_idx
        grid_area.append(a_idx)

    # Staff: one chief, two workers, one party-building instructor per grid.
    persons: list[PersonRec] = []
    staff: list[tuple[int, int, str]] = []
    grids: list[GridRec] = []
    for (s_idx, c_idx, _r, t), a_idx in zip(grid_plan, grid_area, strict=True):
        p0 = len(persons)
        persons.append(_person(rng, staff_ids, as_of, "网格长", (32, 55)))
        persons.append(_person(rng, staff_ids, as_of, "专职网格员", (24, 45), 0.6))
        persons.append(_person(rng, staff_ids, as_of, "专职网格员", (24, 50), 0.6))
        persons.append(_person(rng, staff_ids, as_of, "党建指导员", (30, 56)))
        staff += [
            (a_idx, p0, "chief"),
            (a_idx, p0 + 1, "worker"),
            (a_idx, p0 + 2, "worker"),
            (a_idx, p0 + 3, "instructor"),
        ]
        grids.append(GridRec(a_idx, c_idx, s_idx, t, [], p0, (p0 + 1, p0 + 2), p0 + 3))

    buildings = _place_buildings(rng, lat_m, lat_ll, cx, cy, areas, grids)

    # Party organisations: street 党工委, community 党委/党总支/党支部, grid 网格党支部.
    orgs: list[OrgRec] = []
    org_of_area: dict[int, int] = {}
    for a_idx, a in enumerate(areas):
        if a.level == "street":
            sec = len(persons)
            persons.append(_person(rng, staff_ids, as_of, "党工委书记", (42, 58), 0.3))
            org_of_area[a_idx] = len(orgs)
            suffix = "工作委员会" if a.kind == "街道" else "委员会"
            orgs.append(
                OrgRec(
                    f"DZ{a.code[:9]}",
                    f"中共华亭市{a.name}{suffix}",
                    "street",
                    street_committee_type(a.kind),
                    None,
                    a_idx,
                    None,
                    None,
                    sec,
                    _date_between(rng, datetime.date(1956, 1, 1), datetime.date(2005, 12, 31)),
                    _centre_point(lat_ll, a.cells, rng),
                )
            )
    for a_idx, a in enumerate(areas):
        if a.level == "community":
            ng = sum(1 for g in grids if g.community == a_idx)
            otype = "党委" if ng >= 4 else "党总支" if ng == 3 else "党支部"
            sec = len(persons)
            persons.append(_person(rng, staff_ids, as_of, "社区党组织书记", (35, 56), 0.55))
            org_of_area[a_idx] = len(orgs)
            orgs.append(
                OrgRec(
                    f"DZ{a.code}",
                    f"中共华亭市{areas[street_of[a_idx]].name}{a.name}{_ORG_SUFFIX[otype]}",
                    "community",
                    otype,
                    org_of_area[street_of[a_idx]],
                    a_idx,
                    None,
                    None,
                    sec,
                    _date_between(rng, datetime.date(2000, 1, 1), datetime.date(2016, 12, 31)),
                    _centre_point(lat_ll, a.cells, rng),
                )
            )
    # "Blank spots": a few grids (≈5 %) deliberately have no party branch yet.
    blank = set(rng.sample(range(len(grids)), max(1, round(len(grids) * 0.05))))
    _branch_communities(orgs, areas, grids, blank)
    for gi, g in enumerate(grids):
        if gi in blank:
            continue
        a = areas[g.area]
        g.branch = len(orgs)
        orgs.append(
            OrgRec(
                f"DZ{a.code}",
                f"{a.name}党支部",
                "grid",
                "党支部",
                org_of_area[g.community],
                g.area,
                None,
                None,
                g.chief,
                _date_between(
                    rng, datetime.date(2018, 3, 1), min(as_of, datetime.date(2023, 6, 30))
                ),
                _centre_point(lat_ll, a.cells, rng),
            )
        )

    facilities = _facilities(rng, lat_ll, areas, households)
    n_incidents = round(households * 0.15)
    return City(
        households,
        seed,
        as_of,
        areas,
        persons,
        staff,
        buildings,
        grids,
        orgs,
        facilities,
        lat_ll,
        street_of,
        comm_of,
        n_incidents,
    )


def _offsets(plan: list[tuple[str, str, str, list[tuple[str, str]]]]) -> list[int]:
    out, n = [], 0
    for s in plan:
        out.append(n)
        n += len(s[3])
    return out


_FLOORS = (4, 5, 6, 7, 11, 18, 26)
_FLOOR_W = (5, 15, 40, 10, 15, 12, 3)


def _place_buildings(
    rng: random.Random,
    lat_m: Lattice,
    lat_ll: Lattice,
    cx: float,
    cy: float,
    areas: list[AreaRec],
    grids: list[GridRec],
) -> list[BuildingRec]:
    ew, _ns = road_names(lat_m)
    buildings: list[BuildingRec] = []
    seq = 0
    for g in grids:
        street = areas[g.street].name
        comm = areas[g.community].name
        cells = areas[g.area].cells
        # Each block is a compound (小区) with its own name and street number. Only slots where
        # a residential footprint fits inside the setback are kept.
        Slot = tuple[tuple[int, int], tuple[float, float, float, float], Polygon]
        res_slots: list[Slot] = []
        other_slots: list[Slot] = []
        inner_of: dict[tuple[int, int], Polygon] = {}
        for rc in cells:
            inner = lat_m.block(rc[0], rc[1]).buffer(-SETBACK_M, join_style="mitre")
            inner_of[rc] = inner
            slots: list[Slot] = []
            for sl in building_slots(lat_m, rc[0], rc[1], rng, SETBACK_M):
                fp0 = fit_footprint(inner, sl[0], sl[1], sl[2], "住宅", sl[3])
                if fp0 is not None:
                    slots.append((rc, sl, fp0))
            rng.shuffle(slots)
            if len(slots) >= 3 and rng.random() < 0.6:
                other_slots.append(slots.pop())
            if len(slots) >= 6 and rng.random() < 0.3:
                other_slots.append(slots.pop())
            res_slots += slots
        rng.shuffle(res_slots)
        # Choose residential buildings until their expected occupancy covers the grid's target.
        specs: list[list[int]] = []  # [floors, units, rooms_per_floor]
        chosen: list[Slot] = []
        cap = 0
        for slot in res_slots:
            if cap * 0.88 >= g.households:
                break
            f = rng.choices(_FLOORS, weights=_FLOOR_W)[0]
            u = rng.choice((2, 2, 3, 3, 4))
            rpf = 2 if f < 11 else rng.choice((2, 3, 4))
            specs.append([f, u, rpf])
            chosen.append(slot)
            cap += f * u * rpf
        if not chosen:
            raise ValueError("grid has no room for buildings")
        while cap * 0.88 < g.households:  # dense grid: build higher
            i = min(range(len(specs)), key=lambda k: specs[k][0] * specs[k][1] * specs[k][2])
            f, u, rpf = specs[i]
            specs[i] = [min(33, f + 6), min(6, u + (f >= 33)), min(4, rpf + (f >= 27))]
            cap = sum(a * b * c for a, b, c in specs)
        caps = [a * b * c for a, b, c in specs]
        hh = _split(g.households, [float(c) for c in caps])
        # Never more households than flats: move overflow to buildings with room.
        for i in range(len(hh)):
            while hh[i] > caps[i]:
                j = max(range(len(hh)), key=lambda k: caps[k] - hh[k])
                hh[i] -= 1
                hh[j] += 1
        todo = [
            (rc, s, fp0, "住宅" if rng.random() > 0.1 else "混合", spec, n)
            for (rc, s, fp0), spec, n in zip(chosen, specs, hh, strict=True)
        ]
        for rc, s, fp0 in other_slots:
            use = rng.choices(("商业", "公共服务", "办公"), weights=(45, 30, 25))[0]
            todo.append((rc, s, fp0, use, [rng.randint(1, 6), 1, 0], 0))
        todo.sort(key=lambda t: (t[0], t[1][1] * -1, t[1][0]))  # per block, north→south
        num_in_block: dict[tuple[int, int], int] = {}
        compound: dict[tuple[int, int], str] = {}
        for rc, (x, y, ang, maxlen), fp0, use, (f, u, rpf), n in todo:
            r, c = rc
            fp = (
                fp0 if use == "住宅" else fit_footprint(inner_of[rc], x, y, ang, use, maxlen) or fp0
            )
            if rc not in compound:
                compound[rc] = rng.choice(_COMPOUND_A) + rng.choice(_COMPOUND_B)
            b = num_in_block.get(rc, 0) + 1
            num_in_block[rc] = b
            seq += 1
            geom = to_lonlat(fp, cx, cy)
            assert isinstance(geom, Polygon)
            pt = geom.representative_point()
            addr = f"华亭市{street}{comm} {ew[r + 1]}{2 * c + 1}号 {b}号楼"
            buildings.append(
                BuildingRec(
                    f"{DISTRICT_CODE}B{seq:07d}",
                    f"{compound[rc]}{b}号楼",
                    addr,
                    use,
                    f,
                    u,
                    rpf,
                    n,
                    g.area,
                    geom,
                    (pt.x, pt.y),
                )
            )
            g.buildings.append(len(buildings) - 1)
    return buildings


_HOURS = (
    "周一至周五 08:30-12:00, 14:30-18:00",
    "周一至周日 08:00-20:00",
    "周一至周六 09:00-17:30",
    "每日 07:30-19:00",
)


def _facilities(
    rng: random.Random, lat: Lattice, areas: list[AreaRec], households: int
) -> list[FacilityRec]:
    comms = [i for i, a in enumerate(areas) if a.level == "community"]
    out: list[FacilityRec] = []
    # 党群服务中心: ≈5 per 20,000 households, in the communities nearest the town centre, so
    # the outskirts stay beyond 1 km (what the 15-minute-circle analysis should reveal).
    district = areas[0].geom
    centre = district.centroid
    n_centres = max(1, min(len(comms), round(5 * households / 20_000)))
    by_dist = sorted(comms, key=lambda i: areas[i].geom.centroid.distance(centre))
    chosen = set(by_dist[:n_centres])
    k = 0

    def add(kind: str, a_idx: int, name: str, hours: str, central: bool) -> None:
        nonlocal k
        k += 1
        a = areas[a_idx]
        pt = _centre_point(lat, a.cells, rng) if central else _random_point(lat, a.cells, rng)
        phone = f"0933-77{rng.randrange(100000):05d}"
        out.append(
            FacilityRec(
                f"SF{a.code}{k:05d}",
                name,
                kind,
                a_idx,
                f"华亭市{areas[a.parent or 0].name}{a.name}",
                hours,
                phone,
                pt,
            )
        )

    for i in comms:
        a = areas[i]
        if i in chosen:
            add("党群服务中心", i, f"{a.name}党群服务中心", "周一至周日 08:30-18:00", True)
        add("新时代文明实践站", i, f"{a.name}新时代文明实践站", rng.choice(_HOURS), False)
        add("便民服务站", i, f"{a.name}便民服务站", rng.choice(_HOURS), False)
        if rng.random() < 0.6:
            add("党员活动室", i, f"{a.name}党员活动室", "周一至周五 09:00-17:00", False)
        if rng.random() < 0.4:
            add("日间照料中心", i, f"{a.name}日间照料中心", "周一至周日 08:00-18:00", False)
        if rng.random() < 0.5:
            add("卫生服务站", i, f"{a.name}卫生服务站", "周一至周日 08:00-17:30", False)
    return out
