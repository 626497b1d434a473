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
