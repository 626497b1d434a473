"""A patrol on a phone (390×844) in headless Chromium with a simulated geolocation track.

A grid worker starts a patrol, the browser's position is moved several times
(``context.set_geolocation``), he records a finding and ends the patrol; the database holds the
track (≥ 3 points, distance > 0) and the finding. His grid chief then sees the track on his
view of /field, with the worker's row in the KPI table. Uses the command-centre browser test's
city (its own committed database and live server) and browser.
"""

from __future__ import annotations

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
