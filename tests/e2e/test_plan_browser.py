"""The planner's editor in headless Chromium at 1366×768, driven as a planner works.

Runs against its own committed database and live server (commits change the city, so they must
not touch the shared demo database). The journeys run in order on one city: open the scope and
split a grid bordered by others by clicking a line across it (choosing the branch, a new branch
and the staff by name), merge two grids (one branch merged into the other), move a shared edge,
see the history and revert — and after each step the test reads the database.
"""

from __future__ import annotations

import os
import time
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
VIEWPORT = {"width": 1366, "height": 768}
TIMEOUT = 60_000

pytestmark = pytest.mark.browser


class City:
    def __init__(self, server: LiveServer, url: str) -> None:
        self.server, self.url = server, url

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()

    def one(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self.sql(query, params)
        assert len(rows) == 1, rows
        return rows[0][0] if len(rows[0]) == 1 else rows[0]

    def assert_one_branch_per_grid(self) -> None:
        assert (
            self.sql(
                "SELECT area_id FROM party_org WHERE level = 'grid' "
                "GROUP BY area_id HAVING count(*) > 1"
            )
            == []
        )
        # Every branch serves a grid in force.
        assert (
            self.sql(
                "SELECT o.code FROM party_org o JOIN area a ON a.id = o.area_id "
                "WHERE o.level = 'grid' AND a.valid_to IS NOT NULL"
            )
            == []
        )


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[City]:
    from data.demo import load_demo

    url = create_test_database(server_url, "plan_e2e")
    with psycopg.connect(owner_url(url)) as conn:
        load_demo(conn, households=3_000)
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        create_user(session, "planner_e2e", PASSWORD, "planner", "620881")
        session.commit()
    engine.dispose()
    server = LiveServer(url)
    yield City(server, url)
    server.stop()
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


@pytest.fixture
def page(city: City, browser: Any) -> Iterator[Any]:
    """A signed-in planner's page; no script error and nothing fetched from elsewhere."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    foreign: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: None if r.url.startswith((city.server.url, "data:")) else foreign.append(r.url),
    )
    page.on("dialog", lambda d: d.accept())
    # Shown when a journey fails: what the page said.
    page.on("console", lambda m: print("console:", m.type, m.text))
    page.on("pageerror", lambda exc: print("pageerror:", exc))
    page.goto(f"{city.server.url}/plan")
    page.wait_for_url("**/login**")
    page.fill("#username", "planner_e2e")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/plan")
    yield page
    assert errors == []
    assert foreign == []
    context.close()


def until(page: Any, predicate: str, arg: Any = None, timeout: float = TIMEOUT / 1000) -> Any:
    """Poll a JS function until it returns something truthy (the page's CSP forbids the eval
    that Playwright's wait_for_function uses)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(predicate, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        page.wait_for_timeout(200)


def at(page: Any, lon: float, lat: float) -> tuple[float, float]:
    """Where a lon/lat is on the screen."""
    x, y = page.evaluate(
        """([lat, lon]) => {
            const map = window[window.gridgovPlan.map];
            const p = map.latLngToContainerPoint([lat, lon]);
            const r = map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    return float(x), float(y)


def fit(page: Any, w: float, s: float, e: float, n: float) -> None:
    page.evaluate(
        """([w, s, e, n]) => {
            const map = window[window.gridgovPlan.map];
            map.fitBounds([[s, w], [n, e]], { animate: false });
        }""",
        [w, s, e, n],
    )
    page.wait_for_timeout(300)


def open_community(page: Any, community: str) -> int:
    page.select_option("#plan-community", community)
    until(
        page,
        "code => { const s = window.gridgovPlanState(); const d = s.draft; "
        "return d && d.communities.includes(code) && d.status === 'draft' && s.busy === 0; }",
        community,
    )
    page.wait_for_selector("#plan-impact, #plan-grids table")
    return int(page.evaluate("window.gridgovPlanState().draft.id"))


def wait_head(page: Any, head: int) -> None:
    until(
        page,
        "head => { const s = window.gridgovPlanState(); "
        "return s.draft && s.draft.head === head && s.busy === 0; }",
        head,
    )
    page.wait_for_selector("#plan-choices select, #plan-choices fieldset, #plan-impact table")


def choose_person(page: Any, selector: str, person_id: int) -> str:
    """Pick a person by the label the planner reads (masked name, title, post); returns it."""
    label = page.locator(f"{selector} option[value='{person_id}']").inner_text()
    assert "*" in label and not label.strip().isdigit()  # a masked name, not an id
    page.select_option(selector, label=label)
    return label


def commit(page: Any, reason: str) -> None:
    page.fill("#plan-reason", reason)
    page.click("#plan-commit")
    until(
        page,
        "() => { const s = window.gridgovPlanState(); "
        "return s.busy === 0 && (s.draft.status === 'committed' || "
        "document.getElementById('plan-error').textContent); }",
    )
    assert page.locator("#plan-error").inner_text() == ""
    assert page.evaluate("window.gridgovPlanState().draft.status") == "committed"


def test_the_editor_opens_on_the_scope_and_splits_a_bordered_grid_by_clicking(
    city: City, page: Any
) -> None:
    # The scope is drawn and the panel sits beside the map, not over it.
    until(page, "() => document.querySelectorAll('#plan-community option').length > 1")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "网格边界规划" in page.title()
    map_box = page.locator(".folium-map").bounding_box()
    panel_box = page.locator("#plan-panel").bounding_box()
    assert map_box["x"] + map_box["width"] <= panel_box["x"] + 1
    assert map_box["width"] >= 900 and map_box["height"] >= 700
    drawn = page.evaluate("document.querySelectorAll('.leaflet-overlay-pane path').length")
    communities = city.one(
        "SELECT count(*) FROM area WHERE level = 'community' AND valid_to IS NULL"
    )
    assert drawn >= communities

    # A grid with a branch and at least two neighbouring grids, and its community.
    grid, community, w, e, y, branch = city.one(
        """
        SELECT g.code, c.code, ST_XMin(g.geom), ST_XMax(g.geom), ST_Y(ST_PointOnSurface(g.geom)),
               o.code
        FROM area g JOIN area c ON c.id = g.parent_id
        JOIN party_org o ON o.level = 'grid' AND o.area_id = g.id
        WHERE g.level = 'grid' AND g.valid_to IS NULL
          AND (SELECT count(*) FROM area n WHERE n.parent_id = g.parent_id AND n.id <> g.id
                 AND n.valid_to IS NULL AND ST_Intersects(n.geom, g.geom)) >= 2
        ORDER BY g.code LIMIT 1
        """
    )
    draft_id = open_community(page, community)
    assert city.one("SELECT scope_code, status FROM changeset WHERE id = %s", (draft_id,)) == (
        community,
        "draft",
    )
    # Buildings of the community are drawn with their household counts.
    buildings = city.one(
        "SELECT count(*) FROM building b JOIN area g ON g.id = b.grid_id "
        "WHERE g.parent_id = (SELECT id FROM area WHERE code = %s AND valid_to IS NULL) "
        "AND b.valid_to IS NULL",
        (community,),
    )
    assert buildings > 0
    until(
        page, "n => document.querySelectorAll('.leaflet-overlay-pane path').length >= n", buildings
    )
    grid_row = page.locator(f"#plan-grids tr[data-grid='{grid}']")
    households = city.one(
        "SELECT count(*) FROM household h JOIN building b ON b.id = h.building_id "
        "JOIN area g ON g.id = b.grid_id WHERE g.code = %s AND g.valid_to IS NULL",
        (grid,),
    )
    assert grid_row.locator("td").nth(1).inner_text() == str(households)
    # Geoman speaks its own Chinese locale (its line tool; its "完成" is clicked below).
    assert page.locator(".button-container[title='绘制线段']").count() == 1

    # Split mode: click a line across the grid; the clicks fall on neighbours but never select.
    page.click(".plan-mode[data-mode='split']")
    overshoot = 0.0004
    fit(page, w - 0.002, y - 0.002, e + 0.002, y + 0.002)
    page.mouse.click(*at(page, w - overshoot, y))
    page.mouse.click(*at(page, (w + e) / 2, y + 0.00001))
    page.mouse.click(*at(page, e + overshoot, y))
    assert page.evaluate("window.gridgovPlanState().selected") == []
    page.locator(".leaflet-pm-actions-container a", has_text="完成").first.click()
    wait_head(page, 1)
    assert page.locator("#plan-error").inner_text() == ""
    (split_code,) = (
        city.one(
            "SELECT params->>'code' FROM changeset_operation WHERE changeset_id = %s AND seq = 1",
            (draft_id,),
        ),
    )
    assert split_code == grid
    new = page.evaluate(
        "window.gridgovPlanState().draft.grids.features"
        ".filter(f => f.properties.status === 'new').map(f => f.properties.code)"
    )
    assert len(new) == 2 and all(c.startswith(community) and c > grid for c in new)
    first, second = sorted(new)

    # Where the branch goes, a new branch for the other half, and the staff chosen by name.
    page.select_option(f"select[data-branch='{branch}']", f"to:{first}")
    page.check(f"input[data-create='{second}']")
    page.fill(f"input[data-branch-name='{second}']", "新建网格党支部甲")
    staff = city.sql(
        "SELECT s.person_id, s.role FROM grid_staff s JOIN area g ON g.id = s.area_id "
        "WHERE g.code = %s AND g.valid_to IS NULL ORDER BY s.role, s.person_id",
        (grid,),
    )
    chief = next(p for p, r in staff if r == "chief")
    workers = [p for p, r in staff if r == "worker"]
    instructor = next(p for p, r in staff if r == "instructor")
    choose_person(page, f"select[data-chief='{first}']", chief)
    page.select_option(f"select[data-workers='{first}']", [str(w) for w in workers])
    choose_person(page, f"select[data-instructor='{first}']", instructor)
    page.select_option(f"select[data-chief='{second}']", "vacant")
    commit(page, "人口增长，拆分网格")
    assert page.locator("#plan-error").inner_text() == ""
    assert "已提交" in page.locator("#plan-status").inner_text()

    assert city.one(
        "SELECT status, committed_by, reason FROM changeset WHERE id = %s", (draft_id,)
    ) == ("committed", "planner_e2e", "人口增长，拆分网格")
    assert city.one("SELECT count(*) FROM area WHERE code = %s AND valid_to IS NULL", (grid,)) == 0
    city.assert_one_branch_per_grid()
    assert (
        city.one(
            "SELECT a.code FROM party_org o JOIN area a ON a.id = o.area_id WHERE o.code = %s",
            (branch,),
        )
        == first
    )
    assert (
        city.one(
            "SELECT o.name FROM party_org o JOIN area a ON a.id = o.area_id "
            "WHERE o.level = 'grid' AND a.code = %s AND a.valid_to IS NULL",
            (second,),
        )
        == "新建网格党支部甲"
    )
    assert (
        city.sql(
            "SELECT s.person_id, s.role FROM grid_staff s JOIN area g ON g.id = s.area_id "
            "WHERE g.code = %s AND g.valid_to IS NULL ORDER BY s.role, s.person_id",
            (first,),
        )
        == staff
    )
    assert city.sql(
        "SELECT count(*) FROM grid_staff s JOIN area g ON g.id = s.area_id "
        "WHERE g.code = %s AND g.valid_to IS NULL",
        (second,),
    ) == [(0,)]
    lineage = city.sql(
        "SELECT p.code, s.code, l.kind FROM area_lineage l JOIN area p ON p.id = l.predecessor_id "
        "JOIN area s ON s.id = l.successor_id WHERE l.changeset_id = %s ORDER BY 2",
        (draft_id,),
    )
    assert lineage == [(grid, first, "split"), (grid, second, "split")]
    # The panel shows the committed grids with their branches.
    expect_branch = page.locator(f"#plan-grids tr[data-grid='{second}'] td").nth(4)
    assert expect_branch.inner_text() != "党建空白点"
