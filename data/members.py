"""Demo member lifecycle: care flags and records, 流动党员, 组织关系转接 history, 学习教育.

Generated after the city is loaded and before its organisational life (it needs the members,
their branches and special groups; meetings then list the members each branch has now), from
the city's seed, so the same city always gets the same records. Nothing is dated after the
city's ``as_of``.

- 老党员: 党龄 ≥ 50 years or aged 80+ (gis.party.vocabulary); 困难党员: members of a household
  the grid looks after as 困难群众, and about 1 % more.
- care: one to three records a year for each flagged member.
- away (流动党员): about 3 % away now (with where and who looks after them there), 2 % came back.
- transfers: about 5 % came in from outside (转入) after joining; about 0.5 % moved out lately
  (转出: their relation is held outside the register now); 2 % moved between two 支部 of the
  register, recorded as a transfer within (their current branch is the receiving one).
- learning: the course catalogue of the year; each member finished each published course with
  a probability of his own diligence.
"""

from __future__ import annotations

import datetime
import io
import random
from typing import Any

import psycopg

from gis.party import vocabulary as v

COURSES = (
    ("DJ-01", "学习贯彻党的二十大精神专题", "theory", 8, 20),
    ("DJ-02", "中国共产党章程逐条学", "constitution", 6, 60),
    ("DJ-03", "中国共产党纪律处分条例解读", "constitution", 4, 100),
    ("DJ-04", "党史学习教育：从石库门到天安门", "history", 6, 140),
    ("DJ-05", "基层治理与网格化服务", "policy", 4, 180),
    ("DJ-06", "新时代文明实践志愿服务", "skills", 3, 220),
    ("DJ-07", "应急处置与邻里互助", "skills", 3, 260),
    ("DJ-08", "党员先锋模范作用专题党课", "theory", 4, 300),
)
_PLACES = (
    ("广东省深圳市", "深圳市龙华区流动党员党支部"),
    ("江苏省苏州市", "苏州工业园区流动党员服务站"),
    ("陕西省西安市", "西安市雁塔区两新组织党委"),
    ("甘肃省兰州市", None),
    ("浙江省杭州市", "杭州市余杭区流动党员党支部"),
    ("新疆乌鲁木齐市", None),
)
_OUTSIDE = (
    "平凉市崆峒区西郊街道党工委",
    "兰州大学学生党委",
    "甘肃省建设投资集团党委",
    "庆阳市西峰区北街街道党工委",
)
_CARE_NOTES = {
    "visit": "入户走访，了解身体和生活情况",
    "festival": "春节走访慰问，送去慰问品",
    "hardship_aid": "申请临时救助，帮助解决实际困难",
    "health": "陪同就医，协调家庭医生签约",
    "birthday": "过政治生日，重温入党誓词",
}

_MEMBERS = """
SELECT m.id, m.org_id, m.joined_on, r.birth_year, o.name AS branch_name,
       'hardship' = ANY (r.special_groups) AS hardship,
       EXISTS (SELECT 1 FROM party_central_household c WHERE c.member_id = m.id) AS hosts
FROM party_member m JOIN resident r ON r.id = m.resident_id
JOIN party_org o ON o.id = m.org_id
ORDER BY m.id
"""


NULL = "\\N"  # COPY's NULL


def _day(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange(max(1, (end - start).days + 1)))


def load_members(conn: psycopg.Connection[Any], seed: int, as_of: datetime.date) -> dict[str, int]:
    """Write the demo member lifecycle; return row counts. Does not commit."""
    rng = random.Random(f"members-{seed}")
    year_start = datetime.date(as_of.year, 1, 1)
    with conn.cursor() as cur:
        rows = cur.execute(_MEMBERS).fetchall()
        branches = [
            r[0] for r in cur.execute("SELECT name FROM party_org WHERE org_type = '党支部'")
        ]
        with cur.copy(
            "COPY party_course (code, title, category, hours, published_on) FROM STDIN"
        ) as copy:
            for code, title, category, hours, day in COURSES:
                published = min(year_start + datetime.timedelta(days=day), as_of)
                copy.write_row(
                    (f"{code[:2]}-{as_of.year}{code[2:]}", title, category, hours, published)
                )
        courses = cur.execute(
            "SELECT id, hours, published_on FROM party_course WHERE published_on <= %s"
            " ORDER BY code",
            (as_of,),
        ).fetchall()

    flags: list[tuple[int, list[str]]] = []
    care = io.StringIO()
    away = io.StringIO()
    transfers = io.StringIO()
    learning = io.StringIO()
    out: list[tuple[int, str]] = []
    n = dict.fromkeys(("care", "away", "transfer", "learning"), 0)
    for member_id, _org, joined_on, birth_year, branch_name, hardship, hosts in rows:
        party_years = as_of.year - joined_on.year
        member_flags = []
        if party_years >= v.VETERAN_PARTY_YEARS or as_of.year - birth_year >= v.VETERAN_AGE:
            member_flags.append("veteran")
        if hardship or rng.random() < 0.01:
            member_flags.append("hardship")
        if member_flags:
            flags.append((member_id, sorted(member_flags)))
            for _ in range(rng.randint(1, 3)):
                kind = rng.choice(tuple(_CARE_NOTES))
                amount = rng.choice((200, 300, 500, 800)) if kind == "hardship_aid" else None
                cared = _day(rng, as_of - datetime.timedelta(days=365), as_of)
                care.write(
                    f"{member_id}\t{kind}\t{cared}\t{_CARE_NOTES[kind]}"
                    f"\t{amount if amount else NULL}\tdemo\n"
                )
                n["care"] += 1
        draw = rng.random()
        if draw < 0.05:
            place, host = rng.choice(_PLACES)
            since = _day(rng, max(joined_on, as_of - datetime.timedelta(days=1500)), as_of)
            reason = rng.choice(tuple(v.AWAY_REASONS))
            until = None
            if draw >= 0.03:  # came back
                until = _day(rng, since, as_of)
            away.write(
                f"{member_id}\t{since}\t{until or NULL}\t{place}\t{reason}\t{host or NULL}"
                f"\t每月电话联系一次\tdemo\n"
            )
            n["away"] += 1
        draw = rng.random()
        if draw < 0.05:
            came = _day(rng, joined_on, as_of - datetime.timedelta(days=30))
            transfers.write(
                f"{member_id}\tin\t\\N\t{rng.choice(_OUTSIDE)}\t{_org}\t{branch_name}"
                f"\t{rng.choice(tuple(v.TRANSFER_REASONS))}\tZZ{member_id:06d}\t{came}\tdemo\n"
            )
            n["transfer"] += 1
        elif draw < 0.07 and len(branches) > 1:
            came = _day(rng, joined_on, as_of - datetime.timedelta(days=30))
            source = rng.choice([b for b in branches if b != branch_name])
            transfers.write(
                f"{member_id}\twithin\t\\N\t{source}\t{_org}\t{branch_name}\tmoved\t\\N"
                f"\t{came}\tdemo\n"
            )
            n["transfer"] += 1
        elif draw < 0.075 and not hosts:
            gone = _day(rng, as_of - datetime.timedelta(days=30), as_of)
            target = rng.choice(_OUTSIDE)
            transfers.write(
                f"{member_id}\tout\t{_org}\t{branch_name}\t\\N\t{target}"
                f"\tmoved\tZC{member_id:06d}\t{gone}\tdemo\n"
            )
            out.append((member_id, target))
            n["transfer"] += 1
        diligence = rng.uniform(0.3, 0.95)
        for course_id, hours, published in courses:
            if rng.random() < diligence:
                learning.write(
                    f"{member_id}\t{course_id}\t{_day(rng, published, as_of)}\t{hours}\tdemo\n"
                )
                n["learning"] += 1

    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE party_member SET care_flags = %s WHERE id = %s",
            [(f, m) for m, f in flags],
        )
        for table, columns, data in (
            (
                "party_care_record",
                "member_id, kind, cared_on, note, amount_yuan, recorded_by",
                care,
            ),
            (
                "party_member_away",
                "member_id, since, until, place, reason, host_org, contact_note, recorded_by",
                away,
            ),
            (
                "party_member_transfer",
                "member_id, direction, from_org_id, from_org_name, to_org_id, to_org_name,"
                " reason, letter_no, transferred_on, recorded_by",
                transfers,
            ),
            (
                "party_learning_record",
                "member_id, course_id, finished_on, hours, recorded_by",
                learning,
            ),
        ):
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(data.getvalue())
        cur.executemany(
            "UPDATE party_member SET org_id = NULL, group_id = NULL, external_org = %s"
            " WHERE id = %s",
            [(target, m) for m, target in out],
        )
    return {
        "party_course": len(COURSES),
        "party_care_record": n["care"],
        "party_member_away": n["away"],
        "party_member_transfer": n["transfer"],
        "party_learning_record": n["learning"],
    }
