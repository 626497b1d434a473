"""The words of 双报到 (one owner; migration 0034's CHECKs list the same keys).

Service orders carry an ``origin``: a resident's order (群众点单), a community's need (需求) or a
post (岗位). Needs and posts are 双报到 work: claimed by a member, or assigned to a unit by letter
(函) when they become a project (项目) of the 一单一库一函一评一表 cycle.
"""

from __future__ import annotations

from typing import Any

ORIGINS = ("resident", "need", "post")
COMMUNITY_ORIGINS = ("need", "post")
ORIGIN_LABELS = {"resident": "群众点单", "need": "需求", "post": "岗位"}
DOERS = ("member", "unit")
DOER_LABELS = {"member": "在职党员", "unit": "报到单位"}
# The service types of service orders (migration 0004's CHECK; api/routers/dual_report.py's enum).
SERVICE_TYPES = ("养老照护", "维修", "代办", "助学", "心理疏导", "其他")
MAX_HOURS = 999
STARS = (1, 2, 3, 4, 5)


def for_pages() -> dict[str, Any]:
    return {
        "origins": {k: ORIGIN_LABELS[k] for k in ORIGINS},
        "service_types": list(SERVICE_TYPES),
        "doers": DOER_LABELS,
        "max_hours": MAX_HOURS,
        "stars": list(STARS),
    }
