"""The planner's page in headless Chromium: sign in, open a draft, split a grid, commit.

Runs against its own committed database and live server (a commit changes the city, so it must
not touch the shared demo database). The split line is handed to the page the way Geoman hands
over a drawn line (the ``pm:create`` event), so the page's own code path sends the operation,
redraws, refreshes findings and impact, builds the choices form and commits.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.settings import normalise_database_url
from tests.conftest import (
    LiveServer,
    create_test_database,
    drop_test_database,
    owner_url,
    unavailable,
)
from tests.e2e.browser_helpers import ARGS, CHROMIUM

PASSWORD = "plan-e2e-Password-1"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plan_server(server_url: str) -> Iterator[tuple[LiveServer, str]]:
    from data.demo import load_demo

    url = create_test_database(server_url, "plan_e2e")
    with psycopg.connect(owner_url(url)) as conn:
        load_demo(conn, households=3_000)
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        create_user(session, "planner_e2e", PASSWORD, "planner", "620881")
        session.commit()
    server = LiveServer(url)
    yield server, url
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        unavailable(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_planner_splits_and_commits_on_the_page(
    plan_server: tuple[LiveServer, str], browser: Any
) -> None:
    server, url = plan_server
    with psycopg.connect(url) as conn:
        grid, community, w, e, y = conn.execute(
            """
            SELECT g.code, c.code, ST_XMin(g.geom) - 0.001, ST_XMax(g.geom) + 0.001,
                   ST_Y(ST_PointOnSurface(g.geom))
            FROM area g JOIN area c ON c.id = g.parent_id
            WHERE g.level = 'grid' AND g.valid_to IS NULL
              AND EXISTS (SELECT 1 FROM party_org o WHERE o.area_id = g.id AND o.level = 'grid')
            ORDER BY g.code LIMIT 1
            """
        ).fetchone()
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"{server.url}/login?next=/plan?scope={community}")
    page.fill("#username", "planner_e2e")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/plan?scope={community}")
    assert page.input_value("#plan-scope") == community

    page.click("#plan-open")
    expect(page.locator("#plan-status")).to_contain_text("#", timeout=30_000)
    page.wait_for_selector("#plan-impact table")
    assert page.locator("#plan-findings li").count() > 0  # compactness at least

    # Select the grid (as a click on it does) and hand over a drawn line across it.
    page.evaluate(
        """([code, w, e, y]) => {
            const map = window[window.gridgovPlan.map];
            map.eachLayer((layer) => {
                if (layer.feature && layer.feature.properties.code === code) layer.fire('click');
            });
            const line = L.polyline([[y, w], [y, e]]).addTo(map);
            map.fire('pm:create', { layer: line, shape: 'Line' });
        }""",
        [grid, w, e, y],
    )
    expect(page.locator("#plan-status")).to_contain_text(", 1/1", timeout=30_000)
    page.wait_for_selector(f"select[data-branch='{grid}']")
    options = page.locator(f"select[data-branch='{grid}'] option").all_inner_texts()
    new_codes = [o for o in options if o.startswith(community) and o > grid][:2]
    page.select_option(f"select[data-branch='{grid}']", new_codes[0])
    page.fill("#plan-reason", "页面拆分测试")
    page.click("#plan-commit")
    expect(page.locator("#plan-status")).to_contain_text("committed", timeout=30_000)
    assert errors == []
    assert all(r.startswith(server.url) or r.startswith("data:") for r in requests), requests

    with psycopg.connect(url) as conn:
        status, who, why = conn.execute(
            "SELECT status, committed_by, reason FROM changeset ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert (status, who, why) == ("committed", "planner_e2e", "页面拆分测试")
        assert conn.execute(
            "SELECT count(*) FROM area WHERE code = %s AND valid_to IS NULL", (grid,)
        ).fetchone() == (0,)
        branch_grid = conn.execute(
            "SELECT a.code FROM party_org o JOIN area a ON a.id = o.area_id "
            "WHERE o.level = 'grid' AND a.code = %s",
            (new_codes[0],),
        ).fetchone()
        assert branch_grid == (new_codes[0],)
    context.close()
