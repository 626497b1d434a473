"""The notification bell in headless Chromium on a phone: a dispatch made through the API makes
the grid worker's bell count go up live on his page; he opens it and marks it read.

Runs on the shared demo database and its live server; the case and the accounts it makes are
deleted at the end (notifications go with them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.incidents import intake
from gis.incidents.transitions import TransitionInput, transition
from gis.scope import Viewer
from tests.conftest import LiveServer
from tests.e2e.test_command_browser import browser  # noqa: F401 - the shared Chromium fixture

pytestmark = pytest.mark.browser

PASSWORD = "bell-e2e-Password-73!"
WORKER = "bell_worker"
OPERATOR = "bell_operator"
PHONE = {"width": 390, "height": 844}


@dataclass
class Scene:
    grid: str
    incident_id: int
    code: str


@pytest.fixture
def scene(demo_engine: Engine) -> Iterator[Scene]:
    with Session(demo_engine) as session:
        g = session.execute(
            text(
                "SELECT g.code, g.district_code, ST_X(ST_PointOnSurface(g.geom)) AS lon, "
                "ST_Y(ST_PointOnSurface(g.geom)) AS lat FROM area g "
                "WHERE g.level = 'grid' AND g.valid_to IS NULL ORDER BY g.code DESC LIMIT 1"
            )
        ).one()
        create_user(session, WORKER, PASSWORD, "grid_worker", g.code)
        create_user(session, OPERATOR, PASSWORD, "command_operator", g.district_code)
        operator = Viewer(OPERATOR, "command_operator", g.district_code)
        case = intake.create_incident(
            session,
            operator,
            intake.IncidentInput(
                category="市容环境",
                description="提醒测试：垃圾桶满溢",
                lon=g.lon,
                lat=g.lat,
                source="hotline",
                reporter_name="张三丰",
                reporter_phone="13912345678",
            ),
        ).incident
        transition(session, operator, int(case["id"]), TransitionInput(to="registered"))
        session.commit()
    yield Scene(g.code, int(case["id"]), str(case["code"]))
    with demo_engine.begin() as conn:
        conn.execute(text("DELETE FROM incident WHERE id = :i"), {"i": case["id"]})
        conn.execute(
            text("DELETE FROM app_user WHERE username = ANY(:u)"), {"u": [WORKER, OPERATOR]}
        )


def _notifications(engine: Engine, incident_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT u.username, n.trigger, n.read_at FROM notification n "
                    "JOIN app_user u ON u.id = n.recipient_id WHERE n.incident_id = :i"
                ),
                {"i": incident_id},
            ).all()
        )


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
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/grid/{scene.grid}")
        bell = page.locator("#gg-bell")
        bell.wait_for()
        badge = page.locator("#gg-bell .gg-bell-count")
        # Loaded, following the stream, nothing unread yet.
        page.wait_for_function("() => document.querySelector('#gg-bell').dataset.unread === '0'")
        for _ in range(100):
            if streams:
                break
            page.wait_for_timeout(100)
        assert streams, "the bell follows the notification stream"
        assert badge.is_hidden()

        # The command centre dispatches the case to his grid through the API.
        token = httpx.post(
            f"{live_server.url}/api/v1/auth/token",
            data={"username": OPERATOR, "password": PASSWORD},
            timeout=30,
        ).json()["access_token"]
        dispatched = httpx.post(
            f"{live_server.url}/api/v1/incidents/{scene.incident_id}/transitions",
            json={"to": "dispatched", "grid_code": scene.grid},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert dispatched.status_code == 200, dispatched.text
        assert [
            (n.username, n.trigger, n.read_at)
            for n in _notifications(demo_engine, scene.incident_id)
        ] == [(WORKER, "dispatch", None)]

        # Live: the badge shows 1 well before the bell's 60 s poll could have.
        badge.wait_for(state="visible", timeout=15_000)
        assert badge.inner_text() == "1"

        # He opens the drop-down: the case, its area and deadline, no reporter.
        page.locator("#gg-bell .gg-bell-button").tap()
        panel = page.locator("#gg-bell-panel")
        panel.wait_for(state="visible")
        item = panel.locator(".gg-bell-item.gg-unread")
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
        badge.wait_for(state="hidden", timeout=10_000)
        page.wait_for_selector("#gg-bell .gg-bell-item:not(.gg-unread)")
        ((username, trigger, read_at),) = _notifications(demo_engine, scene.incident_id)
        assert (username, trigger) == (WORKER, "dispatch") and read_at is not None
        assert errors == []
    finally:
        context.close()
