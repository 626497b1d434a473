"""Demo data of serving residents: notices and receipts, applications, volunteer teams,
activities, points and redemptions — so /communities/{code}/notice-board, /residents and every
resident's link page are alive on first run.

Generated after the city is loaded (it needs the areas and residents), from the city's seed, so
the same city always gets the same rows; dated relative to the city's ``as_of``. The volunteer
points go through the real ledger (its trigger computes every balance), redemptions included.
"""

from __future__ import annotations

import datetime
import random
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from gis.incidents.workcalendar import OfficeHours, WorkCalendar
from gis.queries.households import subtree_prefix
from gis.settings import get_settings

DEMO_STAFF = "demo"
NOTICES = (
    (
        "general",
        "关于开展2026年度人口信息核查的通知",
        "请各户配合网格员入户核对家庭成员信息，谢谢配合。",
    ),
    (
        "safety",
        "冬季用火用电安全提示",
        "天气转冷，请勿私拉电线、给电动车入户充电，外出前关闭燃气阀门。",
    ),
    (
        "activity",
        "社区“邻里节”活动报名通知",
        "本周六上午在党群服务中心举办邻里节，欢迎居民报名参加。",
    ),
    ("policy", "城乡居民医保缴费提醒", "2027年度城乡居民医保集中缴费期已开始，请及时缴纳。"),
)
GROUP_NOTICE = (
    "elderly_alone",
    "service",
    "独居老人冬季关爱服务",
    "社区将为独居老人提供上门测血压、代购生活用品服务，如有需要请联系网格员。",
)
ACTIVITIES = (
    ("小区环境清扫", "小区中心广场", 2.0),
    ("关爱独居老人上门探访", "各网格", 1.5),
    ("文明交通劝导", "社区主干道路口", 2.0),
    ("反诈宣传进小区", "党群服务中心", 1.0),
)
REWARDS = (
    ("理发服务一次", "社区志愿理发", 30, None),
    ("洗衣液一瓶", "", 50, 30),
    ("大米5kg", "", 100, 20),
)
APPLICATION_NOTES = ("孩子入学需要", "", "办理公交优惠", "单位要求提供")


def work_calendar(cur: psycopg.Cursor[Any]) -> WorkCalendar:
    """The case engine's working-day calendar, from the same holiday table (for the demo
    loaders, which hold a psycopg connection rather than a Session)."""
    settings = get_settings()
    cur.execute("SELECT day, is_workday FROM holiday")
    return WorkCalendar.from_rows(
        cur.fetchall(), ZoneInfo(settings.timezone), OfficeHours.parse(settings.office_hours)
    )


def load_residents(
    conn: psycopg.Connection[Any], seed: int, as_of: datetime.date
) -> dict[str, int]:
    """Write the demo rows once (a second call writes nothing). No commit."""
    counts = dict.fromkeys(
        ("notice", "notice_receipt", "service_application", "volunteer_activity", "points_ledger"),
        0,
    )
    rng = random.Random(f"residents-{seed}")
    tz = ZoneInfo(get_settings().timezone)
    noon = datetime.datetime.combine(as_of, datetime.time(10, 0), tz)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM notice LIMIT 1")
        if cur.fetchone() is not None:
            return counts
        calendar = work_calendar(cur)
        cur.execute(
            "SELECT code, name FROM area WHERE level = 'community' AND valid_to IS NULL"
            " ORDER BY code"
        )
        communities = cur.fetchall()
        cur.execute("SELECT id, code FROM resident_service ORDER BY id")
        services = cur.fetchall()
        streets_done: set[str] = set()
        for community, name in communities:
            cur.execute(
                "SELECT r.id, r.household_id, g.code, r.birth_year, r.special_groups"
                " FROM resident r JOIN household h ON h.id = r.household_id"
                " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
                " WHERE g.code LIKE %s ORDER BY r.id",
                (community + "%",),
            )
            people = cur.fetchall()
            if not people:
                continue
            grids = sorted({p[2] for p in people})
            # Notices: the street's once, the community's, one grid's, one group's.
            targets: list[tuple[str, str | None, tuple[str, str, str]]] = []
            street = community[:9] + "000"
            if street not in streets_done:
                streets_done.add(street)
                targets.append((street, None, NOTICES[1]))
            targets += [
                (community, None, NOTICES[0]),
                (community, None, NOTICES[2]),
                (grids[0], None, NOTICES[3]),
                (community, GROUP_NOTICE[0], GROUP_NOTICE[1:]),
            ]
            for i, (area, group, (category, title, body)) in enumerate(targets):
                published = noon - datetime.timedelta(days=2 + 5 * i, hours=rng.randint(0, 5))
                cur.execute(
                    "INSERT INTO notice (title, body, category, area_code, special_group,"
                    " published_by, published_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " RETURNING id",
                    (title, body, category, area, group, DEMO_STAFF, published),
                )
                notice_id = cur.fetchone()[0]  # type: ignore[index]
                counts["notice"] += 1
                reached = [
                    p
                    for p in people
                    if p[2].startswith(subtree_prefix(area)) and (group is None or group in p[4])
                ]
                for p in rng.sample(reached, k=len(reached) // 3):
                    cur.execute(
                        "INSERT INTO notice_receipt (notice_id, resident_id, read_at, via)"
                        " VALUES (%s, %s, %s, 'link') ON CONFLICT DO NOTHING",
                        (notice_id, p[0], published + datetime.timedelta(hours=rng.randint(1, 48))),
                    )
                    counts["notice_receipt"] += 1
            # Applications in every state.
            adults = [p for p in people if as_of.year - p[3] >= 18]
            for k, person in enumerate(rng.sample(adults, k=min(4, len(adults)))):
                service_id, _ = services[k % len(services)]
                cur.execute(
                    "SELECT working_days FROM resident_service WHERE id = %s", (service_id,)
                )
                days = cur.fetchone()[0]  # type: ignore[index]
                submitted = noon - datetime.timedelta(days=1 + 6 * k, hours=rng.randint(0, 3))
                due = calendar.add_working_days(submitted, days)
                status = ("submitted", "accepted", "completed", "rejected")[k % 4]
                closed = submitted + datetime.timedelta(days=2) if k % 4 >= 2 else None
                cur.execute(
                    "INSERT INTO service_application (service_id, resident_id, community_code,"
                    " grid_code, status, note, submitted_at, due_at, closed_at, result, via)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'link') RETURNING id",
                    (
                        service_id,
                        person[0],
                        community,
                        person[2],
                        status,
                        rng.choice(APPLICATION_NOTES),
                        submitted,
                        due,
                        closed,
                        {
                            "completed": "已办结，请到社区服务窗口领取",
                            "rejected": "材料不全：缺少户口簿",
                        }.get(status, ""),
                    ),
                )
                application_id = cur.fetchone()[0]  # type: ignore[index]
                steps = [("submitted", submitted, f"resident:{person[0]}:link")]
                if status != "submitted":
                    steps.append(("accepted", submitted + datetime.timedelta(hours=3), DEMO_STAFF))
                if closed is not None:
                    steps.append((status, closed, DEMO_STAFF))
                for step, at, actor in steps:
                    cur.execute(
                        "INSERT INTO service_application_step (application_id, status, at, actor)"
                        " VALUES (%s, %s, %s, %s)",
                        (application_id, step, at, actor),
                    )
                counts["service_application"] += 1
            # A team, two past activities (completed, points earned) and one coming up.
            cur.execute(
                "INSERT INTO volunteer_team (community_code, name, description, created_by)"
                " VALUES (%s, %s, %s, %s) RETURNING id",
                (community, f"{name}志愿服务队", "由社区党员和热心居民组成", DEMO_STAFF),
            )
            team_id = cur.fetchone()[0]  # type: ignore[index]
            for reward, description, points, stock in REWARDS:
                cur.execute(
                    "INSERT INTO points_reward (community_code, name, description, points, stock)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (community, reward, description, points, stock),
                )
            volunteers = [p for p in adults if as_of.year - p[3] <= 75]
            for k, (title, place, hours) in enumerate(ACTIVITIES[:3]):
                starts = noon + datetime.timedelta(days=(3 if k == 2 else -7 * (k + 1)))
                ends = starts + datetime.timedelta(hours=hours)
                done = k < 2
                cur.execute(
                    "INSERT INTO volunteer_activity (team_id, community_code, title, place,"
                    " starts_at, ends_at, capacity, hours, points, checkin_code, status,"
                    " created_by, completed_at, completed_by) VALUES (%s, %s, %s, %s, %s, %s,"
                    " 20, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (
                        team_id,
                        community,
                        title,
                        place,
                        starts,
                        ends,
                        hours,
                        int(hours * 10),
                        f"{rng.randrange(1_000_000):06d}",
                        "completed" if done else "open",
                        DEMO_STAFF,
                        ends if done else None,
                        DEMO_STAFF if done else None,
                    ),
                )
                activity_id = cur.fetchone()[0]  # type: ignore[index]
                counts["volunteer_activity"] += 1
                for p in rng.sample(volunteers, k=min(len(volunteers), rng.randint(3, 8))):
                    cur.execute(
                        "INSERT INTO activity_signup (activity_id, resident_id, signed_up_at,"
                        " checked_in_at, via) VALUES (%s, %s, %s, %s, 'link')",
                        (
                            activity_id,
                            p[0],
                            starts - datetime.timedelta(days=2),
                            starts if done else None,
                        ),
                    )
                    if done:
                        cur.execute(
                            "INSERT INTO points_ledger (resident_id, community_code, kind, delta,"
                            " hours, activity_id, balance_after, note, recorded_by, recorded_at)"
                            " VALUES (%s, %s, 'earn', %s, %s, %s, 0, %s, %s, %s)",
                            (
                                p[0],
                                community,
                                int(hours * 10),
                                hours,
                                activity_id,
                                title,
                                DEMO_STAFF,
                                ends,
                            ),
                        )
                        counts["points_ledger"] += 1
            # A few redemptions by those with enough points (the trigger keeps balances >= 0).
            cur.execute(
                "SELECT id, points, name FROM points_reward WHERE community_code = %s"
                " ORDER BY points LIMIT 1",
                (community,),
            )
            cheapest = cur.fetchone()
            cur.execute(
                "SELECT DISTINCT ON (resident_id) resident_id, balance_after FROM points_ledger"
                " WHERE community_code = %s ORDER BY resident_id, id DESC",
                (community,),
            )
            for resident_id, balance in cur.fetchall()[:2]:
                if cheapest and balance >= cheapest[1]:
                    cur.execute(
                        "INSERT INTO points_ledger (resident_id, community_code, kind, delta,"
                        " reward_id, balance_after, note, recorded_by, recorded_at)"
                        " VALUES (%s, %s, 'redeem', %s, %s, 0, %s, %s, %s)",
                        (
                            resident_id,
                            community,
                            -cheapest[1],
                            cheapest[0],
                            cheapest[2],
                            f"resident:{resident_id}:link",
                            noon - datetime.timedelta(days=1),
                        ),
                    )
                    counts["points_ledger"] += 1
    return counts
