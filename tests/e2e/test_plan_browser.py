"""The planner's editor in headless Chromium at 1366×768, driven as a planner works.

Runs against its own committed database and live server (commits change the city, so they must
not touch the shared demo database). The journeys run in order on one city: open the scope and
split a grid bordered by others by clicking a line across it (choosing the branch, a new branch
and the staff by name), merge two grids (one branch merged into the other), move a shared edge,
see the history and revert — and after each step the test reads the database.
"""

from __future__ import annotations

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
)
from tests.e2e.browser_helpers import chromium

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
    with chromium() as b:
        yield b


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
    # The bell sits in the bar beside the planner's name, not over it.
    viewer_box = page.locator(".plan-viewer").bounding_box()
    bell_box = page.locator(".plan-bar .gg-bell-button").bounding_box()
    assert viewer_box["x"] + viewer_box["width"] <= bell_box["x"]
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


def free_spot(city: City, code: str) -> tuple[float, float]:
    """A point inside a current grid away from its buildings (a click there hits the grid)."""
    lon, lat = city.one(
        """
        SELECT ST_X(p), ST_Y(p) FROM (
          SELECT ST_PointOnSurface(ST_Difference(ST_Buffer(g.geom, -0.0001),
                 coalesce((SELECT ST_Union(ST_Buffer(b.geom, 0.00008)) FROM building b
                           WHERE b.grid_id = g.id AND b.valid_to IS NULL),
                          'GEOMETRYCOLLECTION EMPTY'::geometry))) AS p
          FROM area g WHERE g.code = %s AND g.valid_to IS NULL) x
        """,
        (code,),
    )
    return float(lon), float(lat)


def pair_with_branches(
    city: City, exclude: list[str], fresh: bool = False
) -> tuple[str, str, str, str, str]:
    """Two neighbouring grids (a long shared edge), both with a branch, in a community not in
    ``exclude`` (and with ``fresh``, neither touched by any changeset yet): (community, grid a,
    grid b, branch a, branch b)."""
    row = city.one(
        """
        SELECT c.code, a.code, b.code, oa.code, ob.code FROM area a
        JOIN area b ON b.parent_id = a.parent_id AND a.code < b.code AND b.valid_to IS NULL
        JOIN area c ON c.id = a.parent_id
        JOIN party_org oa ON oa.level = 'grid' AND oa.area_id = a.id
        JOIN party_org ob ON ob.level = 'grid' AND ob.area_id = b.id
        WHERE a.level = 'grid' AND a.valid_to IS NULL AND NOT c.code = ANY(%s)
          AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))::geography)
              > 150
          AND (NOT %s OR NOT EXISTS (
                SELECT 1 FROM changeset_area ca JOIN area x ON x.id = ca.area_id
                WHERE x.code IN (a.code, b.code)))
        ORDER BY c.code, a.code LIMIT 1
        """,
        (exclude, fresh),
    )
    return tuple(row)  # type: ignore[return-value]


def merged_communities(city: City) -> list[str]:
    """Communities with a committed merge (the revert journey needs their grids as merged)."""
    return [
        r[0]
        for r in city.sql(
            "SELECT DISTINCT c.scope_code FROM changeset c JOIN area_lineage l "
            "ON l.changeset_id = c.id AND l.kind = 'merge'"
        )
    ]


def touched_communities(city: City) -> list[str]:
    return [r[0] for r in city.sql("SELECT DISTINCT scope_code FROM changeset")]


def test_merge_two_grids_merging_one_branch_into_the_other(city: City, page: Any) -> None:
    community, a, b, branch_a, branch_b = pair_with_branches(city, touched_communities(city))
    members_b = city.one(
        "SELECT count(*) FROM party_member m JOIN party_org o ON o.id = m.org_id WHERE o.code = %s",
        (branch_b,),
    )
    staff_a = city.sql(
        "SELECT s.person_id, s.role FROM grid_staff s JOIN area g ON g.id = s.area_id "
        "WHERE g.code = %s AND g.valid_to IS NULL ORDER BY 2, 1",
        (a,),
    )
    draft_id = open_community(page, community)
    page.click(".plan-mode[data-mode='merge']")
    spots = [free_spot(city, a), free_spot(city, b)]
    lons = [p[0] for p in spots]
    lats = [p[1] for p in spots]
    fit(page, min(lons) - 0.003, min(lats) - 0.003, max(lons) + 0.003, max(lats) + 0.003)
    for lon, lat in spots:
        page.mouse.click(*at(page, lon, lat))
    assert sorted(page.evaluate("window.gridgovPlanState().selected")) == [a, b]
    page.click("#plan-merge")
    wait_head(page, 1)
    assert page.locator("#plan-error").inner_text() == ""
    (merged,) = page.evaluate(
        "window.gridgovPlanState().draft.grids.features"
        ".filter(f => f.properties.status === 'new').map(f => f.properties.code)"
    )
    # Both branches would land in one grid: one goes there, the other is merged into it.
    page.select_option(f"select[data-branch='{branch_a}']", f"to:{merged}")
    page.select_option(f"select[data-branch='{branch_b}']", f"merge:{branch_a}")
    chief = next(p for p, r in staff_a if r == "chief")
    choose_person(page, f"select[data-chief='{merged}']", chief)
    commit(page, "两个网格户数不足，合并")

    city.assert_one_branch_per_grid()
    assert city.sql(
        "SELECT o.code FROM party_org o JOIN area g ON g.id = o.area_id "
        "WHERE o.level = 'grid' AND g.code = %s AND g.valid_to IS NULL",
        (merged,),
    ) == [(branch_a,)]
    assert city.sql("SELECT 1 FROM party_org WHERE code = %s", (branch_b,)) == []
    assert (
        city.one(
            "SELECT count(*) FROM changeset_attachment WHERE changeset_id = %s "
            "AND action = 'dissolve' AND entity = 'party_org'",
            (draft_id,),
        )
        == 1
    )
    # B's members joined A's branch (directly, or through their building groups).
    assert (
        city.one(
            "SELECT count(*) FROM changeset_attachment WHERE changeset_id = %s "
            "AND entity = 'party_member' AND field = 'org_id'",
            (draft_id,),
        )
        >= members_b
        > 0
    )
    assert city.sql(
        "SELECT s.person_id FROM grid_staff s JOIN area g ON g.id = s.area_id "
        "WHERE g.code = %s AND g.valid_to IS NULL AND s.role = 'chief'",
        (merged,),
    ) == [(chief,)]
    assert sorted(
        city.sql(
            "SELECT p.code, l.kind FROM area_lineage l JOIN area p ON p.id = l.predecessor_id "
            "WHERE l.changeset_id = %s",
            (draft_id,),
        )
    ) == [(a, "merge"), (b, "merge")]


def test_move_a_shared_edge_both_neighbours_change(city: City, page: Any) -> None:
    # Any community but the merged one (whose revert comes next and needs its grids as merged).
    community, a, b, _ba, _bb = pair_with_branches(city, merged_communities(city))
    # A vertex on the shared edge, away from the community's outline.
    lon, lat = city.one(
        """
        SELECT ST_X(d.geom), ST_Y(d.geom)
        FROM area ga, area gb, area c, ST_DumpPoints(ga.geom) d
        WHERE ga.code = %s AND gb.code = %s AND ga.valid_to IS NULL AND gb.valid_to IS NULL
          AND c.id = ga.parent_id
          AND ST_DWithin(d.geom, ST_Boundary(gb.geom), 1e-9)
          AND ST_Distance(d.geom::geography, ST_Boundary(c.geom)::geography) > 40
        ORDER BY ST_Distance(d.geom::geography, ST_Boundary(c.geom)::geography) DESC LIMIT 1
        """,
        (a, b),
    )
    versions = dict(
        city.sql(
            "SELECT code, version FROM area WHERE code IN (%s, %s) AND valid_to IS NULL", (a, b)
        )
    )
    draft_id = open_community(page, community)
    page.click(".plan-mode[data-mode='reshape']")
    fit(page, lon - 0.0015, lat - 0.0015, lon + 0.0015, lat + 0.0015)
    x, y = at(page, lon, lat)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y + 6, steps=6)
    page.mouse.move(x + 25, y + 10, steps=6)
    page.mouse.up()
    wait_head(page, 1)
    assert page.locator("#plan-error").inner_text() == ""
    statuses = page.evaluate(
        "Object.fromEntries(window.gridgovPlanState().draft.grids.features"
        ".map(f => [f.properties.code, f.properties.status]))"
    )
    assert statuses[a] == statuses[b] == "reshaped"
    commit(page, "沿新修道路调整两网格共用边界")
    after = dict(
        city.sql(
            "SELECT code, version FROM area WHERE code IN (%s, %s) AND valid_to IS NULL", (a, b)
        )
    )
    assert after == {a: versions[a] + 1, b: versions[b] + 1}
    # The shared edge moved for both: still no gap or overlap between them.
    assert city.one(
        "SELECT ST_Area(ST_Intersection(x.geom, y.geom)::geography) < 0.01 FROM area x, area y "
        "WHERE x.code = %s AND y.code = %s AND x.valid_to IS NULL AND y.valid_to IS NULL",
        (a, b),
    )
    city.assert_one_branch_per_grid()
    kinds = {
        r[0] for r in city.sql("SELECT kind FROM area_lineage WHERE changeset_id = %s", (draft_id,))
    }
    assert kinds == {"reshape"}


def member_branches(city: City, building: str) -> dict[int, str | None]:
    """Party members living in a building → the grid branch their organisation hangs under."""
    return dict(
        city.sql(
            """
            WITH RECURSIVE up(member, org, level, parent, code) AS (
                SELECT m.id, o.id, o.level, o.parent_id, o.code
                FROM party_member m JOIN resident r ON r.id = m.resident_id
                JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id
                JOIN party_org o ON o.id = m.org_id
                WHERE b.code = %s AND b.valid_to IS NULL
                UNION ALL
                SELECT up.member, o.id, o.level, o.parent_id, o.code
                FROM up JOIN party_org o ON o.id = up.parent WHERE up.level <> 'grid'
            )
            SELECT member, max(code) FILTER (WHERE level = 'grid') FROM up GROUP BY member
            """,
            (building,),
        )
    )


def open_case(city: City, code: str, grid: str, lon: float, lat: float, status: str) -> None:
    closed = "now()" if status in ("closed", "evaluated") else "NULL"
    with psycopg.connect(owner_url(city.url)) as conn:
        conn.execute(
            "INSERT INTO incident (code, kind, category, description, source, geom, "
            "district_code, grid_id, status, closed_at) "
            "SELECT %s, 'event', '市容环境', '测试案件', 'grid_worker', "
            f"ST_SetSRID(ST_MakePoint(%s, %s), 4326), left(code, 6), id, %s, {closed} "
            "FROM area WHERE code = %s AND valid_to IS NULL",
            (code, lon, lat, status, grid),
        )


def test_transfer_buildings_with_undo_redo_shows_the_cases_that_move(city: City, page: Any) -> None:
    community, a, b, branch_a, branch_b = pair_with_branches(
        city, merged_communities(city), fresh=True
    )
    # The building of A nearest the edge it shares with B, with households and party members.
    building, lon, lat, households = city.one(
        """
        SELECT bl.code, ST_X(bl.anchor), ST_Y(bl.anchor),
               (SELECT count(*) FROM household h WHERE h.building_id = bl.id)
        FROM building bl, area ga, area gb
        WHERE ga.code = %s AND gb.code = %s AND ga.valid_to IS NULL AND gb.valid_to IS NULL
          AND bl.grid_id = ga.id AND bl.valid_to IS NULL
          AND EXISTS (SELECT 1 FROM household h WHERE h.building_id = bl.id)
        ORDER BY ST_Distance(bl.geom, ST_Intersection(ST_Boundary(ga.geom), ST_Boundary(gb.geom)))
        LIMIT 1
        """,
        (a, b),
    )
    members_before = member_branches(city, building)
    # An open case and a closed one at the building: only the open one follows the boundary.
    open_case(city, "PLAN-E2E-OPEN", a, lon, lat, "dispatched")
    open_case(city, "PLAN-E2E-CLOSED", a, lon, lat, "closed")
    old_a_id = city.one("SELECT id FROM area WHERE code = %s AND valid_to IS NULL", (a,))

    draft_id = open_community(page, community)
    assert page.locator("#plan-cases").inner_text() == "没有未结案件改变所属网格。"
    page.click(".plan-mode[data-mode='transfer']")
    target = free_spot(city, b)
    fit(
        page,
        min(lon, target[0]) - 0.002,
        min(lat, target[1]) - 0.002,
        max(lon, target[0]) + 0.002,
        max(lat, target[1]) + 0.002,
    )
    page.mouse.click(*at(page, lon, lat))
    assert page.evaluate("window.gridgovPlanState().picked") == [building]
    assert building in page.locator("#plan-selection").inner_text()
    page.mouse.click(*at(page, *target))
    wait_head(page, 1)
    assert page.locator("#plan-error").inner_text() == ""
    operation = city.one(
        "SELECT kind, params->>'to', params->'buildings'->0->>'code' FROM changeset_operation "
        "WHERE changeset_id = %s AND seq = 1",
        (draft_id,),
    )
    assert operation == ("transfer", b, building)

    def statuses() -> dict[str, str]:
        return dict(
            page.evaluate(
                "window.gridgovPlanState().draft.grids.features"
                ".map(f => [f.properties.code, f.properties.status])"
            )
        )

    def cases_shown() -> list[str]:
        return sorted(
            page.eval_on_selector_all(
                "#plan-cases li[data-case]", "l => l.map(e => e.dataset.case)"
            )
        )

    assert statuses()[a] == statuses()[b] == "reshaped"
    # The draft's counts (the panel's grid table) already give B the building's households.
    hh_b_before = city.one(
        "SELECT count(*) FROM household h JOIN building bl ON bl.id = h.building_id "
        "JOIN area g ON g.id = bl.grid_id WHERE g.code = %s AND g.valid_to IS NULL",
        (b,),
    )
    assert int(page.locator(f"#plan-grids tr[data-grid='{b}'] td").nth(1).inner_text()) >= (
        hh_b_before + households
    )
    # The open case is marked on the map and counted; the closed one is not.
    shown = cases_shown()
    assert "PLAN-E2E-OPEN" in shown and "PLAN-E2E-CLOSED" not in shown
    assert page.locator("path.plan-case-moved").count() == len(shown)
    assert f"{len(shown)} 件未结案件" in page.locator("#plan-cases").inner_text()

    # Undo takes the edit back (nothing moves any more), redo brings it again.
    page.click("#plan-undo")
    # Back at the base nothing changes, so there is no impact table or choice to wait for.
    until(
        page,
        "() => { const s = window.gridgovPlanState(); return s.draft.head === 0 && s.busy === 0 "
        "&& document.querySelector('#plan-cases p') !== null; }",
    )
    assert set(statuses().values()) == {"unchanged"}
    assert cases_shown() == [] and page.locator("path.plan-case-moved").count() == 0
    assert city.one("SELECT head FROM changeset WHERE id = %s", (draft_id,)) == 0
    page.click("#plan-redo")
    wait_head(page, 1)
    assert statuses()[a] == "reshaped" and cases_shown() == shown
    assert city.one("SELECT head FROM changeset WHERE id = %s", (draft_id,)) == 1

    commit(page, "楼栋划入相邻网格")
    b_now = city.one("SELECT id FROM area WHERE code = %s AND valid_to IS NULL", (b,))
    assert (
        city.one("SELECT grid_id FROM building WHERE code = %s AND valid_to IS NULL", (building,))
        == b_now
    )
    # Every case the page listed now belongs to B; the closed case keeps the version it had.
    assert city.sql(
        "SELECT i.code, g.code FROM incident i JOIN area g ON g.id = i.grid_id "
        "WHERE i.code = ANY(%s) ORDER BY 1",
        (shown,),
    ) == [(c, b) for c in shown]
    assert city.one("SELECT grid_id FROM incident WHERE code = 'PLAN-E2E-CLOSED'") == old_a_id
    # Households hang on the building; party members registered under A's branch follow it to B's.
    assert (
        city.one(
            "SELECT count(*) FROM household h JOIN building bl ON bl.id = h.building_id "
            "WHERE bl.code = %s AND bl.grid_id = %s",
            (building, b_now),
        )
        == households
    )
    members_after = member_branches(city, building)
    assert members_after.keys() == members_before.keys()
    for member, grid_branch in members_before.items():
        if grid_branch == branch_a:
            assert members_after[member] == branch_b
    city.assert_one_branch_per_grid()
    # History: the changeset with who and why, and transfer lineage from A to B.
    assert city.one(
        "SELECT status, committed_by, reason FROM changeset WHERE id = %s", (draft_id,)
    ) == ("committed", "planner_e2e", "楼栋划入相邻网格")
    lineage = city.sql(
        "SELECT p.code, s.code, l.kind, l.buildings_moved FROM area_lineage l "
        "JOIN area p ON p.id = l.predecessor_id JOIN area s ON s.id = l.successor_id "
        "WHERE l.changeset_id = %s ORDER BY 1, 2",
        (draft_id,),
    )
    assert {k for *_, k, _ in lineage} == {"transfer"}
    assert any(p == a and s == b and moved >= 1 for p, s, _k, moved in lineage), lineage


def test_draw_a_new_grid_from_buildings_clipped_to_their_grid(city: City, page: Any) -> None:
    # A grid with a branch outside the merged community, one no changeset touched if any is left.
    community, grid, branch = city.one(
        """
        SELECT c.code, g.code, o.code FROM area g JOIN area c ON c.id = g.parent_id
        JOIN party_org o ON o.level = 'grid' AND o.area_id = g.id
        WHERE g.level = 'grid' AND g.valid_to IS NULL AND NOT c.code = ANY(%s)
          AND (SELECT count(*) FROM building b WHERE b.grid_id = g.id AND b.valid_to IS NULL) > 2
        ORDER BY EXISTS (SELECT 1 FROM changeset_area ca JOIN area x ON x.id = ca.area_id
                         WHERE x.code = g.code), c.code, g.code
        LIMIT 1
        """,
        (merged_communities(city),),
    )
    # Two neighbouring buildings of the grid (the pair closest together).
    first, second, lon1, lat1, lon2, lat2 = city.one(
        """
        SELECT x.code, y.code, ST_X(x.anchor), ST_Y(x.anchor), ST_X(y.anchor), ST_Y(y.anchor)
        FROM area g JOIN building x ON x.grid_id = g.id AND x.valid_to IS NULL
        JOIN building y ON y.grid_id = g.id AND y.valid_to IS NULL AND y.code > x.code
        WHERE g.code = %s AND g.valid_to IS NULL
        ORDER BY ST_Distance(x.geom, y.geom), x.code LIMIT 1
        """,
        (grid,),
    )
    others = dict(
        city.sql(
            "SELECT g.code, g.version FROM area g JOIN area c ON c.id = g.parent_id "
            "WHERE c.code = %s AND c.valid_to IS NULL AND g.valid_to IS NULL AND g.code <> %s",
            (community, grid),
        )
    )
    version = city.one("SELECT version FROM area WHERE code = %s AND valid_to IS NULL", (grid,))
    draft_id = open_community(page, community)
    page.click(".plan-mode[data-mode='create']")
    assert page.locator("#plan-create").is_disabled()
    fit(
        page,
        min(lon1, lon2) - 0.0012,
        min(lat1, lat2) - 0.0012,
        max(lon1, lon2) + 0.0012,
        max(lat1, lat2) + 0.0012,
    )
    page.mouse.click(*at(page, lon1, lat1))
    page.mouse.click(*at(page, lon2, lat2))
    assert sorted(page.evaluate("window.gridgovPlanState().picked")) == [first, second]
    page.fill("#plan-buffer", "15")
    page.click("#plan-create")
    wait_head(page, 1)
    assert page.locator("#plan-error").inner_text() == ""
    assert city.one(
        "SELECT kind, (params->>'buffer_m')::float FROM changeset_operation "
        "WHERE changeset_id = %s AND seq = 1",
        (draft_id,),
    ) == ("create", 15.0)
    statuses = dict(
        page.evaluate(
            "window.gridgovPlanState().draft.grids.features"
            ".map(f => [f.properties.code, f.properties.status])"
        )
    )
    (new,) = [c for c, st in statuses.items() if st == "new"]
    assert new.startswith(community) and statuses[grid] == "reshaped"
    # Neighbours keep their outline: the new grid took area only from the buildings' grid.
    assert all(statuses[c] == "unchanged" for c in others)

    # The new grid needs a branch (or a confirmed blank spot) and its chief.
    page.check(f"input[data-create='{new}']")
    page.fill(f"input[data-branch-name='{new}']", "新建网格党支部乙")
    page.select_option(f"select[data-chief='{new}']", "vacant")
    commit(page, "新建小区，按楼栋划出新网格")

    new_id = city.one("SELECT id FROM area WHERE code = %s AND valid_to IS NULL", (new,))
    assert city.sql(
        "SELECT code FROM building WHERE code IN (%s, %s) AND grid_id = %s ORDER BY 1",
        (first, second, new_id),
    ) == [(first,), (second,)]
    # Inside its community and overlapping no grid in force.
    assert city.one(
        "SELECT ST_Area(ST_Difference(n.geom, c.geom)::geography) < 0.01 "
        "FROM area n JOIN area c ON c.id = n.parent_id WHERE n.id = %s",
        (new_id,),
    )
    assert city.one(
        "SELECT coalesce(max(ST_Area(ST_Intersection(n.geom, o.geom)::geography)), 0) < 0.01 "
        "FROM area n JOIN area o ON o.parent_id = n.parent_id AND o.id <> n.id "
        "AND o.valid_to IS NULL AND o.geom && n.geom WHERE n.id = %s",
        (new_id,),
    )
    # The buildings' whole footprints are inside (the hull grown by 15 m, clipped to their grid).
    assert city.one(
        "SELECT bool_and(ST_Covers(n.geom, b.geom)) FROM area n, building b "
        "WHERE n.id = %s AND b.code IN (%s, %s)",
        (new_id, first, second),
    )
    after = dict(
        city.sql(
            "SELECT g.code, g.version FROM area g JOIN area c ON c.id = g.parent_id "
            "WHERE c.code = %s AND c.valid_to IS NULL AND g.valid_to IS NULL "
            "AND g.code NOT IN (%s, %s)",
            (community, grid, new),
        )
    )
    assert after == others
    assert (
        city.one("SELECT version FROM area WHERE code = %s AND valid_to IS NULL", (grid,))
        == version + 1
    )
    city.assert_one_branch_per_grid()
    assert city.sql(
        "SELECT o.code FROM party_org o JOIN area g ON g.id = o.area_id "
        "WHERE g.code = %s AND g.valid_to IS NULL",
        (grid,),
    ) == [(branch,)]
    assert (
        city.one("SELECT name FROM party_org WHERE level = 'grid' AND area_id = %s", (new_id,))
        == "新建网格党支部乙"
    )
    assert ("transfer",) in city.sql(
        "SELECT l.kind FROM area_lineage l JOIN area p ON p.id = l.predecessor_id "
        "WHERE l.changeset_id = %s AND p.code = %s AND l.successor_id = %s",
        (draft_id, grid, new_id),
    )


def test_history_and_revert_restore_branches_members_and_staff(city: City, page: Any) -> None:
    merge_id, scope = city.one(
        "SELECT id, scope_code FROM changeset WHERE status = 'committed' AND EXISTS "
        "(SELECT 1 FROM area_lineage l WHERE l.changeset_id = changeset.id AND l.kind = 'merge')"
    )
    dissolved = city.one(
        "SELECT row_data FROM changeset_attachment WHERE changeset_id = %s AND action = 'dissolve'",
        (merge_id,),
    )
    moved_members = city.sql(
        "SELECT entity_id, old_value FROM changeset_attachment WHERE changeset_id = %s "
        "AND entity = 'party_member' ORDER BY 1",
        (merge_id,),
    )
    retired = city.sql(
        "SELECT a.code, a.id FROM changeset_area ca JOIN area a ON a.id = ca.area_id "
        "WHERE ca.changeset_id = %s AND ca.role = 'retired' ORDER BY 1",
        (merge_id,),
    )
    page.goto(f"{city.server.url}/plan/history")
    until(page, "() => document.querySelectorAll('#plan-timeline li').length >= 3")
    item = page.locator(f"#plan-timeline li[data-changeset='{merge_id}']")
    assert "两个网格户数不足，合并" in item.inner_text() and "planner_e2e" in item.inner_text()
    item.click()
    until(page, "() => document.getElementById('plan-lineage').textContent.includes('合并')")
    item.locator("button.plan-revert").click()
    page.wait_for_url("**/plan?draft=*")
    until(
        page,
        "() => { const s = window.gridgovPlanState(); return s.draft && s.busy === 0 && "
        "document.querySelector('#plan-choices p'); }",
    )
    revert_id = int(page.evaluate("window.gridgovPlanState().draft.id"))
    commit(page, "撤销合并")

    assert city.one("SELECT reverts_changeset_id FROM changeset WHERE id = %s", (revert_id,)) == (
        merge_id
    )
    city.assert_one_branch_per_grid()
    restored = dict(
        city.sql(
            "SELECT code, id FROM area WHERE code = ANY(%s) AND valid_to IS NULL",
            ([c for c, _ in retired],),
        )
    )
    assert sorted(restored) == [c for c, _ in retired]
    # The dissolved branch is back, with its own id, on its restored grid, with its members.
    assert (
        city.one("SELECT area_id FROM party_org WHERE id = %s", (dissolved["id"],))
        == restored[next(c for c, i in retired if i == dissolved["area_id"])]
    )
    assert (
        city.sql(
            "SELECT id, org_id FROM party_member WHERE id = ANY(%s) ORDER BY 1",
            ([m for m, _ in moved_members],),
        )
        == moved_members
    )
    # Every post of the restored versions is back.
    for code, old_id in retired:
        assert city.sql(
            "SELECT person_id, role FROM grid_staff WHERE area_id = %s ORDER BY 1, 2", (old_id,)
        ) == city.sql(
            "SELECT person_id, role FROM grid_staff WHERE area_id = %s ORDER BY 1, 2",
            (restored[code],),
        )
    assert city.one(
        "SELECT count(*) FROM area_lineage WHERE changeset_id = %s", (revert_id,)
    ) == len(retired)
    assert scope


def grids_as_of(city: City, t: str) -> dict[str, Any]:
    """Grid versions (code@version → geometry) in force at ``t``, read from the database."""
    import shapely

    return {
        f"{code}@{version}": shapely.from_wkb(bytes(wkb))
        for code, version, wkb in city.sql(
            "SELECT code, version, ST_AsBinary(geom) FROM area WHERE level = 'grid' "
            "AND code LIKE '620881%%' AND valid_from <= %s::timestamptz "
            "AND (valid_to IS NULL OR valid_to > %s::timestamptz)",
            (t, t),
        )
    }


def download_gpkg(page: Any, selector: str, folder: Any) -> Any:
    """Click an export link as the planner does; the GeoPackage read back with pyogrio."""
    import geopandas as gpd

    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    path = folder / download.suggested_filename
    download.save_as(path)
    assert path.suffix == ".gpkg"
    return gpd.read_file(path, layer="grid", engine="pyogrio"), gpd.read_file(
        path, layer="export", engine="pyogrio"
    )


def assert_file_has(frame: Any, expected: dict[str, Any]) -> None:
    import shapely

    assert frame.crs.to_epsg() == 4326
    got = {f"{c}@{v}": g for c, v, g in zip(frame.code, frame.version, frame.geometry, strict=True)}
    assert sorted(got) == sorted(expected)
    for key, geom in expected.items():
        assert shapely.equals_exact(shapely.normalize(got[key]), shapely.normalize(geom), 1e-9), key


def test_as_of_slider_before_after_and_geopackage_of_a_past_and_the_current_state(
    city: City, page: Any, tmp_path: Any
) -> None:
    first_id, first_at = city.one(
        "SELECT id, committed_at FROM changeset WHERE status = 'committed' "
        "ORDER BY committed_at LIMIT 1"
    )
    retired = [
        f"{c}@{v}"
        for c, v in city.sql(
            "SELECT a.code, a.version FROM changeset_area ca JOIN area a ON a.id = ca.area_id "
            "WHERE ca.changeset_id = %s AND ca.role = 'retired'",
            (first_id,),
        )
    ]
    created = [
        f"{c}@{v}"
        for c, v in city.sql(
            "SELECT a.code, a.version FROM changeset_area ca JOIN area a ON a.id = ca.area_id "
            "WHERE ca.changeset_id = %s AND ca.role = 'created'",
            (first_id,),
        )
    ]
    assert retired and created
    committed = city.one("SELECT count(*) FROM changeset WHERE status = 'committed'")
    page.goto(f"{city.server.url}/plan/history")
    until(
        page,
        "n => document.querySelectorAll('#plan-timeline li').length === n "
        "&& window.gridgovHistoryState().busy === 0",
        committed,
    )

    # Before/after of the first changeset: the retired grid dashed before, its pieces after.
    page.locator(f"#plan-timeline li[data-changeset='{first_id}']").click()
    until(
        page,
        "code => window.gridgovHistoryState().busy === 0 "
        "&& window.gridgovHistoryState().before.includes(code)",
        retired[0],
    )
    state = page.evaluate("window.gridgovHistoryState()")
    assert set(retired) <= set(state["before"]) and not set(retired) & set(state["after"])
    assert set(created) <= set(state["after"]) and not set(created) & set(state["before"])

    # The slider at its start: the grids as they were just before the first changeset.
    slider = page.locator("#plan-asof")
    slider.focus()
    page.keyboard.press("Home")
    until(
        page,
        "() => { const s = window.gridgovHistoryState(); "
        "return s.busy === 0 && s.asOf && s.asOf !== 'now'; }",
    )
    t = page.evaluate("window.gridgovHistoryState().asOf")
    assert t < first_at.isoformat().replace("+00:00", "Z")
    past = grids_as_of(city, t)
    assert sorted(page.evaluate("window.gridgovHistoryState().after")) == sorted(past)
    assert set(retired) <= set(past) and not set(created) & set(past)
    frame, record = download_gpkg(page, "#plan-asof-export", tmp_path)
    assert_file_has(frame, past)
    assert record.loc[0, "as_of"].startswith(t[:19]) and record.loc[0, "within"] == "620881"

    # And at its end: the grids now, after every commit of the journeys above.
    slider.focus()  # the click on the export link took the focus
    page.keyboard.press("End")
    until(
        page,
        "() => { const s = window.gridgovHistoryState(); "
        "return s.busy === 0 && s.asOf === 'now'; }",
    )
    now = grids_as_of(city, "now")
    assert sorted(page.evaluate("window.gridgovHistoryState().after")) == sorted(now)
    assert not set(retired) & set(now) and now != past
    frame, _record = download_gpkg(page, "#plan-asof-export", tmp_path)
    assert_file_has(frame, now)
