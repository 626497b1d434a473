"""A patrol on a phone (390×844) in headless Chromium with a simulated geolocation track.

A grid worker starts a patrol, the browser's position is moved several times
(``context.set_geolocation``), he records a finding and ends the patrol; the database holds the
track (≥ 3 points, distance > 0) and the finding. His grid chief then sees the track on his
view of /field, with the worker's row in the KPI table. Uses the command-centre browser test's
city (its own committed database and live server) and browser.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gis.accounts import create_user
from tests.e2e.test_command_browser import PASSWORD, City, browser, city

__all__ = ["browser", "city"]
pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _phone(browser: Any, city: City, username: str, lon: float, lat: float) -> tuple[Any, Any]:
    context = browser.new_context(
        viewport=PHONE,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 6},
        permissions=["geolocation"],
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{city.server.url}/login?next=/field")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/field")
    page.errors = errors  # type: ignore[attr-defined]
    return context, page


def test_a_patrol_walked_on_a_phone_is_stored_and_shown_to_the_chief(
    browser: Any, city: City
) -> None:
    ((grid, lon, lat),) = city.sql(
        "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area"
        " WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
    )
    with Session(city.engine) as session:
        create_user(session, "field_worker", PASSWORD, "grid_worker", grid)
        create_user(session, "field_chief", PASSWORD, "grid_chief", grid)
        session.commit()

    context, page = _phone(browser, city, "field_worker", lon, lat)
    try:
        page.click(".gg-panel-toggle")  # on a phone the panel starts closed
        toggle = page.locator("#gg-patrol .gg-field-toggle")
        box = toggle.bounding_box()
        assert box is not None and box["height"] >= 44
        toggle.click()
        page.wait_for_selector("#gg-patrol form.gg-field-finding:not([hidden])", timeout=20_000)
        # Walk north, about 22 m a step, waiting until each position has been sent.
        for step in range(1, 5):
            context.set_geolocation(
                {"longitude": lon, "latitude": lat + 0.0002 * step, "accuracy": 6}
            )
            page.wait_for_function(
                "n => Number(document.querySelector('#gg-patrol .gg-field-points')"
                ".textContent) >= n",
                arg=step,
                timeout=20_000,
            )
        page.fill("#gg-patrol form.gg-field-finding textarea[name=description]", "路边垃圾堆放")
        page.click("#gg-patrol form.gg-field-finding button[type=submit]")
        page.wait_for_selector("#gg-patrol .gg-field-findings li[data-finding]", timeout=20_000)
        toggle.click()
        page.wait_for_selector(
            "#gg-patrol form.gg-field-finding[hidden]", state="attached", timeout=20_000
        )
        # The form hides at once; the patrol's end goes out through the outbox: wait until it
        # has been sent before closing the phone.
        page.wait_for_function(
            "() => window.gridgov.outbox.pending().length === 0", timeout=20_000, polling=200
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()

    ((patrol_id, points, distance, ended, findings),) = city.sql(
        "SELECT p.id, (SELECT count(*) FROM patrol_point pp WHERE pp.patrol_id = p.id),"
        " (SELECT ST_Length(ST_MakeLine(pp.geom ORDER BY pp.at)::geography) FROM patrol_point pp"
        "  WHERE pp.patrol_id = p.id), p.ended_at IS NOT NULL,"
        " (SELECT count(*) FROM patrol_finding f WHERE f.patrol_id = p.id)"
        " FROM patrol p JOIN app_user u ON u.id = p.user_id WHERE u.username = 'field_worker'"
    )
    assert points >= 3 and distance > 40 and ended and findings == 1

    context, page = _phone(browser, city, "field_chief", lon, lat)
    try:
        page.wait_for_selector("path.gg-field-track", state="attached", timeout=20_000)
        assert page.locator("path.gg-field-track").count() >= 1
        page.click(".gg-panel-toggle")
        row = page.locator("table.gg-field-kpis tr[data-worker='field_worker'] td")
        row.first.wait_for(timeout=20_000)
        cells = row.all_inner_texts()
        assert cells[0] == "field_worker" and float(cells[2]) == pytest.approx(distance, abs=0.1)
        assert cells[4] == "1"
    finally:
        context.close()
    assert patrol_id > 0


def _pending(page: Any) -> int:
    return int(page.evaluate("window.gridgov.outbox.pending().length"))


def test_offline_points_finding_and_visit_arrive_exactly_once(browser: Any, city: City) -> None:
    """The phone loses the network mid-patrol: track points, a finding and a visit to a picked
    household are kept in the outbox (visible to the worker), survive a reload of the page
    served by the service worker, and arrive exactly once when the phone is back online — even
    when the queue is sent a second time (an answer lost on the way back)."""
    ((grid, lon, lat),) = city.sql(
        "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))"
        " FROM area g WHERE g.level = 'grid' AND g.valid_to IS NULL"
        " AND EXISTS (SELECT 1 FROM building b JOIN household h ON h.building_id = b.id"
        "             WHERE b.grid_id = g.id AND b.valid_to IS NULL)"
        " ORDER BY g.code OFFSET 1 LIMIT 1"
    )
    with Session(city.engine) as session:
        create_user(session, "offline_worker", PASSWORD, "grid_worker", grid)
        session.commit()

    context, page = _phone(browser, city, "offline_worker", lon, lat)
    try:
        # Installable: a manifest, and a service worker that controls the page.
        manifest = page.evaluate(
            "fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
        )
        assert manifest["start_url"] == "/field" and manifest["display"] == "standalone"
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)
        page.click(".gg-panel-toggle")
        page.locator("#gg-patrol .gg-field-toggle").click()
        page.wait_for_selector("#gg-patrol form.gg-field-finding:not([hidden])", timeout=20_000)
        page.wait_for_function(
            "() => Number(document.querySelector('#gg-patrol .gg-field-points').textContent) >= 1",
            timeout=20_000,
        )
        # The visit form's households (masked for a worker without a purpose) are loaded.
        page.wait_for_function(
            "() => document.querySelectorAll("
            "'form.gg-field-visit select[name=household_code] option')"
            ".length > 1",
            timeout=20_000,
        )
        household = page.eval_on_selector(
            "form.gg-field-visit select[name=household_code]",
            "s => { s.selectedIndex = 1; return s.value; }",
        )
        building = page.eval_on_selector(
            "form.gg-field-visit select[name=building_id]", "s => Number(s.value)"
        )
        assert _pending(page) == 0
        ((online_points,),) = city.sql(
            "SELECT count(*) FROM patrol_point pp JOIN patrol p ON p.id = pp.patrol_id"
            " JOIN app_user u ON u.id = p.user_id WHERE u.username = 'offline_worker'"
        )

        context.set_offline(True)
        for step in range(1, 4):
            context.set_geolocation(
                {"longitude": lon, "latitude": lat + 0.0002 * step, "accuracy": 6}
            )
            page.wait_for_function(
                "n => window.gridgov.outbox.pending().length >= n", arg=step, timeout=20_000
            )
        page.fill("#gg-patrol form.gg-field-finding textarea[name=description]", "消防通道堵塞")
        page.click("#gg-patrol form.gg-field-finding button[type=submit]")
        page.wait_for_selector("#gg-patrol li.gg-field-queued", timeout=10_000)
        page.fill("form.gg-field-visit textarea[name=notes]", "老人独居，身体尚可")
        page.fill("form.gg-field-visit input[name=people_met]", "户主")
        page.click("form.gg-field-visit button[type=submit]")
        page.wait_for_function("n => window.gridgov.outbox.pending().length >= n", arg=5)
        waiting = _pending(page)
        badge = page.locator(".gg-outbox")
        assert badge.is_visible() and f"待发送 {waiting} 条" in badge.inner_text()
        assert "离线" in badge.inner_text()
        stored = city.sql(
            "SELECT (SELECT count(*) FROM patrol_finding f JOIN patrol p ON p.id = f.patrol_id"
            "        JOIN app_user u ON u.id = p.user_id WHERE u.username = 'offline_worker'),"
            " (SELECT count(*) FROM household_visit v JOIN app_user u ON u.id = v.user_id"
            "  WHERE u.username = 'offline_worker')"
        )
        assert stored == [(0, 0)]

        # Still offline, the page is reloaded: the service worker serves it, the queue stays.
        page.reload()
        page.wait_for_function("() => window.gridgov && window.gridgov.outbox", timeout=20_000)
        assert _pending(page) == waiting
        queued = page.evaluate("localStorage.getItem('gridgov.outbox.offline_worker')")
        offline_points = sum(1 for e in json.loads(queued) if e["batch"])
        assert offline_points >= 3 and waiting == offline_points + 2

        context.set_offline(False)
        page.wait_for_function(
            "() => window.gridgov.outbox.pending().length === 0", timeout=30_000, polling=500
        )
        # An answer lost on the way back: the phone sends the whole queue again.
        page.evaluate(
            "q => { localStorage.setItem('gridgov.outbox.offline_worker', q);"
            " return window.gridgov.outbox.flush(); }",
            queued,
        )
        assert _pending(page) == 0 and page.evaluate("window.gridgov.outbox.failed()") == []
        assert page.locator(".gg-outbox").is_hidden()
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()

    ((points, findings, finding_text),) = city.sql(
        "SELECT (SELECT count(*) FROM patrol_point pp WHERE pp.patrol_id = p.id),"
        " (SELECT count(*) FROM patrol_finding f WHERE f.patrol_id = p.id),"
        " (SELECT string_agg(description, ',') FROM patrol_finding f WHERE f.patrol_id = p.id)"
        " FROM patrol p JOIN app_user u ON u.id = p.user_id WHERE u.username = 'offline_worker'"
    )
    assert (findings, finding_text) == (1, "消防通道堵塞")
    assert points == online_points + offline_points
    visits = city.sql(
        "SELECT v.building_id, h.code, v.notes, v.people_met FROM household_visit v"
        " JOIN app_user u ON u.id = v.user_id LEFT JOIN household h ON h.id = v.household_id"
        " WHERE u.username = 'offline_worker'"
    )
    assert visits == [(building, household, "老人独居，身体尚可", "户主")]
