"""The words of regional party building (one owner; migration 0034's CHECKs list the same keys).

>>> layer_of("物业企业", has_party_org=True, resident=False, joint=False)
('red_property',)
>>> sorted(layer_of("非公企业", has_party_org=False, resident=True, joint=True))
['joint', 'resident', 'two_new']
"""

from __future__ import annotations

from typing import Any

# 单位 kinds. 机关/事业单位/国有企业 are the 机关企事业单位 of 双报到; 非公企业 and 社会组织 are the
# 两新组织 (新经济组织, 新社会组织); a 商圈党委 leads a business district's party work.
UNIT_KINDS = (
    "机关",
    "事业单位",
    "国有企业",
    "非公企业",
    "社会组织",
    "商圈党委",
    "物业企业",
    "业委会",
)
REPORTING_KINDS = ("机关", "事业单位", "国有企业")
TWO_NEW_KINDS = ("非公企业", "社会组织", "商圈党委")
# A property company with its own party organisation is a 红色物业; it and the 业委会 serve
# buildings (their compound).
SERVES_BUILDINGS = ("物业企业", "业委会")
RESOURCE_CATEGORIES = ("场地", "人才", "资金", "物资", "技术", "志愿服务")
COMMITTEE_POSTS = ("兼职副书记", "兼职委员")
# Map layers of the e-map, in drawing order, with their labels.
LAYERS: dict[str, dict[str, str]] = {
    "resident": {"zh": "驻区单位", "en": "Resident units"},
    "joint": {"zh": "共建单位", "en": "Joint-building units"},
    "two_new": {"zh": "两新组织", "en": "New economic and social organisations"},
    "red_property": {"zh": "红色物业", "en": "Red property management"},
}
# A 大党委 is a community's committee, a 大工委 a street's.
BIG_COMMITTEE = {"community": "大党委", "street": "大工委"}


def layer_of(kind: str, *, has_party_org: bool, resident: bool, joint: bool) -> tuple[str, ...]:
    """The e-map layers a unit shows on (a unit can be on several)."""
    layers = []
    if resident:
        layers.append("resident")
    if joint:
        layers.append("joint")
    if kind in TWO_NEW_KINDS:
        layers.append("two_new")
    if kind == "物业企业" and has_party_org:
        layers.append("red_property")
    return tuple(layers)


def for_pages() -> dict[str, Any]:
    return {
        "unit_kinds": list(UNIT_KINDS),
        "reporting_kinds": list(REPORTING_KINDS),
        "two_new_kinds": list(TWO_NEW_KINDS),
        "resource_categories": list(RESOURCE_CATEGORIES),
        "committee_posts": list(COMMITTEE_POSTS),
        "layers": LAYERS,
    }
