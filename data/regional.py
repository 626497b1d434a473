"""Demo 双报到 and regional party building, generated after the city is loaded, from its seed.

Per community: a few units (驻区单位) of every kind — 机关、事业单位、国有企业 that report to the
community (双报到), 两新组织 and now and then a 商圈党委, a property company (红色物业 when it has
a party organisation) and an owners' committee (业委会) serving the residential buildings of one
grid (their compound) —; 共建协议 with resources for some of them; part-time members (兼职委员) of
the community's 大党委 and the street's 大工委; and a year of needs and posts claimed by reported
members or assigned to units by letter, finished with hours and rated. Nothing is dated after the
city's ``as_of``; the same city always gets the same rows.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

import psycopg

from data.people import full_name

_UNIT_NAMES = {
    "机关": ("区{n}局", ("财政", "住建", "教育", "民政", "市场监管", "自然资源")),
    "事业单位": ("{n}", ("人民医院", "第一中学", "疾控中心", "图书馆", "妇幼保健院", "职业学校")),
    "国有企业": ("{n}有限公司", ("煤业集团", "供电", "燃气", "自来水", "公交", "电信")),
    "非公企业": (
        "{n}有限公司",
        ("恒达商贸", "兴陇建材", "华泰物流", "金穗食品", "瑞丰科技", "顺通汽修"),
    ),
    "社会组织": ("{n}", ("爱心志愿者协会", "老年协会", "书画协会", "社工服务中心", "义工联合会")),
    "商圈党委": ("{n}商圈党委", ("中心街", "步行街", "新区", "站前")),
    "物业企业": ("{n}物业服务有限公司", ("安居", "华宇", "祥和", "康泰", "金盾")),
    "业委会": ("{n}小区业主委员会", ("和平", "幸福", "阳光", "锦绣", "翠园")),
}
_NEEDS = (
    ("养老照护", "独居老人定期探访"),
    ("维修", "楼道照明维修"),
    ("代办", "老年人证件代办"),
    ("助学", "周末课业辅导"),
    ("心理疏导", "邻里纠纷调解"),
    ("其他", "小区环境整治"),
)
_POSTS = (("其他", "文明劝导岗"), ("其他", "楼栋长助理岗"), ("养老照护", "助老服务岗"))
_RESOURCES = {
    "场地": "会议室、活动室周末开放",
    "人才": "专业技术人员志愿服务",
    "资金": "年度共建经费",
    "物资": "慰问物资、办公设备",
    "技术": "信息化技术支持",
    "志愿服务": "党员志愿服务队",
}


def _name(rng: random.Random, kind: str) -> str:
    pattern, stems = _UNIT_NAMES[kind]
    return "华亭" + pattern.format(n=rng.choice(stems))


def _party_org(name: str, kind: str) -> str:
    """The unit's own party organisation (a 商圈党委 is one itself)."""
    return name if kind == "商圈党委" else name + "党支部"


def _at(as_of: datetime.date, days_ago: int, hour: int) -> datetime.datetime:
    day = as_of - datetime.timedelta(days=days_ago)
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=datetime.timezone(datetime.timedelta(hours=8))
    )


def load_regional(conn: psycopg.Connection[Any], seed: int, as_of: datetime.date) -> dict[str, int]:
    """Write the demo units, agreements, resources, seats and needs; return row counts."""
    rng = random.Random(f"regional-{seed}")
    counts = dict.fromkeys(
        ("regional_unit", "joint_agreement", "regional_resource", "regional_committee_seat"), 0
    )
    counts["regional_unit_building"] = counts["service_order"] = 0
    with conn.cursor() as cur:
        communities = cur.execute(
            "SELECT c.id, c.code, c.parent_id, c.district_code FROM area c"
            " WHERE c.level = 'community' AND c.valid_to IS NULL ORDER BY c.code"
        ).fetchall()
        for community_id, code, street_id, district in communities:
            buildings = cur.execute(
                "SELECT b.id, b.address, b.use, g.id AS grid_id, ST_X(b.anchor), ST_Y(b.anchor)"
                " FROM building b JOIN area g ON g.id = b.grid_id"
                " WHERE g.parent_id = %s AND b.valid_to IS NULL ORDER BY b.code",
                (community_id,),
            ).fetchall()
            if not buildings:
                continue
            kinds = ["机关", "事业单位", "国有企业", "非公企业", "社会组织", "物业企业", "业委会"]
            if rng.random() < 0.3:
                kinds.append("商圈党委")
            if rng.random() < 0.5:
                kinds.append("非公企业")
            unit_ids: list[tuple[int, str, bool]] = []
            for seq, kind in enumerate(kinds, start=1):
                building = rng.choice(buildings)
                has_party = (
                    kind in ("机关", "事业单位", "国有企业", "商圈党委") or rng.random() < 0.6
                )
                name = _name(rng, kind)
                registered = kind in ("机关", "事业单位", "国有企业") and has_party
                unit_id = cur.execute(
                    "INSERT INTO regional_unit (code, name, kind, party_org_name, party_members,"
                    " resident, community_id, address, registered_community_id, registered_on,"
                    " district_code, geom) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    " ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
                    (
                        f"DW{code}{seq:02d}",
                        name,
                        kind,
                        _party_org(name, kind) if has_party else None,
                        rng.randint(3, 60) if has_party else 0,
                        kind not in ("业委会",),
                        community_id,
                        building[1],
                        community_id if registered else None,
                        as_of - datetime.timedelta(days=rng.randint(60, 1500))
                        if registered
                        else None,
                        district,
                        building[4] + rng.uniform(-0.0002, 0.0002),
                        building[5] + rng.uniform(-0.0002, 0.0002),
                    ),
                ).fetchone()[0]  # type: ignore[index]
                counts["regional_unit"] += 1
                unit_ids.append((unit_id, kind, has_party))
                if kind in ("物业企业", "业委会"):
                    grid = building[3]
                    served = [b[0] for b in buildings if b[3] == grid and b[2] in ("住宅", "混合")]
                    for b in served:
                        cur.execute(
                            "INSERT INTO regional_unit_building (unit_id, building_id)"
                            " VALUES (%s, %s)",
                            (unit_id, b),
                        )
                    counts["regional_unit_building"] += len(served)
                if kind not in ("业委会",) and rng.random() < 0.45:
                    starts = as_of - datetime.timedelta(days=rng.randint(30, 700))
                    agreement = cur.execute(
                        "INSERT INTO joint_agreement (code, unit_id, community_id, signed_on,"
                        " starts_on, ends_on, content, signed_by, district_code) VALUES"
                        " (%s, %s, %s, %s, %s, %s, %s, 'demo', %s) RETURNING id",
                        (
                            f"GJ{starts:%Y}-{unit_id:05d}",
                            unit_id,
                            community_id,
                            starts,
                            starts,
                            starts + datetime.timedelta(days=365 * rng.choice((1, 2, 3))),
                            "党建联建、资源共享、活动共办、难题共解",
                            district,
                        ),
                    ).fetchone()[0]  # type: ignore[index]
                    counts["joint_agreement"] += 1
                    for category in rng.sample(sorted(_RESOURCES), rng.randint(1, 3)):
                        cur.execute(
                            "INSERT INTO regional_resource (unit_id, agreement_id, category,"
                            " description) VALUES (%s, %s, %s, %s)",
                            (unit_id, agreement, category, _RESOURCES[category]),
                        )
                        counts["regional_resource"] += 1
            # 大党委 of the community, 大工委 of its street: a seat for some resident units.
            for level, area_id in (("community", community_id), ("street", street_id)):
                org = cur.execute(
                    "SELECT id FROM party_org WHERE level = %s AND area_id = %s"
                    " ORDER BY id LIMIT 1",
                    (level, area_id),
                ).fetchone()
                if org is None:
                    continue
                seats = [u for u in unit_ids if u[2] and u[1] != "业委会"]
                for i, (unit_id, _, _) in enumerate(
                    rng.sample(seats, min(len(seats), 2 if level == "street" else 3))
                ):
                    term_start = as_of - datetime.timedelta(days=rng.randint(30, 900))
                    cur.execute(
                        "INSERT INTO regional_committee_seat (org_id, unit_id, name, post,"
                        " term_start, term_end) VALUES (%s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT DO NOTHING",
                        (
                            org[0],
                            unit_id,
                            full_name(rng, rng.choice("男女")),
                            "兼职副书记" if i == 0 and level == "community" else "兼职委员",
                            term_start,
                            term_start + datetime.timedelta(days=365 * 5),
                        ),
                    )
                    counts["regional_committee_seat"] += 1
            counts["service_order"] += _needs(
                cur, rng, community_id, code, district, unit_ids, as_of
            )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('service_order', 'id'),"
            " greatest((SELECT max(id) FROM service_order), 1))"
        )
    return counts


def _needs(
    cur: psycopg.Cursor[Any],
    rng: random.Random,
    community_id: int,
    code: str,
    district: str,
    units: list[tuple[int, str, bool]],
    as_of: datetime.date,
) -> int:
    """A year of the community's needs and posts: open, claimed, done, rated."""
    members = [
        r[0]
        for r in cur.execute(
            "SELECT id FROM party_member WHERE registered_community_id = %s ORDER BY id",
            (community_id,),
        )
    ]
    reporting = [u[0] for u in units if u[1] in ("机关", "事业单位", "国有企业") and u[2]]
    org = cur.execute(
        "SELECT name FROM party_org WHERE level = 'community' AND area_id = %s ORDER BY id LIMIT 1",
        (community_id,),
    ).fetchone()
    requester = (org[0] if org else code)[:50]
    written = 0
    for _ in range(rng.randint(4, 9)):
        origin = "post" if rng.random() < 0.3 else "need"
        service_type, title = rng.choice(_POSTS if origin == "post" else _NEEDS)
        published = _at(as_of, rng.randint(3, 330), rng.randint(8, 17))
        draw = rng.random()
        status = (
            "published"
            if draw < 0.2
            else "claimed"
            if draw < 0.3
            else "done"
            if draw < 0.4
            else "rated"
        )
        by_unit = bool(reporting) and origin == "need" and rng.random() < 0.35
        if status != "published" and not by_unit and not members:
            status = "published"
        member = None if status == "published" or by_unit else rng.choice(members)
        unit = rng.choice(reporting) if by_unit and status != "published" else None
        claimed = (
            published + datetime.timedelta(hours=rng.randint(2, 48))
            if status != "published"
            else None
        )
        done = (
            claimed + datetime.timedelta(hours=rng.randint(4, 60))
            if status in ("done", "rated") and claimed
            else None
        )
        rated = (
            done + datetime.timedelta(hours=rng.randint(2, 48))
            if status == "rated" and done
            else None
        )
        end = datetime.datetime.combine(as_of, datetime.time(23), tzinfo=published.tzinfo)
        if rated and rated > end:
            rated, status = None, "done"
        if done and done > end:
            done, status = None, "claimed"
        row = cur.execute(
            "INSERT INTO service_order (code, service_type, description, requester_name,"
            " community_id, status, district_code, ordered_at, published_at, claimed_at,"
            " due_at, done_at, rated_at, rating, comment, updated_at, origin, title, member_id,"
            " unit_id, letter_code, hours, community_rating)"
            " VALUES ('pending', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s,"
            " %s, %s, %s, %s, NULL, %s, %s) RETURNING id",
            (
                service_type,
                title + "（演示数据）",
                requester,
                community_id,
                status,
                district,
                published,
                published,
                claimed,
                claimed + datetime.timedelta(days=3) if claimed and member else None,
                done,
                rated,
                rng.choice((3, 4, 4, 5, 5, 5)) if rated else None,
                rated or done or claimed or published,
                origin,
                title,
                member,
                unit,
                round(rng.uniform(1, 8) * 2) / 2 if done else None,
                rng.choice((3, 4, 5, 5)) if rated else None,
            ),
        ).fetchone()
        order_id = int(row[0])  # type: ignore[index]
        cur.execute(
            "UPDATE service_order SET code = %s, letter_code = %s WHERE id = %s",
            (
                f"FW{published:%Y%m%d}{order_id:07d}",
                f"HZ{published:%Y}-{order_id:06d}" if unit else None,
                order_id,
            ),
        )
        written += 1
    return written
