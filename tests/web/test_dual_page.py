"""``/party/dual``: visitors are sent to sign in, roles without 双报到 work are told so, the
secretary and the member get the page in Chinese with the vocabulary from the server."""

from __future__ import annotations

import json
import re

from gis.dual import vocabulary
from gis.scope import Viewer
from web.dual_page import dual_html, page_data


def test_page_data_comes_from_the_vocabulary() -> None:
    secretary = Viewer("s", "community_secretary", "620881001001")
    data = page_data(secretary, "zh-CN")
    assert data["vocabulary"] == vocabulary.for_pages()
    assert data["community"] == "620881001001" and data["organiser"] and data["partyWork"]
    member = page_data(Viewer("m", "party_member", "620881001001"), "zh-CN")
    assert not member["organiser"] and not member["partyWork"]
    assert page_data(Viewer("d", "district_secretary", "620881"), "zh-CN")["community"] is None


def test_the_shell_is_chinese_with_its_strings_in_the_data_block() -> None:
    html = dual_html(Viewer("s", "community_secretary", "620881001001"), "zh-CN")
    assert "<title>双报到 · 区域化党建</title>" in html
    block = re.search(
        r'<script type="application/json" id="gg-dual-data">(.*?)</script>', html, re.S
    )
    assert block is not None
    assert json.loads(block.group(1))["strings"]["claim"] == "认领"
