"""User-facing strings of the map pages, Chinese first; English when GRIDGOV_LANGUAGE=en."""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    "app.title": {"zh-CN": "党建电子地图", "en": "Party-building e-map"},
    "layer.streets": {"zh-CN": "街道/乡镇", "en": "Streets"},
    "layer.communities": {"zh-CN": "社区", "en": "Communities"},
    "layer.grids": {"zh-CN": "网格", "en": "Grids"},
    "empty.title": {"zh-CN": "尚无数据", "en": "No data yet"},
    "empty.body": {
        "zh-CN": "数据库中还没有区域。运行 gridgov demo 载入示范城市。",
        "en": "The database has no areas yet. Run `gridgov demo` to load the demo city.",
    },
    "popup.code": {"zh-CN": "编码", "en": "Code"},
    "popup.name": {"zh-CN": "名称", "en": "Name"},
}


def t(key: str, language: str = "zh-CN") -> str:
    """The text of ``key`` in ``language``, falling back to Chinese."""
    entry = CATALOGUE[key]
    return entry.get(language) or entry["zh-CN"]
