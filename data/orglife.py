"""Demo organisational life: 三会一课 and 主题党日 of every branch over the last four quarters.

Generated after the city is loaded (it needs the branches, groups and members the loader
wrote), from the city's seed, so the same city always gets the same meetings. Each branch has
its own diligence: most hold nearly everything that is due, a few fall behind, so the
completeness view has gaps to show. Meetings are dated no later than the city's ``as_of``.
"""

from __future__ import annotations

import datetime
import io
import random
from collections import defaultdict
from typing import Any

import psycopg

from gis.orglife import rules

_TOPICS = {
    "general_meeting": (
        "学习贯彻党的二十大精神",
        "讨论发展党员事项",
        "民主评议党员",
        "支部工作报告",
    ),
    "committee_meeting": (
        "研究本月支部工作",
        "部署主题党日活动",
        "研究党费收缴",
        "分析党员思想状况",
    ),
    "group_meeting": ("学习党章党规", "交流学习体会", "开展批评与自我批评", "讨论网格服务事项"),
    "party_lecture": ("书记讲党课：坚定理想信念", "党史学习教育专题党课", "基层治理与党员作用"),
    "theme_day": ("志愿服务进小区", "重温入党誓词", "走访困难党员", "环境整治志愿活动"),
}
_PLACES = ("党群服务中心会议室", "社区党员活动室", "网格服务站", "新时代文明实践站")

_BRANCHES = """
SELECT o.id, o.code, o.name,
       (SELECT coalesce(array_agg(g.code ORDER BY g.code), '{}') FROM party_org g
         WHERE g.parent_id = o.id AND g.org_type = %(group)s) AS groups
FROM party_org o WHERE o.org_type = %(branch)s ORDER BY o.code
"""
_MEMBERS = """
SELECT m.org_id, m.id, m.status, g.code FROM party_member m
LEFT JOIN party_org g ON g.id = m.group_id
WHERE m.org_id IS NOT NULL ORDER BY m.org_id, m.id
"""


def _day_in(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def load_org_life(conn: psycopg.Connection[Any], seed: int, as_of: datetime.date) -> dict[str, int]:
    """Write demo meetings and attendance; return row counts. Does not commit."""
    params = {"branch": rules.BRANCH_TYPE, "group": rules.GROUP_TYPE}
    with conn.cursor() as cur:
        branches = cur.execute(_BRANCHES, params).fetchall()
        members: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
        for branch_id, member_id, status, group_code in cur.execute(_MEMBERS, params):
            members[branch_id].append((member_id, status, group_code))
        row = cur.execute("SELECT coalesce(max(id), 0) FROM org_meeting").fetchone()
        next_id = (int(row[0]) if row else 0) + 1
    rng = random.Random(f"orglife-{seed}")
    quarters = [rules.Quarter.of(as_of)]
    for _ in range(3):
        quarters.append(quarters[-1].previous())
    meetings = io.StringIO()
    attendance = io.StringIO()
    n_meetings = n_attendance = 0
    for branch_id, code, name, groups in branches:
        roster = members.get(branch_id, [])
        if not roster:
            continue
        full = sum(1 for _, status, _ in roster if status == rules.FULL_MEMBER_STATUS)
        # Most branches keep up; about one in five lets a good share of its meetings slip.
        diligence = rng.uniform(0.45, 0.8) if rng.random() < 0.2 else rng.uniform(0.88, 1.0)
        for quarter in reversed(quarters):
            for kind in rules.MEETING_KINDS:
                if not rules.applies(kind, full, len(groups)):
                    continue
                units = list(groups) if kind.unit == "group" else [code]
                for unit in units:
                    for period in rules.periods(kind, quarter):
                        if period.start > as_of or rng.random() > diligence:
                            continue
                        held_on = _day_in(rng, period.start, min(period.end, as_of))
                        meetings.write(
                            f"{next_id}\t{branch_id}\t{code}\t{unit}\t{name}\t{kind.key}"
                            f"\t{held_on}\t{rng.choice(_PLACES)}\t{rng.choice(_TOPICS[kind.key])}"
                            f"\t会议记录（演示数据）\tdemo\n"
                        )
                        who = [m for m in roster if unit == code or m[2] == unit]
                        for member_id, _, _ in who:
                            draw = rng.random()
                            mark = (
                                "present" if draw < 0.86 else "leave" if draw < 0.95 else "absent"
                            )
                            attendance.write(f"{next_id}\t{member_id}\t{mark}\n")
                            n_attendance += 1
                        next_id += 1
                        n_meetings += 1
    with conn.cursor() as cur:
        with cur.copy(
            "COPY org_meeting (id, branch_id, branch_code, org_code, org_name, kind, held_on,"
            " place, topic, minutes, recorded_by) FROM STDIN"
        ) as copy:
            copy.write(meetings.getvalue())
        # The holder (the branch or its 党小组) by its code, with its own name.
        cur.execute(
            "UPDATE org_meeting m SET org_id = o.id, org_name = o.name FROM party_org o"
            " WHERE m.org_id IS NULL AND o.code = m.org_code"
        )
        with cur.copy(
            "COPY org_meeting_attendance (meeting_id, member_id, status) FROM STDIN"
        ) as copy:
            copy.write(attendance.getvalue())
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('org_meeting', 'id'),"
            " greatest((SELECT max(id) FROM org_meeting), 1))"
        )
    return {"org_meeting": n_meetings, "org_meeting_attendance": n_attendance}
