"""Demo petitions (诉求) and mediated disputes (三级调解), so /resident, /command/petitions and
/mediation are alive on first run (docs/residents.md).

Deterministic with the city: the same seed, size and ``as_of`` give the same rows. Each
community gets a handful of petitions in every state of their workflow (submitted, being handled,
answered, rated, refused; some overdue) and a few disputes at each mediation level (one settled at
the community with an agreement and a follow-up visit, one failed at the street). The first
household of the first grid — the demo resident's (``gis.accounts.ensure_demo_accounts``) —
always has an answered petition waiting for its rating and one being handled. Codes follow the
one case-code format with numbers drawn from the incident sequence, as the app's own do.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

import psycopg

from data.residents import work_calendar
from gis.incidents.intake import case_code
from gis.incidents.vocabulary import (
    DISPUTE_TYPES,
    PETITION_ANSWER_DAYS,
    PETITION_SUBJECTS,
    PETITION_TYPES,
)
from gis.incidents.workcalendar import WorkCalendar

TITLES = {
    "物业管理": ("电梯经常停运", "小区门禁损坏", "物业费公示不清"),
    "环境卫生": ("垃圾清运不及时", "楼道有小广告", "绿化带杂草多"),
    "邻里关系": ("楼上夜间噪音", "邻居占用公共走廊"),
    "公共设施": ("健身器材损坏", "小区路面积水"),
    "社会保障": ("咨询高龄津贴申领", "医保转移办理"),
    "治安消防": ("消防通道被占", "夜间路灯太暗"),
    "政策咨询": ("老旧小区改造政策", "居住证办理流程"),
    "其他": ("建议增设便民服务点",),
}
ANSWERS = ("已协调物业处理，请留意。", "已安排网格员上门核实并解决。", "已转相关部门，近期办理。")
PETITIONS_PER_COMMUNITY = 6
# The states demo petitions are left in, in turn (the first household's first two are fixed).
STATES = ("answered", "assigned", "rated", "submitted", "rated", "rejected")

_HOUSEHOLDS = """
SELECT h.id, h.district_code, g.id, c.id, s.id, c.code,
       (SELECT r.name FROM resident r WHERE r.household_id = h.id ORDER BY r.id LIMIT 1),
       (SELECT r.phone FROM resident r WHERE r.household_id = h.id ORDER BY r.id LIMIT 1),
       g.code
FROM household h JOIN building b ON b.id = h.building_id
JOIN area g ON g.id = b.grid_id AND g.valid_to IS NULL
JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id
ORDER BY c.code, h.code
"""


def _at(as_of: datetime.date, days_ago: float, hour: int = 2) -> datetime.datetime:
    base = datetime.datetime.combine(as_of, datetime.time(hour, 0), datetime.UTC)
    return base - datetime.timedelta(days=days_ago)


def load_resident_cases(
    conn: psycopg.Connection[Any], seed: int, households: int, as_of: datetime.date
) -> dict[str, int]:
    """Write demo petitions and disputes with their histories; return row counts. Does not
    commit."""
    rng = random.Random(f"resident-cases-{seed}-{households}")
    with conn.cursor() as cur:
        rows = cur.execute(_HOUSEHOLDS).fetchall()
    by_community: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_community.setdefault(row[5], []).append(row)
    first_grid = min((r[8] for r in rows), default=None)
    counts = {"petition": 0, "petition_transition": 0, "dispute": 0, "dispute_party": 0}
    with conn.cursor() as cur:
        calendar = work_calendar(cur)
        for community in sorted(by_community):
            homes = by_community[community]
            first = sorted((h for h in homes if h[8] == first_grid), key=lambda h: h[0])
            for i in range(PETITIONS_PER_COMMUNITY):
                home = first[0] if first and i < 2 else rng.choice(homes)
                state = STATES[i % len(STATES)]
                _petition(cur, rng, calendar, home, state, as_of, counts)
            _disputes(cur, rng, homes, as_of, counts)
    return counts


def _next_id(cur: psycopg.Cursor[Any]) -> int:
    row = cur.execute("SELECT nextval('incident_id_seq')").fetchone()
    assert row is not None
    return int(row[0])


def _petition(
    cur: psycopg.Cursor[Any],
    rng: random.Random,
    calendar: WorkCalendar,
    home: tuple[Any, ...],
    state: str,
    as_of: datetime.date,
    counts: dict[str, int],
) -> None:
    household, district, grid, community, street, _, name, phone, _ = home
    subject = rng.choice(PETITION_SUBJECTS)
    kind = rng.choice(PETITION_TYPES)
    title = rng.choice(TITLES[subject])
    submitted = _at(as_of, rng.uniform(1, 40))
    due = calendar.add_working_days(submitted, PETITION_ANSWER_DAYS[kind])
    number = _next_id(cur)
    steps: list[tuple[Any, ...]] = [(submitted, None, "submitted", "submit", "已提交")]
    assigned_to = answer = None
    answered_at: Any = None
    rated_at: Any = None
    closed_at: Any = None
    rating = None
    if state in ("assigned", "answered", "rated"):
        assigned_to = "网格员"
        steps.append(
            (
                submitted + datetime.timedelta(hours=3),
                "submitted",
                "assigned",
                "assign",
                "已交办：网格员",
            )
        )
    if state in ("answered", "rated"):
        answer = rng.choice(ANSWERS)
        answered_at = submitted + datetime.timedelta(days=rng.uniform(0.5, 8))
        steps.append((answered_at, "assigned", "answered", "answer", "已答复"))
    if state == "rated":
        rating = rng.choice((3, 4, 5, 5, 2))
        rated_at = closed_at = answered_at + datetime.timedelta(hours=6)
        steps.append((rated_at, "answered", "rated", "rate", f"评价：{rating}星"))
    if state == "rejected":
        closed_at = submitted + datetime.timedelta(hours=5)
        steps.append(
            (closed_at, "submitted", "rejected", "refuse", "不属于受理范围，已告知办理渠道")
        )
    cur.execute(
        """
        INSERT INTO petition (id, code, petition_type, subject, title, description, household_id,
            petitioner_name, petitioner_phone, grid_id, community_id, street_id, district_code,
            status, escalation_level, assigned_to, submitted_at, due_at, answer, answered_at,
            answered_by, rating, rated_at, closed_at, updated_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
            %s, %s, %s, %s, %s)
        """,
        (
            number,
            case_code(district, submitted, number),
            kind,
            subject,
            title,
            f"{title}，希望尽快处理。",
            household,
            name,
            phone,
            grid,
            community,
            street,
            district,
            state,
            "grid" if assigned_to else "community",
            assigned_to,
            submitted,
            due,
            answer,
            answered_at,
            "grid_worker:demo" if answer else None,
            rating,
            rated_at,
            closed_at,
            steps[-1][0],
        ),
    )
    for at, frm, to, action, public_note in steps:
        cur.execute(
            "INSERT INTO petition_transition (petition_id, at, actor, from_status, to_status,"
            " action, public_note) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                number,
                at,
                "resident:demo" if action in ("submit", "rate") else "staff:demo",
                frm,
                to,
                action,
                public_note,
            ),
        )
    counts["petition"] += 1
    counts["petition_transition"] += len(steps)


# Each community's disputes: (status, level it ended or stands at, outcome).
DISPUTES = (
    ("mediating", "grid", None),
    ("followed_up", "community", "agreement"),
    ("agreed", "grid", "agreement"),
    ("failed", "street", "failed"),
)
LEVELS = ("grid", "community", "street")


def _disputes(
    cur: psycopg.Cursor[Any],
    rng: random.Random,
    homes: list[tuple[Any, ...]],
    as_of: datetime.date,
    counts: dict[str, int],
) -> None:
    for status, level, outcome in DISPUTES:
        a, b = rng.sample(homes, 2) if len(homes) > 1 else (homes[0], homes[0])
        _, district, grid, community, street, *_ = a
        registered = _at(as_of, rng.uniform(10, 60))
        number = _next_id(cur)
        reached = LEVELS[: LEVELS.index(level) + 1]
        moves = [registered + datetime.timedelta(days=6 * i) for i in range(len(reached))]
        closed = moves[-1] + datetime.timedelta(days=4) if outcome else None
        cur.execute(
            """
            INSERT INTO dispute (id, code, dispute_type, summary, grid_id, community_id,
                street_id, district_code, level, level_since, mediator, status, registered_by,
                registered_at, due_at, closed_at, outcome, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (
                number,
                case_code(district, registered, number),
                rng.choice(DISPUTE_TYPES),
                "双方因生活琐事发生争执，申请调解。",
                grid,
                community,
                street,
                district,
                level,
                moves[-1],
                "调解员",
                status,
                "grid_worker:demo",
                registered,
                moves[-1] + datetime.timedelta(days=14),
                closed,
                outcome,
                closed or moves[-1],
            ),
        )
        for side, home in (("applicant", a), ("respondent", b)):
            cur.execute(
                "INSERT INTO dispute_party (dispute_id, side, name, phone) VALUES (%s, %s, %s, %s)",
                (number, side, home[6] or "当事人", home[7]),
            )
        history: list[tuple[Any, ...]] = [(registered, None, "registered", "register", "grid")]
        history.append(
            (registered + datetime.timedelta(hours=2), "registered", "mediating", "start", "grid")
        )
        for lv, at in zip(reached[1:], moves[1:], strict=True):
            history.append((at, "mediating", "mediating", "escalate", lv))
        for lv, at in zip(reached, moves, strict=True):
            cur.execute(
                "INSERT INTO dispute_session (dispute_id, level, held_at, mediator, outcome,"
                " recorded_by) VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    number,
                    lv,
                    at + datetime.timedelta(days=1),
                    "调解员",
                    "agreed"
                    if outcome == "agreement" and lv == level
                    else "failed"
                    if lv != level or outcome == "failed"
                    else "continued",
                    "demo",
                ),
            )
        if outcome == "agreement":
            assert closed is not None
            cur.execute(
                "INSERT INTO dispute_agreement (dispute_id, level, signed_at, terms, recorded_by)"
                " VALUES (%s, %s, %s, %s, %s)",
                (
                    number,
                    level,
                    closed,
                    "双方自愿达成协议：一方赔偿对方损失，双方不再追究。",
                    "demo",
                ),
            )
            history.append((closed, "mediating", "agreed", "agree", level))
            if status == "followed_up":
                visit = closed + datetime.timedelta(days=7)
                cur.execute(
                    "INSERT INTO dispute_followup (dispute_id, visited_at, fulfilled, note,"
                    " recorded_by) VALUES (%s, %s, true, %s, %s)",
                    (number, visit, "协议已履行", "demo"),
                )
                history.append((visit, "agreed", "followed_up", "follow_up", level))
        elif outcome == "failed":
            assert closed is not None
            history.append((closed, "mediating", "failed", "fail", level))
        for at, frm, to, action, lv in history:
            cur.execute(
                "INSERT INTO dispute_transition (dispute_id, at, actor, from_status, to_status,"
                " action, level) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (number, at, "staff:demo", frm, to, action, lv),
            )
        counts["dispute"] += 1
        counts["dispute_party"] += 2
