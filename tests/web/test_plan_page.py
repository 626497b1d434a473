"""The planner's pages: sign-in first, vendored assets only, Chinese by default, and every text
the scripts show is in the catalogue (including a template for every message key the boundary
editor raises)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from gis.boundaries.validation import HOUSEHOLDS_MAX, HOUSEHOLDS_MIN
from gis.scope import Viewer
from web.i18n import CATALOGUE
from web.mapkit import page_viewer

REPO = Path(__file__).resolve().parents[2]
PLANNER = Viewer("planner_page", "planner", "620881")


def _client(viewer: Viewer | None) -> TestClient:
    app = create_app()
    if viewer is not None:
        app.dependency_overrides[page_viewer] = lambda: viewer
    return TestClient(app)


def _config(html: str) -> dict:
    match = re.search(r"window\.gridgovPlan = Object\.assign\(\{\}, (\{.*?\})\);", html)
    assert match, "the page hands no config to its script"
    return json.loads(match.group(1))


def test_a_visitor_is_sent_to_sign_in_first() -> None:
    with _client(None) as client:
        response = client.get("/plan", params={"scope": "620881001001"}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fplan%3Fscope%3D620881001001"


def test_the_editor_is_chinese_and_uses_vendored_geoman_and_its_own_script() -> None:
    with _client(PLANNER) as client:
        response = client.get("/plan", params={"draft": 7})
        assert response.status_code == 200
        html = response.text
        assert '<html lang="zh-CN">' in html
        assert "<title>网格边界规划</title>" in html
        assert "/static/vendor/leaflet-geoman-free@2.17.0/dist/leaflet-geoman.min.js" in html
        assert re.search(r'<script src="/static/plan/plan\.js\?v=[0-9a-f]{10}" defer>', html)
        for marker in ('id="plan-community"', 'id="plan-commit"', 'data-mode="split"'):
            assert marker in html
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not url.startswith(("http:", "https:", "//")), url
        config = _config(html)
        assert config["draft"] == 7 and config["api"] == "/api/v1"
        assert config["geoman_lang"] == "zh"  # Geoman's own Chinese locale
        assert config["norm"] == [HOUSEHOLDS_MIN, HOUSEHOLDS_MAX]
        assert config["strings"]["mode.split"] == "拆分"
        assert config["viewer"]["username"] == "planner_page"
        assert re.search(rf"var {config['map']} = L\.map", html)
        for asset in ("/static/plan/plan.js", "/static/plan/plan.css", "/static/plan/history.js"):
            assert client.get(asset).status_code == 200
        assert client.get("/plan", params={"scope": "not-a-code"}).status_code == 422
        history = client.get("/plan/history", params={"scope": "620881001001"})
        assert history.status_code == 200 and "调整历史" in history.text
        assert re.search(r"/static/plan/history\.js\?v=[0-9a-f]{10}", history.text)


def test_every_text_the_scripts_show_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for script in ("plan.js", "history.js"):
        source = (REPO / "web" / "static" / "plan" / script).read_text(encoding="utf-8")
        used |= set(re.findall(r"\bS\.([a-z_]+)", source))
        used |= set(re.findall(r'\bS\["([a-z_.]+)"\]', source))
    assert len(used) > 30
    missing = sorted(k for k in used if f"plan.{k}" not in CATALOGUE)
    assert missing == []
    # Every message key the boundary editor raises, and every finding code, has a template in
    # Chinese and English, so no English detail reaches a Chinese page.
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in (REPO / "gis" / "boundaries").glob("*.py")
    )
    keys = set(re.findall(r'key="([a-z_]+)"', source))
    keys |= set(re.findall(r'Problem\(\s*"([a-z_]+)"', source))
    keys |= {"split_none", "split_many"}
    assert {"split_none", "blank_unconfirmed", "two_branches", "branch_unplaced"} <= keys
    findings = set(re.findall(r'Finding\(\s*"([a-z_]+)"', source))
    assert {"gap", "overlap", "building_cut"} <= findings
    for key in [f"plan.err.{k}" for k in keys] + [f"plan.finding.{c}" for c in findings]:
        assert key in CATALOGUE, key
        assert CATALOGUE[key]["zh-CN"] and CATALOGUE[key]["en"], key
