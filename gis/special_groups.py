"""The special groups a grid looks after (重点关爱人群): the one owner of the vocabulary.

Residents carry zero or more of these keys (``resident.special_groups``, migration
``0023_special_groups``, whose CHECK constraint lists the same keys; a test compares them).
The households API filters by them, the demo generator assigns them, and the grid page receives
keys and labels from the server (:func:`for_pages`), never a copy in JavaScript.

Which people belong to a group is recorded by the grid (a visit, a civil-affairs list), not
derived: an 80-year-old living with a carer is not 独居, whatever the household register says.
Membership is personal data: it is shown only to roles that see the person at all, and a filter
by group is a read of that personal data (audited like any other household read).
"""

from __future__ import annotations

from typing import Any

SPECIAL_GROUPS = (
    "elderly_alone",
    "empty_nest",
    "hardship",
    "disabled",
    "left_behind_child",
    "veteran",
)
LABELS_ZH = {
    "elderly_alone": "独居老人",
    "empty_nest": "空巢老人",
    "hardship": "困难群众",
    "disabled": "残疾人",
    "left_behind_child": "留守儿童",
    "veteran": "退役军人",
}
LABELS_EN = {
    "elderly_alone": "Elderly living alone",
    "empty_nest": "Empty-nest elderly",
    "hardship": "Families in hardship",
    "disabled": "People with disabilities",
    "left_behind_child": "Left-behind children",
    "veteran": "Veterans",
}


def label(key: str, lang: str = "zh-CN") -> str:
    """The label of a group in ``lang`` (Chinese unless English is asked for).

    >>> label("elderly_alone"), label("veteran", "en")
    ('独居老人', 'Veterans')
    """
    return (LABELS_EN if lang == "en" else LABELS_ZH)[key]


def for_pages(lang: str = "zh-CN") -> list[dict[str, Any]]:
    """The groups as the pages receive them: ``[{key, label}]`` in a stable order."""
    return [{"key": key, "label": label(key, lang)} for key in SPECIAL_GROUPS]
