"""The words of a notification: one title and a few lines, rendered from its data.

A message names the case (code, kind, category), its area, the level it is at and its deadline
— never the reporter's name, phone or exact address: it travels through group chats and mail
servers the city does not control. The in-app list and every outside channel render from the
same :func:`render`, in the configured language (Chinese first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gis.incidents.timestamps import CST
from gis.incidents.vocabulary import KIND_LABELS_ZH
from gis.notifications.vocabulary import LEVEL_LABELS, TRIGGER_LABELS

_WORDS: dict[str, dict[str, str]] = {
    "category": {"zh-CN": "类别", "en": "Category"},
    "area": {"zh-CN": "属地", "en": "Area"},
    "due": {"zh-CN": "期限", "en": "Due"},
    "department": {"zh-CN": "派往部门", "en": "Department"},
    "level": {"zh-CN": "督办层级", "en": "Now at"},
    "no_due": {"zh-CN": "无", "en": "none"},
}
_KIND_EN = {"event": "Event", "component": "Component"}


@dataclass(frozen=True)
class Message:
    """What a person is told: a title and lines (plain text; markdown adds emphasis)."""

    title: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join((self.title, *self.lines))

    @property
    def markdown(self) -> str:
        return "\n".join((f"**{self.title}**", *(f"> {line}" for line in self.lines)))


def _word(key: str, lang: str) -> str:
    return _WORDS[key].get(lang) or _WORDS[key]["zh-CN"]


def format_due(value: str | None, lang: str) -> str:
    """A deadline as people read it: China Standard Time, to the minute.

    >>> format_due("2026-12-01T09:30:00+00:00", "zh-CN")
    '2026-12-01 17:30'
    """
    if not value:
        return _word("no_due", lang)
    return datetime.fromisoformat(value).astimezone(CST).strftime("%Y-%m-%d %H:%M")


def render(trigger: str, data: dict[str, Any], lang: str = "zh-CN") -> Message:
    """The message of one notification.

    >>> m = render("dispatch", {"code": "E202612010001", "kind": "event", "category": "市容环境",
    ...     "area": "东关社区第1网格", "level": "grid", "due_at": None})
    >>> m.title
    '【派遣】事件 E202612010001 市容环境'
    >>> m.lines
    ('属地：东关社区第1网格（网格）', '期限：无')
    """
    zh = lang == "zh-CN"
    label = TRIGGER_LABELS[trigger].get(lang) or TRIGGER_LABELS[trigger]["zh-CN"]
    kind = data.get("kind") or ""
    kind_label = KIND_LABELS_ZH.get(kind, kind) if zh else _KIND_EN.get(kind, kind)
    title = (
        f"【{label}】{kind_label} {data.get('code', '')} {data.get('category', '')}"
        if zh
        else f"[{label}] {kind_label} {data.get('code', '')} {data.get('category', '')}"
    ).strip()
    colon = "：" if zh else ": "
    level = data.get("level")
    level_label = LEVEL_LABELS.get(level or "", {}).get(lang, level or "")
    area = data.get("area") or data.get("area_code") or ""
    area_line = f"{_word('area', lang)}{colon}{area}"
    if level_label:
        area_line += f"（{level_label}）" if zh else f" ({level_label})"
    lines = [area_line]
    if data.get("dispatched_to"):
        lines.append(f"{_word('department', lang)}{colon}{data['dispatched_to']}")
    lines.append(f"{_word('due', lang)}{colon}{format_due(data.get('due_at'), lang)}")
    return Message(title, tuple(lines))
