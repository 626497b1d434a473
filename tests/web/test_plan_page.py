"""The planner's page renders with Geoman and its own script, and loads nothing from elsewhere."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from api.app import create_app


def test_plan_page_uses_vendored_geoman_and_plan_script() -> None:
    with TestClient(create_app()) as client:
        response = client.get("/plan", params={"draft": 7})
        assert response.status_code == 200
        html = response.text
        assert "/static/vendor/leaflet-geoman-free@2.17.0/dist/leaflet-geoman.min.js" in html
        assert '<script src="/static/plan/plan.js" defer></script>' in html
        assert 'id="plan-commit"' in html and 'id="plan-discard"' in html
        # Every script and stylesheet is served by the app itself.
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not url.startswith(("http:", "https:", "//")), url
        config = json.loads(
            re.search(r"window\.gridgovPlan = Object\.assign\(\{\}, (\{.*?\})\);", html).group(1)
        )
        assert config["draft"] == 7 and config["api"] == "/api/v1"
        assert re.search(rf"var {config['map']} = L\.map", html)
        for asset in ("/static/plan/plan.js", "/static/plan/plan.css"):
            assert client.get(asset).status_code == 200
        assert client.get("/plan", params={"scope": "not-a-code"}).status_code == 422
