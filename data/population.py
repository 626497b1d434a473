"""Households, residents and the lower party organisations, generated lazily grid by grid.

Each grid has its own random stream (derived from the city seed and the grid number), and
identity numbers come from one allocator walked in grid order, so iterating the city twice
yields identical rows while only one grid is ever held in memory.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from data.city import City, OrgRec, PersonRec
from data.people import (
    DISTRICT_CODE,
    IdNumberAllocator,
    birth_date,
    full_name,
    household_members,
    mobile,
    surname,
)
from gis.party.vocabulary import BRANCH_TYPE

WORK_UNITS = (
    "华亭市人民医院",
    "华亭市第一中学",
    "华亭市第二中学",
    "华亭市财政局",
    "华亭市住房和城乡建设局",
    "华亭市教育局",
    "华亭市市场监督管理局",
    "华亭煤业集团有限责任公司",
    "华亭市自然资源局",
    "华亭市东华街道办事处",
    "华亭市公安局",
    "华亭市税务局",
    "中国邮政华亭分公司",
    "华亭市供电公司",
    "华亭市城市管理综合执法局",
    "华亭市中医医院",
    "华亭市实验小学",
    "华亭市农业农村局",
)

# Relative chance of being a party member by age band (older generations joined more often).
_AGE_WEIGHT = ((25, 0.5), (35, 0.85), (60, 1.0), (200, 1.5))


@dataclass
class GridPopulation:
    """Rows of one grid. Indices are city-wide and 0-based; the loader adds id offsets.

    households: (index, code, building, unit, floor, room, address)
    residents: (index, household, name, gender, birth_year, id_number, phone, relation)
    persons: (index, PersonRec) — secretaries drawn from the residents
    orgs: (index, OrgRec) — 楼栋党小组
    members: (resident, 支部, 党小组 or None, joined_on, status, in_service, work_unit,
              community, registered_on)
    central: 党员中心户 (code, household, host resident, named_on, households served)
    groups: resident → the special groups the grid looks after (gis/special_groups.py)
    """

    grid: int
    households: list[tuple[int, str, int, int, int, str, str]] = field(default_factory=list)
    residents: list[tuple[int, int, str, str, int, str, str | None, str]] = field(
        default_factory=list
    )
    persons: list[tuple[int, PersonRec]] = field(default_factory=list)
    orgs: list[tuple[int, OrgRec]] = field(default_factory=list)
    members: list[
        tuple[
            int,
            int,
            int | None,
            datetime.date,
            str,
            bool,
            str | None,
            int | None,
            datetime.date | None,
        ]
    ] = field(default_factory=list)
    central: list[tuple[str, int, int, datetime.date, list[int]]] = field(default_factory=list)
    groups: dict[int, tuple[str, ...]] = field(default_factory=dict)


# Shares of the special groups among the people they can apply to (demo figures in the range
# street offices report: a few per cent of residents, most of them elderly).
_GROUP_SHARES = {
    "empty_nest": 0.6,  # of the people of an all-60+ household of two or more
    "hardship": 0.03,  # of households (every member is flagged)
    "disabled": 0.015,
    "left_behind_child": 0.05,  # of children under 16 (mostly where a parent lives away)
    "veteran": 0.025,  # of men aged 22 to 80
}


def special_groups(
    rng: random.Random, household: list[tuple[int, int, str, str]]
) -> dict[int, tuple[str, ...]]:
    """The special groups of one household's residents, given (index, age, gender, relation).

    An old person living alone is always 独居老人; the other groups are drawn with
    :data:`_GROUP_SHARES`. Keys are those of gis.special_groups.SPECIAL_GROUPS.

    >>> special_groups(random.Random(1), [(7, 81, "女", "户主")])[7][0]
    'elderly_alone'
    """
    out: dict[int, list[str]] = {r: [] for r, *_ in household}
    ages = [age for _, age, _, _ in household]
    hardship = rng.random() < _GROUP_SHARES["hardship"]
    adults_present = sum(1 for _, age, _, rel in household if age >= 18 and rel != "父母")
    all_old = len(household) >= 2 and min(ages) >= 60
    for r, age, gender, _relation in household:
        if len(household) == 1 and age >= 65:
            out[r].append("elderly_alone")
        elif all_old and rng.random() < _GROUP_SHARES["empty_nest"]:
            out[r].append("empty_nest")
        if hardship:
            out[r].append("hardship")
        if rng.random() < _GROUP_SHARES["disabled"]:
            out[r].append("disabled")
        # Children whose parents work away: far likelier where fewer than two adults live.
        away = _GROUP_SHARES["left_behind_child"] * (6 if adults_present < 2 else 0.2)
        if age < 16 and rng.random() < away:
            out[r].append("left_behind_child")
        if gender == "男" and 22 <= age <= 80 and rng.random() < _GROUP_SHARES["veteran"]:
            out[r].append("veteran")
    return {r: tuple(g) for r, g in out.items() if g}


def _weight(age: int) -> float:
    for top, w in _AGE_WEIGHT:
        if age <= top:
            return w
    return 1.0


def _date_between(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    lo, hi = start.toordinal(), end.toordinal()
    return datetime.date.fromordinal(rng.randint(min(lo, hi), hi))


HouseholdRow = tuple[int, str, int, int, int, str, str]


def _grid_households(city: City, gi: int, first: int) -> list[HouseholdRow]:
    """Households of grid ``gi`` (own random stream), numbered from ``first``."""
    rng = random.Random(f"gridgov-demo/{city.seed}/flats/{gi}")
    rows: list[HouseholdRow] = []
    n = first
    for b_idx in city.grids[gi].buildings:
        b = city.buildings[b_idx]
        if b.households == 0:
            continue
        per_unit = b.floors * b.rooms_per_floor
        for flat in sorted(rng.sample(range(per_unit * b.units), b.households)):
            unit, rem = divmod(flat, per_unit)
            floor, k = divmod(rem, b.rooms_per_floor)
            room = f"{floor + 1}{k + 1:02d}"
            address = f"{b.address}{unit + 1}单元{room}室"
            rows.append(
                (n, f"{DISTRICT_CODE}H{n + 1:09d}", b_idx, unit + 1, floor + 1, room, address)
            )
            n += 1
    return rows


CENTRAL_HOUSEHOLD_SERVES = 5


def _neighbours(
    households: list[tuple[int, str, int, int, int, str, str]], host: int, building: int
) -> list[int]:
    """The households of ``building`` nearest to ``host``: same unit first, then by floor."""
    by_index = {h[0]: h for h in households}
    unit, floor = by_index[host][3], by_index[host][4]
    others = [h for h in households if h[2] == building and h[0] != host]
    others.sort(key=lambda h: (h[3] != unit, abs(h[4] - floor), h[0]))
    return [h[0] for h in others[:CENTRAL_HOUSEHOLD_SERVES]]


def iter_households(city: City) -> Iterator[list[HouseholdRow]]:
    """Yield the households of each grid in order: the same rows as :func:`iter_population`.

    Households have their own random stream, so the loader can write them all first (cheap)
    and then stream residents while PostgreSQL ingests them.
    """
    n = 0
    for gi in range(len(city.grids)):
        rows = _grid_households(city, gi, n)
        n += len(rows)
        yield rows


def iter_population(city: City) -> Iterator[GridPopulation]:
    """Yield the population of each grid in order."""
    ids = IdNumberAllocator(first_slot=0, last_slot=450)
    as_of = city.as_of
    hh_next = 0
    res_next = 0
    person_next = len(city.persons)
    org_next = len(city.orgs)
    # A grid without a branch (a blank spot): its members belong to the community's 支部
    # (the community 党支部 itself, or the 直属党支部 of its 党委/党总支).
    comm_branch = {
        o.area: i
        for i, o in enumerate(city.orgs)
        if o.level == "community" and o.org_type == BRANCH_TYPE
    }
    for gi, g in enumerate(city.grids):
        rng = random.Random(f"gridgov-demo/{city.seed}/grid/{gi}")
        # Own stream, so adding the groups left every other generated row as it was.
        groups_rng = random.Random(f"gridgov-demo/{city.seed}/groups/{gi}")
        pop = GridPopulation(gi)
        # (resident index, age, household index, building index, name, gender, phone, id)
        adults: list[tuple[int, int, int, int, str, str, str | None, str]] = []
        pop.households = _grid_households(city, gi, hh_next)
        for h, _code, b_idx, *_ in pop.households:
            members = household_members(rng)
            head_family = surname(rng)
            spouse_family = surname(rng)
            head_male = members[0].gender == "男"
            household: list[tuple[int, int, str, str]] = []
            for m in members:
                if m.relation == "户主":
                    family = head_family
                elif m.relation == "配偶":
                    family = spouse_family
                elif m.relation == "子女":
                    family = head_family if head_male or rng.random() < 0.3 else spouse_family
                elif m.relation == "父母":
                    family = head_family if m.gender == "男" and head_male else surname(rng)
                else:
                    family = surname(rng)
                name = full_name(rng, m.gender, family)
                born = birth_date(rng, as_of, m.age)
                idn = ids.allocate(born, m.gender == "男")
                year = int(idn[6:10])
                age = as_of.year - year
                phone = mobile(rng) if age >= 16 and rng.random() < 0.92 else None
                pop.residents.append((res_next, h, name, m.gender, year, idn, phone, m.relation))
                household.append((res_next, age, m.gender, m.relation))
                if age >= 18:
                    adults.append((res_next, age, h, b_idx, name, m.gender, phone, idn))
                res_next += 1
            pop.groups.update(special_groups(groups_rng, household))
        hh_next += len(pop.households)

        # Party members: 6.2-7.8 % of the grid's adults, older people more likely.
        rate = rng.uniform(0.062, 0.078)
        k = round(rate * len(adults))
        keyed = sorted(adults, key=lambda a: -(rng.random() ** (1.0 / _weight(a[1]))))
        chosen = sorted(keyed[:k])
        grid_org = g.branch if g.branch is not None else comm_branch[g.community]
        by_building: dict[int, list[tuple[int, int, int, int, str, str, str | None, str]]] = {}
        for a in chosen:
            by_building.setdefault(a[3], []).append(a)
        group_of_resident: dict[int, int] = {}
        for b_idx, ms in by_building.items():
            b = city.buildings[b_idx]
            parent = grid_org
            if len(ms) >= 3 and rng.random() < 0.8:
                leader = max(ms, key=lambda a: (30 <= a[1] <= 70, a[0] % 7))
                pop.persons.append(
                    (
                        person_next,
                        PersonRec(leader[4], leader[5], leader[6], leader[7], "楼栋党小组组长"),
                    )
                )
                parent = org_next
                pop.orgs.append(
                    (
                        org_next,
                        OrgRec(
                            f"DZ{b.code}",
                            f"{b.name}党小组",
                            "building",
                            "党小组",
                            grid_org,
                            None,
                            b_idx,
                            None,
                            person_next,
                            _date_between(rng, datetime.date(2019, 1, 1), as_of),
                            b.point,
                        ),
                    )
                )
                person_next += 1
                org_next += 1
                for a in ms:
                    group_of_resident[a[0]] = parent
            # 党员中心户: about half of the buildings with members have one — a role of the
            # member's household, not an organisation: it looks after the nearest neighbouring
            # households of its building (same unit first, then by floor; at most
            # CENTRAL_HOUSEHOLD_SERVES). Its public code is its building's, never the flat's.
            if rng.random() < 0.5:
                cands = [a for a in ms if 30 <= a[1] <= 75] or ms
                host = rng.choice(cands)
                named_on = _date_between(rng, datetime.date(2020, 1, 1), as_of)
                pop.central.append(
                    (
                        f"DZ{b.code}H",
                        host[2],
                        host[0],
                        named_on,
                        _neighbours(pop.households, host[2], b_idx),
                    )
                )
        for a in chosen:
            res_idx, age = a[0], a[1]
            group = group_of_resident.get(res_idx)
            if rng.random() < 0.03:
                joined = as_of - datetime.timedelta(days=rng.randint(10, 360))
                status = "预备党员"
            else:
                join_age = rng.randint(18, max(18, min(age, 50)))
                joined = birth_date(rng, datetime.date(as_of.year - age + join_age, 6, 30), 0)
                latest = as_of - datetime.timedelta(days=400)
                joined = min(joined, latest)
                status = "正式党员"
            in_service = age <= 60 and rng.random() < 0.42
            work_unit = rng.choice(WORK_UNITS) if in_service else None
            reg_comm = g.community if in_service else None
            reg_on = _date_between(rng, datetime.date(2015, 6, 1), as_of) if in_service else None
            pop.members.append(
                (res_idx, grid_org, group, joined, status, in_service, work_unit, reg_comm, reg_on)
            )
        yield pop
