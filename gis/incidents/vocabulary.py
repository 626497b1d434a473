"""The incident vocabulary: kinds, categories, sources, statuses and their sets. The one owner.

Everything else imports these names: the workflow, intake, validation of imports, the API
schemas, Open311; pages receive them from the server (:func:`for_pages`, embedded in each page's
data), never a copy in JavaScript. The database has its copy in IMMUTABLE SQL functions of
migration ``0012_incident_vocabulary`` (``incident_statuses()``, ``incident_open_statuses()``,
…), which the SQL files and partial indexes use; ``tests/gis/incidents/test_vocabulary.py``
checks that they equal the names here. Changing the vocabulary therefore means a migration that
replaces those functions (and rebuilds the partial indexes that use them).
"""

from __future__ import annotations

from typing import Any

# 事件 (something happened) and 部件 (a piece of street furniture is broken), the two kinds of the
# national digital urban-management standard, each with its major categories (大类).
KINDS = ("event", "component")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "event": ("市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "其他"),
    "component": ("公用设施", "交通设施", "市容环境设施", "园林绿化设施", "其他设施"),
}
KIND_OF_CATEGORY = {c: k for k, cats in CATEGORIES.items() for c in cats}
KIND_LABELS_ZH = {"event": "事件", "component": "部件"}

# Where a report came from. ``open311`` and ``import`` are set by the system (the Open311
# interface, a dataset import); the others may be chosen by whoever enters the report.
SOURCES = ("grid_worker", "hotline", "public", "open311", "patrol", "import")
ENTERED_SOURCES = ("grid_worker", "hotline", "public", "patrol")

# The states of a case (docs/command-centre.md draws the diagram). 受理 (accepted: the report
# is real and complete) and 立案 (registered: the centre opens a case) are separate decisions;
# 核查通过 (verified) waits for the centre's 结案; 挂起 (suspended) pauses the deadline clock.
STATUSES = (
    "reported",
    "accepted",
    "registered",
    "rejected",
    "dispatched",
    "in_progress",
    "handled",
    "verified",
    "suspended",
    "closed",
    "evaluated",
)
STATUS_LABELS_ZH = {
    "reported": "上报",
    "accepted": "已受理",
    "registered": "立案",
    "rejected": "不予立案",
    "dispatched": "派遣",
    "in_progress": "处置中",
    "handled": "处置反馈",
    "verified": "核查通过",
    "suspended": "挂起",
    "closed": "结案",
    "evaluated": "已评价",
}
# Open: the case still needs someone (it follows its location when boundaries are redrawn).
OPEN_STATUSES = (
    "reported",
    "accepted",
    "registered",
    "dispatched",
    "in_progress",
    "handled",
    "verified",
    "suspended",
)
CLOSED_STATUSES = ("closed", "evaluated")
TERMINAL_STATUSES = ("rejected", "evaluated")
# A deadline is running: these can be late. Handled and verified cases wait for verification and
# closing, not for work; a suspended case's clock is paused (resuming moves its deadline).
LATE_STATUSES = ("reported", "accepted", "registered", "dispatched", "in_progress")
# In someone's hands: what counts towards a worker's load when cases are shared out.
WORKLOAD_STATUSES = ("registered", "dispatched", "in_progress")

REJECT_RESOLUTIONS = ("duplicate", "not_responsible", "invalid")
# Who verifies (核查) a handled case, per category (``incident_deadline_rule.verified_by``): the
# community the case lies in, or the command centre. Never the person or grid that handled it.
VERIFIERS = ("community", "centre")
# A deadline-extension request (延期申请) is decided once: approved (the deadline moves) or refused.
EXTENSION_DECISIONS = ("approved", "refused")
ESCALATION_LEVELS = ("grid", "community", "street", "district")


def for_pages() -> dict[str, Any]:
    """The vocabulary as the pages receive it (in their page data JSON)."""
    return {
        "kinds": list(KINDS),
        "kind_labels_zh": KIND_LABELS_ZH,
        "categories": {kind: list(cats) for kind, cats in CATEGORIES.items()},
        "statuses": list(STATUSES),
        "status_labels_zh": STATUS_LABELS_ZH,
        "open_statuses": list(OPEN_STATUSES),
        "closed_statuses": list(CLOSED_STATUSES),
        "late_statuses": list(LATE_STATUSES),
        "sources": list(SOURCES),
        "entered_sources": list(ENTERED_SOURCES),
        "reject_resolutions": list(REJECT_RESOLUTIONS),
        "visit_purposes": list(VISIT_PURPOSES),
    }


# Why a grid worker visits a household (入户走访); the field page offers these (docs/field-work.md).
VISIT_PURPOSES = ("日常走访", "政策宣传", "矛盾调解", "关爱帮扶", "安全检查", "信息采集", "其他")


# --- petitions (诉求) and dispute mediation (三级调解): case kinds on the same engine ----------
# (docs/residents.md). Each kind has its own transition table in gis/incidents/workflow.py.
CASE_KINDS = ("incident", "petition", "dispute")
CASE_KIND_LABELS_ZH = {"incident": "事件", "petition": "诉求", "dispute": "矛盾纠纷"}

PETITION_TYPES = ("request", "complaint", "suggestion")
PETITION_TYPE_LABELS_ZH = {"request": "求助", "complaint": "投诉", "suggestion": "建议"}
# What a petition is about (诉求分类), the axis of its statistics besides the area.
PETITION_SUBJECTS = (
    "物业管理",
    "环境卫生",
    "邻里关系",
    "公共设施",
    "社会保障",
    "治安消防",
    "政策咨询",
    "其他",
)
# Working days to answer: a service request within 3 (the domain's rule for requests), a
# complaint within 5, a suggestion within 10.
PETITION_ANSWER_DAYS = {"request": 3, "complaint": 5, "suggestion": 10}
PETITION_STATUSES = ("submitted", "assigned", "answered", "rated", "rejected", "converted")
PETITION_STATUS_LABELS_ZH = {
    "submitted": "已提交",
    "assigned": "办理中",
    "answered": "已答复",
    "rated": "已评价",
    "rejected": "不予受理",
    "converted": "已转为事件",
}
PETITION_OPEN_STATUSES = ("submitted", "assigned")

DISPUTE_TYPES = (
    "邻里纠纷",
    "婚姻家庭",
    "物业纠纷",
    "房屋宅基地",
    "损害赔偿",
    "劳动争议",
    "其他",
)
# The three levels of mediation, lowest first: the grid's mediator, the community's and the
# street's mediation committees (人民调解委员会). They are the first three escalation levels.
MEDIATION_LEVELS = ESCALATION_LEVELS[:3]
MEDIATION_LEVEL_LABELS_ZH = {"grid": "网格调解", "community": "社区调委会", "street": "街道调委会"}
# Working days one level has to mediate before the case should go up (the sweep does not move
# it by itself: the mediator decides; the list marks it overdue).
MEDIATION_DAYS_PER_LEVEL = 10
DISPUTE_STATUSES = ("registered", "mediating", "agreed", "failed", "withdrawn", "followed_up")
DISPUTE_STATUS_LABELS_ZH = {
    "registered": "已登记",
    "mediating": "调解中",
    "agreed": "达成协议",
    "failed": "调解不成",
    "withdrawn": "已撤回",
    "followed_up": "已回访",
}
DISPUTE_OPEN_STATUSES = ("registered", "mediating")
SESSION_OUTCOMES = ("agreed", "continued", "failed")
SESSION_OUTCOME_LABELS_ZH = {"agreed": "达成一致", "continued": "继续调解", "failed": "调解不成"}
PARTY_SIDES = ("applicant", "respondent")
PARTY_SIDE_LABELS_ZH = {"applicant": "申请人", "respondent": "被申请人"}


def resident_cases_for_pages() -> dict[str, Any]:
    """The petition and mediation vocabulary as the pages receive it."""
    return {
        "petition_types": list(PETITION_TYPES),
        "petition_type_labels_zh": PETITION_TYPE_LABELS_ZH,
        "petition_subjects": list(PETITION_SUBJECTS),
        "petition_status_labels_zh": PETITION_STATUS_LABELS_ZH,
        "petition_answer_days": PETITION_ANSWER_DAYS,
        "dispute_types": list(DISPUTE_TYPES),
        "dispute_status_labels_zh": DISPUTE_STATUS_LABELS_ZH,
        "mediation_levels": list(MEDIATION_LEVELS),
        "mediation_level_labels_zh": MEDIATION_LEVEL_LABELS_ZH,
        "session_outcomes": list(SESSION_OUTCOMES),
        "session_outcome_labels_zh": SESSION_OUTCOME_LABELS_ZH,
        "party_sides": list(PARTY_SIDES),
        "party_side_labels_zh": PARTY_SIDE_LABELS_ZH,
    }
