"""Incidents of the digital urban-management case loop over the 90 days up to ``as_of``.

Each case is simulated through reported → registered → dispatched → in_progress → handled →
closed → evaluated (with rework loops handled → in_progress, and some rejections), then cut at
``as_of``: the state reached by then is the case's status, so old cases are mostly closed and
recent ones are open in various states, and slow ones are overdue.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely

from data.city import City, road_names
from data.people import full_name, mobile
from gis.incidents.rating import ACTOR_LINK
from gis.incidents.vocabulary import CLOSED_STATUSES, KIND_OF_CATEGORY
from gis.incidents.workflow import count_reworks

CST = datetime.timezone(datetime.timedelta(hours=8))

# (category, share %, time limit in hours, sample descriptions); the kind comes from the
# vocabulary (gis.incidents.vocabulary), which the categories must all belong to.
_CATEGORIES: tuple[tuple[str, float, int, tuple[str, ...]], ...] = (
    (
        "市容环境",
        34,
        48,
        ("道路积存垃圾渣土", "暴露垃圾未及时清运", "乱堆物料", "沿街晾挂", "绿地脏乱", "水域不洁"),
    ),
    ("街面秩序", 13, 24, ("店外经营占道", "流动摊贩", "乱停放非机动车", "机动车乱停放")),
    ("宣传广告", 7, 72, ("非法小广告张贴", "违规户外广告", "条幅破损")),
    ("施工管理", 6, 120, ("施工扰民", "道路遗撒", "工地围挡破损", "违规夜间施工")),
    ("突发事件", 2, 4, ("路面塌陷", "自来水管爆裂", "燃气泄漏报警", "积水内涝")),
    ("其他", 4, 72, ("邻里纠纷调解", "群众求助", "噪声扰民")),
    ("公用设施", 13, 72, ("井盖缺失", "雨水箅子破损", "路灯不亮", "消火栓损坏")),
    ("交通设施", 8, 72, ("交通标志牌倾斜", "护栏损坏", "盲道破损", "减速带缺失")),
    ("市容环境设施", 7, 48, ("垃圾桶破损", "公厕设施损坏", "果皮箱缺失")),
    ("园林绿化设施", 5, 96, ("行道树倒伏", "绿地护栏损坏", "树穴缺失")),
    ("其他设施", 1, 120, ("健身器材损坏", "宣传栏破损")),
)
# Share of each source (%); import is not simulated (the demo is the live system's own data).
_SOURCE_W = {"grid_worker": 46, "hotline": 20, "public": 14, "patrol": 12, "open311": 8}
_DEPTS = (
    "华亭市城市管理综合执法局",
    "华亭市住房和城乡建设局",
    "华亭市市场监督管理局",
    "华亭市自然资源局",
    "华亭市供排水公司",
    "华亭市交通运输局",
    "东华街道综合执法队",
)


@dataclass
class IncidentRec:
    kind: str
    category: str
    description: str
    source: str
    reporter_name: str | None
    reporter_phone: str | None
    status: str
    point: tuple[float, float]
    address: str | None
    street: int | None
    community: int | None
    grid: int | None
    assignee: int | None
    rework_count: int
    rating: int | None
    reported_at: datetime.datetime
    due_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    updated_at: datetime.datetime
    transitions: list[tuple[datetime.datetime, str, str | None, str, str | None]]


def _hours(rng: random.Random, lo: float, hi: float) -> datetime.timedelta:
    return datetime.timedelta(hours=rng.uniform(lo, hi))


def iter_incidents(city: City) -> Iterator[IncidentRec]:
    """Yield the city's incidents in report order (deterministic for the city)."""
    rng = random.Random(f"gridgov-demo/{city.seed}/incidents")
    n = city.incidents
    end = datetime.datetime.combine(city.as_of, datetime.time(18, 0), CST)
    start = end - datetime.timedelta(days=90)
    grid_areas = [g.area for g in city.grids]
    grid_weights = [g.households for g in city.grids]
    tree = shapely.STRtree([city.areas[a].geom for a in grid_areas])
    # Draw times first and sort, so cases (and their codes) number in report order.
    times = sorted(start + datetime.timedelta(seconds=rng.uniform(0, 90 * 86400)) for _ in range(n))
    # Cases are mostly reported in the daytime: fold night-time reports into the morning.
    times = sorted(t if 7 <= t.hour < 22 else t.replace(hour=7 + t.hour % 12) for t in times)
    district = city.areas[0].geom
    minx, miny, maxx, maxy = district.bounds
    cum = list(np.cumsum(grid_weights))
    ew, ns = road_names(city.lattice)
    cats = _CATEGORIES
    cat_w = [c[1] for c in cats]
    chunk = 2000
    for c0 in range(0, n, chunk):
        batch = times[c0 : c0 + chunk]
        points: list[tuple[float, float]] = []
        near: list[str | None] = []
        for _ in batch:
            if rng.random() < 0.005:
                # Just outside the town (within ~330 m, inside the intake's 500 m tolerance of
                # the jurisdiction): the unassigned queue must handle these.
                while True:
                    x = rng.uniform(minx - 0.004, maxx + 0.004)
                    y = rng.uniform(miny - 0.004, maxy + 0.004)
                    p = shapely.Point(x, y)
                    if not district.intersects(p) and district.distance(p) < 0.003:
                        break
                points.append((x, y))
                near.append(None)
            else:
                gi = rng.choices(range(len(grid_areas)), cum_weights=cum)[0]
                r, c = rng.choice(city.areas[grid_areas[gi]].cells)
                u, v = rng.uniform(0.02, 0.98), rng.uniform(0.02, 0.98)
                points.append(city.lattice.bilinear(r, c, u, v))
                # Named after the nearest corner of the block: the crossing of its two roads.
                near.append(f"{ew[r + (v < 0.5)]}与{ns[c + (u >= 0.5)]}交叉口附近")
        # Route by point-in-polygon, as the live system does.
        pts = shapely.points(np.array(points))
        pairs = tree.query(pts, predicate="within")
        routed: dict[int, int] = {int(p): int(t) for p, t in zip(pairs[0], pairs[1], strict=True)}
        for j, reported in enumerate(batch):
            gi_hit = routed.get(j)
            yield _simulate(rng, city, reported, end, points[j], near[j], gi_hit, cats, cat_w)


def _simulate(
    rng: random.Random,
    city: City,
    reported: datetime.datetime,
    end: datetime.datetime,
    point: tuple[float, float],
    near: str | None,
    gi: int | None,
    cats: tuple[tuple[str, float, int, tuple[str, ...]], ...],
    cat_w: list[float],
) -> IncidentRec:
    category, _, limit_h, descs = rng.choices(cats, weights=cat_w)[0]
    kind = KIND_OF_CATEGORY[category]
    source = rng.choices(list(_SOURCE_W), weights=list(_SOURCE_W.values()))[0]
    reporter_name = reporter_phone = None
    if source in ("hotline", "public", "open311"):
        reporter_name = full_name(rng, rng.choice("男女"))
        reporter_phone = mobile(rng)
    if gi is None:
        # Outside every grid: nobody owns it yet, it waits in the unassigned queue.
        desc = rng.choice(descs) + "（城区边缘，待确认属地）"
        return IncidentRec(
            kind,
            category,
            desc,
            source,
            reporter_name,
            reporter_phone,
            "reported",
            point,
            "华亭市城区外围",
            None,
            None,
            None,
            None,
            0,
            None,
            reported,
            None,
            None,
            reported,
            [(reported, _actor(source, reporter_name), None, "reported", desc)],
        )
    g = city.grids[gi]
    grid_a = city.areas[g.area]
    comm_a = city.areas[g.community]
    street_a = city.areas[g.street]
    desc = rng.choice(descs)
    address = f"华亭市{street_a.name}{comm_a.name} {near or grid_a.name + '附近'}"
    worker = rng.choice(g.workers)
    due = reported + datetime.timedelta(hours=limit_h)
    # Full simulated life, then cut at `end`.
    steps: list[tuple[datetime.datetime, str, str | None, str, str | None]] = []
    t = reported
    steps.append((t, _actor(source, reporter_name), None, "reported", desc))
    t += _hours(rng, 0.1, 1.5)
    if rng.random() < 0.03:
        steps.append((t, "指挥中心受理员", "reported", "rejected", "不属于受理范围，已告知反映人"))
    else:
        steps.append((t, "指挥中心受理员", "reported", "accepted", "受理"))
        t += _hours(rng, 0.05, 0.3)
        steps.append((t, "指挥中心值班长", "accepted", "registered", "立案"))
        t += _hours(rng, 0.1, 1.0)
        dept = rng.choice(_DEPTS)
        steps.append((t, "指挥中心派遣员", "registered", "dispatched", f"派遣至{dept}"))
        t += _hours(rng, 0.3, 6)
        steps.append((t, dept, "dispatched", "in_progress", "已接单处置"))
        slow = rng.random() < 0.08  # the tail that makes cases overdue
        reworks = 1 if rng.random() < 0.06 else 0
        reworks += 1 if reworks and rng.random() < 0.2 else 0
        for i in range(reworks + 1):
            span = (
                limit_h * (rng.uniform(1.2, 6) if slow else rng.uniform(0.15, 0.9)) / (reworks + 1)
            )
            t += datetime.timedelta(hours=span)
            steps.append((t, dept, "in_progress", "handled", "处置完毕，已反馈"))
            if i < reworks:
                t += _hours(rng, 1, 12)
                # Verified by the centre, never by who handled it (separation of duties).
                steps.append((t, "指挥中心核查员", "handled", "in_progress", "核查未通过，返工"))
        t += _hours(rng, 1, 20)
        steps.append((t, "指挥中心核查员", "handled", "verified", "核查属实"))
        t += _hours(rng, 0.1, 2)
        steps.append((t, "指挥中心值班长", "verified", "closed", "结案"))
        # 一事一评: only a reporter who can be reached rates his case (with his signed link).
        if rng.random() < 0.72 and reporter_name:
            t += _hours(rng, 2, 72)
            steps.append((t, ACTOR_LINK, "closed", "evaluated", "一事一评"))
    done = [s for s in steps if s[0] <= end]
    status = done[-1][3]
    rework = count_reworks([(s[2], s[3]) for s in done])
    closed_at = (
        next((s[0] for s in done if s[3] == "closed"), None) if status in CLOSED_STATUSES else None
    )
    rating = None
    if status == "evaluated":
        rating = rng.choices((5, 4, 3, 2, 1), weights=(62, 24, 8, 4, 2))[0]
    assignee = worker if status not in ("reported", "accepted", "rejected") else None
    due_at = None if status == "rejected" else due
    return IncidentRec(
        kind,
        category,
        desc,
        source,
        reporter_name,
        reporter_phone,
        status,
        point,
        address,
        g.street,
        g.community,
        g.area,
        assignee,
        rework,
        rating,
        reported,
        due_at,
        closed_at,
        done[-1][0],
        done,
    )


def _actor(source: str, reporter: str | None) -> str:
    return {"grid_worker": "网格员", "patrol": "城管巡查员", "hotline": "12345热线"}.get(
        source, f"群众{reporter or ''}"
    )
