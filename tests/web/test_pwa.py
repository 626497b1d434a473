"""The installable app (web/pwa.py): manifest, service worker at the site's root, and the phone
pages that link them (and only those)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from web.mapkit import STATIC_DIR
from web.pwa import MANIFEST_PATH, START_URL, WORKER_PATH


def test_the_manifest_names_the_app_and_an_icon_the_app_serves(page_client: TestClient) -> None:
    response = page_client.get(MANIFEST_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["start_url"] == START_URL and manifest["scope"] == "/"
    assert manifest["display"] == "standalone" and manifest["name"].startswith("网格化治理")
    for icon in manifest["icons"]:
        assert page_client.get(icon["src"]).status_code == 200


def test_the_worker_is_served_from_the_root_with_the_whole_site_as_scope(
    page_client: TestClient,
) -> None:
    response = page_client.get(WORKER_PATH, params={"v": "x"})
    assert response.status_code == 200
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == (STATIC_DIR / "gridgov" / "sw.js").read_bytes()
    # It never answers writes (the outbox owns them) nor keeps unmasked reads.
    script = response.text
    assert 'request.method !== "GET"' in script and 'has("purpose")' in script


def test_phone_pages_are_installable_and_other_pages_are_not(
    page_client: TestClient, db_session: Session
) -> None:
    grid = db_session.execute(
        text("SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL LIMIT 1")
    ).scalar_one()
    for path in ("/field", f"/grid/{grid}"):
        html = page_client.get(path).text
        assert f'<link rel="manifest" href="{MANIFEST_PATH}">' in html, path
        worker = re.search(r'"worker": "(/sw\.js\?v=[0-9a-f]{10})"', html)
        assert worker is not None, path
        assert "gridgov/outbox.js" in html
    city = page_client.get("/").text
    assert 'rel="manifest"' not in city and '"worker": null' in city
