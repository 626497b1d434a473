"""The notification vocabulary: triggers, the event kinds they follow, desks. The one owner.

A trigger is why somebody is told: a dispatch (派遣), a send-back (返工), an approaching
deadline (临期) and an escalation (升级). Each follows one kind of incident event; the event
``due_soon`` is written by the deadline runner (gis/incidents), the others by the workflow.
"""

from __future__ import annotations

TRIGGERS = ("dispatch", "send_back", "due_soon", "escalation")
TRIGGER_LABELS: dict[str, dict[str, str]] = {
    "dispatch": {"zh-CN": "派遣", "en": "Dispatched"},
    "send_back": {"zh-CN": "返工", "en": "Sent back"},
    "due_soon": {"zh-CN": "临期提醒", "en": "Deadline approaching"},
    "escalation": {"zh-CN": "升级督办", "en": "Escalated"},
}

# The incident event kind of an approaching deadline (gis/incidents/events.py ``append_event``).
DUE_SOON_EVENT = "due_soon"
ESCALATED_EVENT = "escalated"
TRANSITION_EVENT = "transition"
DISPATCHED_STATUS = "dispatched"

# The desk at each level of the area tree: accounts with these roles scoped to exactly that
# level's area are told of what arrives there (an escalation, a dispatch to the level).
DESK_ROLES: dict[str, tuple[str, ...]] = {
    "grid": ("grid_chief", "grid_worker"),
    "community": ("community_secretary",),
    "street": ("street_secretary",),
    "district": ("district_secretary", "command_operator"),
}
LEVEL_LABELS: dict[str, dict[str, str]] = {
    "grid": {"zh-CN": "网格", "en": "grid"},
    "community": {"zh-CN": "社区", "en": "community"},
    "street": {"zh-CN": "街道", "en": "street"},
    "district": {"zh-CN": "区县", "en": "district"},
}

DELIVERY_STATUSES = ("pending", "sent", "failed")
