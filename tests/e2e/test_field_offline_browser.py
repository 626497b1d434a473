"""Field work with no network from the first tap, and the demo's photos on the pages.

A phone (390×844) that is offline before the patrol starts: the patrol's start (named by the
phone), its track points, a finding with a photo taken offline (bytes kept in IndexedDB) and the
end wait in the outbox, in order; back online they arrive exactly once — also when the whole
queue is sent a second time. The demo's finding photos load on /field and on the grid
workbench for the grid's chief (naturalWidth > 0, served by the media access rule).
Uses the command-centre browser test's city (its own committed database and live server).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from sqlalchemy.orm import Session

from data.fieldwork import load_demo_fieldwork
from gis.accounts import create_user, ensure_demo_accounts
from tests.conftest import owner_url
from tests.e2e.browser_helpers import PHONE, horizontal_overflow, sign_in, small_tap_targets
from tests.e2e.test_command_browser import PASSWORD, City, browser, city
from tests.gis.media.photos import jpeg_with_gps

__all__ = ["browser", "city"]
pytestmark = pytest.mark.browser

DEMO_PASSWORD = "field-offline-Demo-1"


def _pending(page: Any) -> int:
    return int(page.evaluate("window.gridgov.outbox.pending().length"))


def _loaded_photos(page: Any, selector: str) -> list[int]:
    """naturalWidth of every image under ``selector`` once each has finished loading (each is
    scrolled into view first: thumbnails load lazily, as a phone scrolls to them)."""
    page.wait_for_selector(selector, state="attached", timeout=20_000)
    page.eval_on_selector_all(selector, "imgs => imgs.forEach(i => i.scrollIntoView())")
    page.wait_for_function(
        "s => { const imgs = [...document.querySelectorAll(s)];"
        " return imgs.length > 0 && imgs.every(i => i.complete); }",
        arg=selector,
        timeout=20_000,
    )
    return list(page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.naturalWidth)"))


def test_a_patrol_started_offline_with_a_photo_arrives_once(browser: Any, city: City) -> None:
    ((grid, lon, lat),) = city.sql(
        "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area"
        " WHERE level = 'grid' AND valid_to IS NULL ORDER BY code OFFSET 2 LIMIT 1"
    )
    with Session(city.engine) as session:
        create_user(session, "nonet_worker", PASSWORD, "grid_worker", grid)
        session.commit()
    context = browser.new_context(
        **PHONE,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 5},
        permissions=["geolocation"],
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(page, city.server.url, "nonet_worker", PASSWORD, "/login?next=/field")
        page.wait_for_url("**/field")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)
        page.click(".gg-panel-toggle")
        page.wait_for_selector("#gg-patrol .gg-field-toggle")

        context.set_offline(True)
        page.locator("#gg-patrol .gg-field-toggle").tap()
        page.wait_for_selector("#gg-patrol form.gg-field-finding:not([hidden])", timeout=20_000)
        for step in range(1, 4):
            context.set_geolocation(
                {"longitude": lon + 0.0002 * step, "latitude": lat, "accuracy": 5}
            )
            page.wait_for_function(
                "n => window.gridgov.outbox.pending().length >= n", arg=1 + step, timeout=20_000
            )
        form = "#gg-patrol form.gg-field-finding"
        page.fill(f"{form} textarea[name=description]", "离线发现：井盖缺失")
        page.set_input_files(
            f"{form} .gg-photo-picker input[type=file]",
            files=[{"name": "井盖.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}],
        )
        # Kept on the phone (IndexedDB), shown from its own copy, queued for upload.
        page.wait_for_selector(f"{form} .gg-photo-list li[data-queued] img", timeout=20_000)
        assert _loaded_photos(page, f"{form} .gg-photo-list img")[0] > 0
        assert small_tap_targets(page, "#gg-patrol button, #gg-patrol textarea") == []
        page.tap(f"{form} button[type=submit]")
        page.wait_for_selector("#gg-patrol li.gg-field-queued", timeout=10_000)
        page.locator("#gg-patrol .gg-field-toggle").tap()
        page.wait_for_selector(f"{form}[hidden]", state="attached", timeout=10_000)
        queued = page.evaluate("localStorage.getItem('gridgov.outbox.nonet_worker')")
        kinds = [e["url"].rsplit("/", 1)[-1] for e in json.loads(queued)]
        # In order: start, points, the photo, the finding that names it, the end.
        assert kinds[0] == "patrols" and kinds[-1] == "end"
        assert kinds.index("media") < kinds.index("findings") < kinds.index("end")
        assert kinds.count("points") >= 3
        badge = page.locator(".gg-outbox")
        assert badge.is_visible() and "离线" in badge.inner_text()
        assert f"待发送 {len(kinds)} 条" in badge.inner_text()
        assert city.sql(
            "SELECT count(*) FROM patrol p JOIN app_user u ON u.id = p.user_id"
            " WHERE u.username = 'nonet_worker'"
        ) == [(0,)]
        assert horizontal_overflow(page) <= 0

        context.set_offline(False)
        page.wait_for_function(
            "() => window.gridgov.outbox.pending().length === 0", timeout=30_000, polling=500
        )
        assert page.evaluate("window.gridgov.outbox.failed()") == []
        # An answer lost on the way back: the phone sends the whole queue again.
        page.evaluate(
            "q => { localStorage.setItem('gridgov.outbox.nonet_worker', q);"
            " return window.gridgov.outbox.flush(); }",
            queued,
        )
        page.wait_for_function(
            "() => window.gridgov.outbox.pending().length === 0", timeout=30_000, polling=500
        )
        assert page.evaluate("window.gridgov.outbox.failed()") == []
        # The queued photo's bytes left the phone's store once sent.
        assert (
            page.evaluate(
                "new Promise(ok => { const r = indexedDB.open('gridgov-outbox');"
                " r.onsuccess = () => { const c = r.result.transaction('blobs')"
                ".objectStore('blobs').count(); c.onsuccess = () => ok(c.result); }; })"
            )
            == 0
        )
        assert errors == []
    finally:
        context.close()

    patrols = city.sql(
        "SELECT p.id, p.grid_code, p.ended_at > p.started_at, p.client_id IS NOT NULL,"
        " (SELECT count(*) FROM patrol_point pp WHERE pp.patrol_id = p.id),"
        " (SELECT ST_Length(ST_MakeLine(pp.geom ORDER BY pp.at)::geography) FROM patrol_point pp"
        "  WHERE pp.patrol_id = p.id)"
        " FROM patrol p JOIN app_user u ON u.id = p.user_id WHERE u.username = 'nonet_worker'"
    )
    assert len(patrols) == 1
    ((patrol_id, patrol_grid, ended, named, points, length),) = patrols
    assert (patrol_grid, ended, named) == (grid, True, True)
    assert points >= 3 and length > 30
    findings = city.sql(
        "SELECT f.description, f.media FROM patrol_finding f WHERE f.patrol_id = %s", (patrol_id,)
    )
    assert len(findings) == 1 and findings[0][0] == "离线发现：井盖缺失"
    photos = city.sql(
        "SELECT m.id, m.client_id IS NOT NULL FROM media m"
        " JOIN app_user u ON u.id = m.uploaded_by WHERE u.username = 'nonet_worker'"
    )
    # One upload (sent twice, stored once under the phone's key), named by the finding.
    assert [p[0] for p in photos] == findings[0][1] and photos[0][1] is True


def test_the_demo_photos_load_on_the_field_page_and_the_grid_workbench(
    browser: Any, city: City
) -> None:
    with psycopg.connect(owner_url(city.url)) as conn:  # as `gridgov demo` loads them
        ensure_demo_accounts(conn, DEMO_PASSWORD)
        counts = load_demo_fieldwork(conn)
        conn.commit()
    assert counts["media"] > 0
    ((grid,),) = city.sql(
        "SELECT DISTINCT p.grid_code FROM patrol p JOIN patrol_finding f ON f.patrol_id = p.id"
        " WHERE cardinality(f.media) > 0 AND p.worker IN ('demo_grid_worker', 'demo_grid_chief')"
    )
    shown = {
        int(media_id)
        for (media_id,) in city.sql(
            "SELECT unnest(f.media) FROM patrol_finding f JOIN patrol p ON p.id = f.patrol_id"
            " WHERE p.started_at > now() - interval '30 days'"
        )
    }
    for username, path in (("demo_grid_worker", "/field"), ("demo_grid_chief", f"/grid/{grid}")):
        context = browser.new_context(**PHONE)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        try:
            sign_in(page, city.server.url, username, DEMO_PASSWORD, f"/login?next={path}")
            page.goto(city.server.url + path)
            if page.evaluate("document.body.classList.contains('gg-panel-closed')"):
                page.click(".gg-panel-toggle")
            selector = "#gg-findings li.gg-finding img"
            widths = _loaded_photos(page, selector)
            assert widths and all(w > 0 for w in widths)
            links = page.eval_on_selector_all(
                "#gg-findings li.gg-finding a.gg-photo", "as => as.map(a => a.pathname)"
            )
            listed = {int(href.rsplit("/", 1)[-1]) for href in links}
            if username == "demo_grid_chief":
                # The chief sees his grid's findings' photos (the worker's and his own).
                assert listed and listed <= shown
            else:
                # The worker sees only the photos of his own findings.
                own = {
                    int(m)
                    for (m,) in city.sql(
                        "SELECT unnest(f.media) FROM patrol_finding f"
                        " JOIN patrol p ON p.id = f.patrol_id JOIN app_user u ON u.id = p.user_id"
                        " WHERE u.username = 'demo_grid_worker'"
                    )
                }
                assert listed and listed <= own
            assert horizontal_overflow(page) <= 0
            assert errors == []
        finally:
            context.close()
