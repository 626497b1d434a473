"""The vocabulary and rules of organisational life (组织生活): the one owner of both.

三会一课 are the branch's four regular meetings — 支部党员大会 (general meeting of the branch's
members), 支委会 (branch committee), 党小组会 (party group) and 党课 (party lecture) — and
主题党日 is the monthly themed party day. The table below says how often each is due:

=====================  ========  ==========  =====================================================
kind                   中文       frequency   held by
=====================  ========  ==========  =====================================================
``general_meeting``    支部党员大会  quarterly   the branch (all its members)
``committee_meeting``  支委会       monthly     the branch committee — only a branch with at least
                                              seven full members (正式党员) has one (党章 §30)
``group_meeting``      党小组会      monthly     each 党小组 of the branch (a branch with none: n/a)
``party_lecture``      党课        quarterly   the branch
``theme_day``          主题党日      monthly     the branch
=====================  ========  ==========  =====================================================

A *period* is a calendar month or quarter (Asia/Shanghai dates). A period of a rule is **met**
when at least one meeting of that kind was held in it by the unit the rule applies to (the
branch, or each of its 党小组); **missed** when it ended without one; **open** while it is still
running without one. Completeness is met ÷ (met + missed): an unfinished month is not yet a gap.

The migration's CHECK constraints (``0026_org_life``) list the same keys; a test compares them.
Pages receive labels and rules from the server (:func:`for_pages`), never a copy in JavaScript.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Literal

from gis.errors import InvalidInput
from gis.party.vocabulary import BRANCH_TYPE as BRANCH_TYPE
from gis.party.vocabulary import FULL_MEMBER_STATUS as FULL_MEMBER_STATUS
from gis.party.vocabulary import GROUP_TYPE as GROUP_TYPE

Frequency = Literal["monthly", "quarterly"]
Unit = Literal["branch", "group"]


@dataclass(frozen=True)
class MeetingKind:
    key: str
    zh: str
    en: str
    frequency: Frequency
    unit: Unit
    """Who must hold it: the branch itself, or each 党小组 of the branch."""


MEETING_KINDS: tuple[MeetingKind, ...] = (
    MeetingKind("general_meeting", "支部党员大会", "Branch general meeting", "quarterly", "branch"),
    MeetingKind("committee_meeting", "支委会", "Branch committee meeting", "monthly", "branch"),
    MeetingKind("group_meeting", "党小组会", "Party group meeting", "monthly", "group"),
    MeetingKind("party_lecture", "党课", "Party lecture", "quarterly", "branch"),
    MeetingKind("theme_day", "主题党日", "Themed party day", "monthly", "branch"),
)
KINDS = {k.key: k for k in MEETING_KINDS}
KIND_KEYS = tuple(KINDS)

ATTENDANCE = ("present", "absent", "leave")
ATTENDANCE_ZH = {"present": "出席", "absent": "缺席", "leave": "请假"}
ATTENDANCE_EN = {"present": "Present", "absent": "Absent", "leave": "On leave"}

# The organisation types (party_org.org_type) that hold 三会一课, and the groups inside them:
# their owner is gis.party.vocabulary.
# 党章 §30: a branch with seven or more full members elects a committee (支部委员会).
COMMITTEE_MIN_FULL_MEMBERS = 7

# Field limits (the migration's CHECKs say the same; the API answers 422 before the database).
PLACE_MAX = 100
TOPIC_MAX = 200
MINUTES_MAX = 20_000
# How far back a meeting may be recorded (late records of last year's meetings are normal).
EARLIEST_YEAR = 2000

QUARTER_RE = re.compile(r"^(?P<year>[0-9]{4})Q(?P<q>[1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2026Q3`` → Quarter(2026, 3); anything else is a 4xx saying the form.

        >>> Quarter.parse("2026Q3")
        Quarter(year=2026, q=3)
        """
        match = QUARTER_RE.match(text)
        if not match or not EARLIEST_YEAR <= int(match["year"]) <= 2100:
            raise InvalidInput(
                f"quarter must look like 2026Q3 (a year from {EARLIEST_YEAR} and Q1 to Q4)",
                parameter="quarter",
            )
        return cls(int(match["year"]), int(match["q"]))

    @classmethod
    def of(cls, day: datetime.date) -> Quarter:
        """The quarter a day falls in.

        >>> Quarter.of(datetime.date(2026, 11, 29))
        Quarter(year=2026, q=4)
        """
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def months(self) -> tuple[int, int, int]:
        first = 3 * (self.q - 1) + 1
        return (first, first + 1, first + 2)

    @property
    def start(self) -> datetime.date:
        return datetime.date(self.year, self.months[0], 1)

    @property
    def end(self) -> datetime.date:
        """The last day of the quarter."""
        return month_end(self.year, self.months[2])

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)


def month_end(year: int, month: int) -> datetime.date:
    """The last day of a month.

    >>> month_end(2026, 2), month_end(2026, 12)
    (datetime.date(2026, 2, 28), datetime.date(2026, 12, 31))
    """
    first_next = datetime.date(year + month // 12, month % 12 + 1, 1)
    return first_next - datetime.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """One period a rule is checked in: a month (``2026-10``) or a whole quarter (``2026Q4``)."""

    label: str
    start: datetime.date
    end: datetime.date


def periods(kind: MeetingKind, quarter: Quarter) -> list[Period]:
    """The periods of ``quarter`` in which ``kind`` is due once.

    >>> [p.label for p in periods(KINDS["theme_day"], Quarter(2026, 4))]
    ['2026-10', '2026-11', '2026-12']
    >>> [p.label for p in periods(KINDS["party_lecture"], Quarter(2026, 4))]
    ['2026Q4']
    """
    if kind.frequency == "quarterly":
        return [Period(str(quarter), quarter.start, quarter.end)]
    return [
        Period(
            f"{quarter.year}-{m:02d}",
            datetime.date(quarter.year, m, 1),
            month_end(quarter.year, m),
        )
        for m in quarter.months
    ]


PeriodStatus = Literal["met", "missed", "open"]


def period_status(held: int, period: Period, today: datetime.date) -> PeriodStatus:
    """Met with at least one meeting; missed once the period ended without; else still open.

    >>> p = periods(KINDS["theme_day"], Quarter(2026, 4))[1]
    >>> [period_status(1, p, datetime.date(2026, 11, 5)), period_status(0, p, datetime.date(2026,
    ...  11, 30)), period_status(0, p, datetime.date(2026, 12, 1))]
    ['met', 'open', 'missed']
    """
    if held > 0:
        return "met"
    return "missed" if period.end < today else "open"


def applies(kind: MeetingKind, full_members: int, groups: int) -> bool:
    """Whether a branch owes meetings of ``kind`` at all.

    >>> applies(KINDS["committee_meeting"], 6, 2), applies(KINDS["committee_meeting"], 7, 0)
    (False, True)
    >>> applies(KINDS["group_meeting"], 30, 0), applies(KINDS["theme_day"], 1, 0)
    (False, True)
    """
    if kind.key == "committee_meeting":
        return full_members >= COMMITTEE_MIN_FULL_MEMBERS
    if kind.unit == "group":
        return groups > 0
    return True


def kind_label(key: str, lang: str = "zh-CN") -> str:
    """
    >>> kind_label("party_lecture"), kind_label("theme_day", "en")
    ('党课', 'Themed party day')
    """
    kind = KINDS[key]
    return kind.en if lang == "en" else kind.zh


def for_pages(lang: str = "zh-CN") -> dict[str, Any]:
    """Kinds (with their rule), attendance labels and the committee threshold, for pages."""
    en = lang == "en"
    return {
        "kinds": [
            {
                "key": k.key,
                "label": k.en if en else k.zh,
                "frequency": k.frequency,
                "unit": k.unit,
            }
            for k in MEETING_KINDS
        ],
        "attendance": [
            {"key": a, "label": (ATTENDANCE_EN if en else ATTENDANCE_ZH)[a]} for a in ATTENDANCE
        ],
        "committee_min_full_members": COMMITTEE_MIN_FULL_MEMBERS,
    }
