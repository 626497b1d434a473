"""The photo picker and thumbnails (web/static/gridgov/photos.js) on every page."""

from __future__ import annotations

import re
from pathlib import Path

from web.i18n import js_strings

SCRIPT = Path(__file__).resolve().parents[2] / "web" / "static" / "gridgov" / "photos.js"


def test_every_string_the_photo_script_shows_is_in_the_catalogue() -> None:
    used = set(re.findall(r'\bgg\.s\("([a-z_.0-9]+)"\)', SCRIPT.read_text(encoding="utf-8")))
    assert {"photo.add", "photo.failed", "case.photo"} <= used
    for language in ("zh-CN", "en"):
        strings = js_strings(language)
        assert sorted(k for k in used if k not in strings) == [], language
