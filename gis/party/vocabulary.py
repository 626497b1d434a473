"""The one vocabulary of party organisations and member records (docs/party-building.md).

The migration 0034_party_members repeats these keys in its CHECK constraints and triggers; a
test compares them. Pages receive the labels from the server (:func:`for_pages`).

The chain (五级组织链): 街道党工委 (a town 镇/乡: 镇党委) → 社区党委/党总支/党支部 →
网格党支部 → 楼栋党小组 → 党员中心户. The last is **not** an organisation: it is a member's
household that looks after a few named neighbouring households (``party_central_household``).
"""

from __future__ import annotations

from typing import Any

STREET_COMMITTEE = "党工委"  # 街道党工委: the street's party working committee
TOWN_COMMITTEE = "党委"  # 镇党委 / 乡党委: a town has a committee, not a working committee
COMMITTEE = "党委"
GENERAL_BRANCH = "党总支"
BRANCH_TYPE = "党支部"
GROUP_TYPE = "党小组"
CENTRAL_HOUSEHOLD = "党员中心户"

# Area kinds (area.kind of a street-level area) whose committee is a 党委 rather than a 党工委.
TOWN_KINDS = frozenset({"镇", "乡"})

# level → the organisation types allowed there (party_org_type_fits_level).
TYPES_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "street": (STREET_COMMITTEE, TOWN_COMMITTEE),
    "community": (COMMITTEE, GENERAL_BRANCH, BRANCH_TYPE),
    "grid": (BRANCH_TYPE,),
    "building": (GROUP_TYPE,),
}
ORG_LEVELS = tuple(TYPES_BY_LEVEL)
ORG_TYPES = (STREET_COMMITTEE, COMMITTEE, GENERAL_BRANCH, BRANCH_TYPE, GROUP_TYPE)

LEVEL_LABELS = {
    "street": "街道/乡镇",
    "community": "社区",
    "grid": "网格",
    "building": "楼栋",
    "household": "党员中心户",
}


def street_committee_type(area_kind: str) -> str:
    """The committee type of a street-level area: 党委 for a town, else 党工委.

    >>> street_committee_type("街道"), street_committee_type("镇")
    ('党工委', '党委')
    """
    return TOWN_COMMITTEE if area_kind in TOWN_KINDS else STREET_COMMITTEE


def org_label(level: str, org_type: str) -> str:
    """The name of an organisation's kind as people say it.

    >>> org_label("street", "党委"), org_label("grid", "党支部"), org_label("building", "党小组")
    ('镇党委', '网格党支部', '楼栋党小组')
    """
    if level == "street":
        return "镇党委" if org_type == TOWN_COMMITTEE else "街道党工委"
    if level == "community":
        return "社区" + org_type
    if level == "grid":
        return "网格" + org_type
    if level == "building":
        return "楼栋" + org_type
    return org_type


# --- member records ------------------------------------------------------------------------

MEMBER_STATUSES = ("正式党员", "预备党员")
FULL_MEMBER_STATUS = "正式党员"

# Care flags (关怀对象) set by the branch.
CARE_FLAGS: dict[str, str] = {"hardship": "困难党员", "veteran": "老党员"}
# 老党员 as the demo city and the page's hint use it: 党龄 50 years (光荣在党50年) or aged 80+.
VETERAN_PARTY_YEARS = 50
VETERAN_AGE = 80

CARE_KINDS: dict[str, str] = {
    "visit": "走访慰问",
    "festival": "节日慰问",
    "hardship_aid": "帮扶救助",
    "health": "看病就医",
    "birthday": "政治生日",
    "other": "其他",
}
CARE_NOTE_MAX = 500
CARE_AMOUNT_MAX = 100_000

# 组织关系转接: within the register (one of our 支部 to another), in from outside, out to outside.
TRANSFER_DIRECTIONS: dict[str, str] = {"within": "系统内转接", "in": "转入", "out": "转出"}
# Where a member's relation (组织关系) is: in a 支部 of the register, or transferred out of it.
RELATION_LABELS: dict[str, str] = {"here": "在册", "out": "已转出"}
TRANSFER_REASONS: dict[str, str] = {
    "moved": "迁居",
    "work": "工作调动",
    "study": "升学",
    "retired": "退休",
    "other": "其他",
}
ORG_NAME_MAX = 200
LETTER_NO_MAX = 60

# 流动党员: why a member is away and where.
AWAY_REASONS: dict[str, str] = {
    "work": "外出务工",
    "business": "外出经商",
    "study": "外出求学",
    "other": "其他",
}
PLACE_MAX = 200

# 学习教育
COURSE_CATEGORIES: dict[str, str] = {
    "theory": "理论学习",
    "constitution": "党章党规",
    "history": "党史学习",
    "policy": "政策解读",
    "skills": "为民服务技能",
}
COURSE_HOURS_MAX = 40
LEARNING_HOURS_MAX = 40
YEARLY_LEARNING_HOURS_DUE = 32  # 党员每年集中学习培训不少于32学时 (2019 党员教育管理工作条例)


def for_pages() -> dict[str, Any]:
    """Labels the member pages show (they receive them, never restate them)."""
    return {
        "levels": LEVEL_LABELS,
        "statuses": list(MEMBER_STATUSES),
        "care_flags": CARE_FLAGS,
        "care_kinds": CARE_KINDS,
        "transfer_directions": TRANSFER_DIRECTIONS,
        "relations": RELATION_LABELS,
        "transfer_reasons": TRANSFER_REASONS,
        "away_reasons": AWAY_REASONS,
        "course_categories": COURSE_CATEGORIES,
        "yearly_learning_hours_due": YEARLY_LEARNING_HOURS_DUE,
    }
