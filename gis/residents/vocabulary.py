"""The vocabularies of serving residents: the one owner of their keys and labels.

Migration 0033_residents lists the same keys in its CHECK constraints (a test compares them);
the pages receive keys and labels from :func:`for_pages`, never a copy in JavaScript.
"""

from __future__ import annotations

from typing import Any

from gis import special_groups

NOTICE_CATEGORIES = {
    "general": ("通知公告", "Announcement"),
    "activity": ("活动通知", "Activity"),
    "safety": ("安全提示", "Safety"),
    "policy": ("政策宣传", "Policy"),
    "service": ("办事指南", "Services"),
}
APPLICATION_STATUSES = {
    "submitted": ("已提交", "Submitted"),
    "accepted": ("已受理", "Accepted"),
    "completed": ("已办结", "Completed"),
    "rejected": ("不予办理", "Rejected"),
}
OPEN_APPLICATION_STATUSES = ("submitted", "accepted")
# Staff steps of an application: action → (from statuses, to status).
APPLICATION_ACTIONS = {
    "accept": (("submitted",), "accepted"),
    "complete": (("submitted", "accepted"), "completed"),
    "reject": (("submitted", "accepted"), "rejected"),
}
ACTIVITY_STATUSES = {
    "open": ("报名中", "Open"),
    "completed": ("已完成", "Completed"),
    "cancelled": ("已取消", "Cancelled"),
}
LEDGER_KINDS = {
    "earn": ("服务积分", "Earned"),
    "redeem": ("积分兑换", "Redeemed"),
    "adjust": ("积分调整", "Adjusted"),
}
# How a resident was identified when he acted (``via`` columns).
VIA = ("link", "account")

# Points per hour of service when an activity does not say otherwise (爱心储蓄: 1 h = 10 分).
POINTS_PER_HOUR = 10
# A volunteer may check in from this long before the start until the end.
CHECKIN_EARLY_MINUTES = 30

# The visit plan of the special groups (重点关爱人群走访频次), in days between visits. A
# household is due at the shortest interval among its residents' groups. Common practice in the
# source platforms: those living alone weekly, other elderly every two weeks, families in
# hardship, people with disabilities and left-behind children monthly, veterans quarterly.
VISIT_INTERVAL_DAYS = {
    "elderly_alone": 7,
    "empty_nest": 14,
    "hardship": 30,
    "disabled": 30,
    "left_behind_child": 30,
    "veteran": 90,
}
# A visit falls due soon this many days before its date (the care list flags it).
DUE_SOON_DAYS = 2

assert set(VISIT_INTERVAL_DAYS) == set(special_groups.SPECIAL_GROUPS)


def label(table: dict[str, tuple[str, str]], key: str, lang: str = "zh-CN") -> str:
    """The label of ``key`` in one of the tables above.

    >>> label(NOTICE_CATEGORIES, "safety"), label(APPLICATION_STATUSES, "accepted", "en")
    ('安全提示', 'Accepted')
    """
    zh, en = table[key]
    return en if lang == "en" else zh


def _labels(table: dict[str, tuple[str, str]], lang: str) -> list[dict[str, str]]:
    return [{"key": key, "label": label(table, key, lang)} for key in table]


def for_pages(lang: str = "zh-CN") -> dict[str, Any]:
    """Every vocabulary as the pages and ``GET /api/v1/residents/vocabulary`` receive it."""
    return {
        "notice_categories": _labels(NOTICE_CATEGORIES, lang),
        "application_statuses": _labels(APPLICATION_STATUSES, lang),
        "application_actions": list(APPLICATION_ACTIONS),
        "activity_statuses": _labels(ACTIVITY_STATUSES, lang),
        "ledger_kinds": _labels(LEDGER_KINDS, lang),
        "special_groups": special_groups.for_pages(lang),
        "visit_interval_days": dict(VISIT_INTERVAL_DAYS),
        "points_per_hour": POINTS_PER_HOUR,
    }
