"""Pure tests of the demo-city generator (no database)."""

from __future__ import annotations

import datetime
import math
import re
from collections import Counter

import pytest
import shapely
import shapely.ops

from data.demo import DEFAULT_HOUSEHOLDS, City, build_city, city_digest
from data.incidents import iter_incidents
from data.population import iter_population
from gis.identity import is_valid_id_number, is_valid_mobile
from gis.incidents.intake import JURISDICTION_TOLERANCE_M
from gis.incidents.rating import ACTOR_LINK

AS_OF = datetime.date(2026, 6, 30)


@pytest.fixture(scope="module")
def default_city() -> City:
    return build_city(as_of=AS_OF)


def test_default_city_figures(default_city: City) -> None:
    city = default_city
    levels = Counter(a.level for a in city.areas)
    assert levels["grid"] == 56
    assert levels["district"] == 1
    names = {a.name for a in city.areas if a.level == "community"}
    assert "文化街社区" in names
    assert {a.code for a in city.areas if a.level == "street"} == {"620881001000", "620881100000"}
    households_per_grid: Counter[int] = Counter()
    residents = 0
    for pop in iter_population(city):
        households_per_grid[city.grids[pop.grid].area] += len(pop.households)
        residents += len(pop.residents)
    assert sum(households_per_grid.values()) == DEFAULT_HOUSEHOLDS
    assert all(300 <= n <= 500 for n in households_per_grid.values())
    assert 2.5 <= residents / DEFAULT_HOUSEHOLDS <= 2.9


def test_same_seed_same_city(default_city: City) -> None:
    again = build_city(as_of=AS_OF)
    assert city_digest(again) == city_digest(default_city)


def test_other_seed_other_city() -> None:
    a = build_city(households=2_000, seed=1, as_of=AS_OF)
    b = build_city(households=2_000, seed=2, as_of=AS_OF)
    assert city_digest(a) != city_digest(b)


def test_people_are_well_formed() -> None:
    city = build_city(households=3_000, seed=7, as_of=AS_OF)
    seen: set[str] = set()
    unsafe = re.compile(r"[\t\n\r\\]")  # the loader writes these rows to COPY unescaped
    for pop in iter_population(city):
        for row in pop.households:
            assert not any(unsafe.search(str(v)) for v in row)
        for row in pop.residents:
            assert not any(unsafe.search(str(v)) for v in row)
        for _r, _h, name, gender, year, idn, phone, _rel in pop.residents:
            assert 2 <= len(name) <= 4
            assert is_valid_id_number(idn)
            assert idn.startswith("620881")
            assert int(idn[6:10]) == year
            assert (int(idn[16]) % 2 == 1) == (gender == "男")
            assert phone is None or is_valid_mobile(phone)
            assert idn not in seen
            seen.add(idn)
    for p in city.persons:
        assert p.id_number is not None and is_valid_id_number(p.id_number)
        assert p.id_number not in seen


def test_geometry_nests(default_city: City) -> None:
    city = default_city
    for i, a in enumerate(city.areas):
        assert a.geom.is_valid and a.geom.geom_type == "MultiPolygon"
        children = [c.geom for c in city.areas if c.parent == i]
        if children:
            union = shapely.union_all(children)
            assert union.symmetric_difference(a.geom).area <= 1e-12 * a.geom.area
            assert abs(sum(c.area for c in children) - a.geom.area) <= 1e-9 * a.geom.area
    for b in city.buildings:
        grid = city.areas[b.grid].geom
        assert b.geom.is_valid and grid.contains(b.geom)


def test_scaled_city_codes() -> None:
    city = build_city(households=120_000, seed=3, as_of=AS_OF)
    streets = [a for a in city.areas if a.level == "street"]
    assert len(streets) > 2
    fmt = {"street": r"620881\d{3}000", "community": r"620881\d{6}", "grid": r"620881\d{9}"}
    codes = Counter(a.code for a in city.areas)
    assert max(codes.values()) == 1
    for a in city.areas:
        if a.level != "district":
            assert re.fullmatch(fmt[a.level], a.code)
            parent = city.areas[a.parent or 0]
            assert a.code.startswith(
                parent.code[: {"street": 6, "community": 9, "grid": 12}[a.level]]
            )
    assert all(300 <= g.households <= 500 for g in city.grids)
    assert sum(g.households for g in city.grids) == 120_000


def test_incidents(default_city: City) -> None:
    city = default_city
    incidents = list(iter_incidents(city))
    assert len(incidents) == round(0.15 * DEFAULT_HOUSEHOLDS)
    # 一事一评: only a reporter rates his case, with his link (staff no longer record ratings).
    rated = [i for i in incidents if i.status == "evaluated"]
    assert rated and all(i.reporter_name and i.rating for i in rated)
    assert {i.transitions[-1][1] for i in rated} == {ACTOR_LINK}
    end = datetime.datetime.combine(AS_OF, datetime.time(23, 59), datetime.UTC)
    for inc in incidents:
        assert (inc.closed_at is not None) == (inc.status in ("closed", "evaluated"))
        assert inc.reported_at <= end
        assert inc.transitions[-1][3] == inc.status
        for prev, nxt in zip(inc.transitions, inc.transitions[1:], strict=False):
            assert prev[0] <= nxt[0] and prev[3] == nxt[2]
        if inc.grid is not None:
            assert city.areas[inc.grid].geom.contains(shapely.Point(inc.point))
        else:
            point = shapely.Point(inc.point)
            assert not city.areas[0].geom.intersects(point)
            # … but near enough to be taken by the intake (the jurisdiction's tolerance).
            edge, _ = shapely.ops.nearest_points(city.areas[0].geom, point)
            dx = (point.x - edge.x) * 111_320 * math.cos(math.radians(point.y))
            dy = (point.y - edge.y) * 110_574
            assert math.hypot(dx, dy) < JURISDICTION_TOLERANCE_M
    unassigned = sum(1 for i in incidents if i.grid is None)
    assert 0 < unassigned < 0.02 * len(incidents)


def test_party_orgs_name_no_person_and_point_at_no_home(default_city: City) -> None:
    # Party organisations are public: none carries a person's name. A 党员中心户 is no
    # organisation but a role of a member's household (gis/party/vocabulary.py): its public code
    # is its building's, never the household's own, and it looks after the nearest other
    # households of its building.
    buildings = default_city.buildings
    seen = 0
    for pop in iter_population(default_city):
        people = {name for _, _, name, *_ in pop.residents}
        household_codes = {code for _, code, *_ in pop.households}
        building_of = {index: b_idx for index, _, b_idx, *_ in pop.households}
        member_homes = {h for r, h, *_ in pop.residents if r in {m[0] for m in pop.members}}
        for _, org in pop.orgs:
            assert not any(name in org.name for name in people), org.name
            assert org.level == "building" and org.org_type == "党小组"
        for code, household, host, _named_on, served in pop.central:
            seen += 1
            building = buildings[building_of[household]]
            assert code == f"DZ{building.code}H" and code[2:] not in household_codes
            assert household in member_homes and host in {m[0] for m in pop.members}
            assert served and household not in served
            assert {building_of[h] for h in served} == {building_of[household]}
    assert seen > 0
