"""The notification bell in headless Chromium on a phone: a dispatch made through the API makes
the grid worker's bell count go up live on his page; he opens it and marks it read.

Runs on the shared demo database and its live server; the case and the accounts it makes are
deleted at the end (notifications go with them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import LiveServer
from tests.e2e.test_command_browser import browser  # noqa: F401 - the shared Chromium fixture
from tests.gis.notifications.helpers import (
    SCENE_PASSWORD,
    WORKER,
    Scene,
    committed_notifications,
    dispatch_through_api,
    scene,
)

__all__ = ["scene"]

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_dispatch_rings_the_grid_workers_bell_live_and_he_marks_it_read(
    browser: Any,  # noqa: F811 - the fixture imported above
    scene: Scene,
    live_server: LiveServer,
    demo_engine: Engine,
    tmp_path: Path,
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    streams: list[str] = []
    page.on(
        "request", lambda r: streams.append(r.url) if "/notifications/stream" in r.url else None
    )
    try:
        page.goto(f"{live_server.url}/login?next=/grid/{scene.grid}")
        page.fill("#username", WORKER)
        page.fill("#password", SCENE_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/grid/{scene.grid}")
        bell = page.locator("#gg-bell")
        bell.wait_for()
        badge = page.locator("#gg-bell .gg-bell-count")
        # Loaded and following the stream. On the shared demo database the live server's
        # deadline sweep may already have told his grid's desk of a case due soon there, so
        # what counts is the dispatch's own notification on top of what was unread.
        page.wait_for_function("() => document.querySelector('#gg-bell').dataset.unread")
        before = int(page.get_attribute("#gg-bell", "data-unread") or "0")
        for _ in range(100):
            if streams:
                break
            page.wait_for_timeout(100)
        assert streams, "the bell follows the notification stream"
        assert badge.is_hidden() == (before == 0)

        # The command centre dispatches the case to his grid through the API.
        dispatch_through_api(live_server.url, scene)
        assert [
            (n.username, n.read_at)
            for n in committed_notifications(demo_engine, scene.incident_id)
            if n.trigger == "dispatch"
        ] == [(WORKER, None)]

        # Live: the badge counts it well before the bell's 60 s poll could have.
        page.wait_for_function(
            f"() => Number(document.querySelector('#gg-bell').dataset.unread) > {before}",
            timeout=15_000,
        )
        unread = int(page.get_attribute("#gg-bell", "data-unread") or "0")
        assert badge.is_visible() and badge.inner_text() == str(unread)

        # He opens the drop-down: the case, its area and deadline, no reporter.
        page.locator("#gg-bell .gg-bell-button").tap()
        panel = page.locator("#gg-bell-panel")
        panel.wait_for(state="visible")
        item = panel.locator(".gg-bell-item.gg-unread", has_text=scene.code).filter(has_text="派遣")
        assert item.count() == 1
        text_shown = item.inner_text()
        assert scene.code in text_shown and "派遣" in text_shown and "期限" in text_shown
        assert "张三丰" not in text_shown and "13912345678" not in text_shown
        box = panel.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "bell_phone.png"))

        # Marks it read: the badge goes, the database has the read mark.
        item.locator(".gg-bell-read").tap()
        page.wait_for_function(
            f"() => Number(document.querySelector('#gg-bell').dataset.unread) < {unread}",
            timeout=10_000,
        )
        page.locator("#gg-bell .gg-bell-item:not(.gg-unread)", has_text=scene.code).filter(
            has_text="派遣"
        ).wait_for()
        read = [
            (n.username, n.read_at is not None)
            for n in committed_notifications(demo_engine, scene.incident_id)
            if n.trigger == "dispatch"
        ]
        assert read == [(WORKER, True)]
        assert errors == []
    finally:
        context.close()
