"""The map pages in headless Chromium against the live demo city.

Each page: no console errors, no request outside the app's origin; drawn shapes and markers are
counted in the DOM and compared with SQL; clicking a grid shows its numbers; an incident posted
through the API appears on /command without a reload. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from gis.incidents.vocabulary import OPEN_STATUSES
from gis.masking import mask_name
from tests.api.incident_helpers import committed_reporting_key
from tests.conftest import LiveServer, unavailable
from tests.e2e.browser_helpers import chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
OPEN = OPEN_STATUSES


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Watched:
    """A page with every console error and every request recorded."""

    def __init__(self, browser: Any, origin: str, **context: Any) -> None:
        self.origin = origin
        self.context = browser.new_context(viewport={"width": 1280, "height": 800}, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def open(self, path: str) -> Any:
        self.page.goto(self.origin + path)
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_timeout(500)
        return self.page

    def foreign(self) -> list[str]:
        return [
            u
            for u in self.requests
            if not (u.startswith(self.origin + "/") or u.startswith("data:"))
        ]

    def close(self) -> None:
        self.context.close()


def sql(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def first_grid(url: str) -> str:
    return str(
        sql(url, "SELECT code FROM area WHERE level='grid' AND valid_to IS NULL ORDER BY code")[0][
            0
        ]
    )


@pytest.mark.parametrize("path", ["/", "/grid/{grid}", "/command"])
def test_page_loads_cleanly_and_stays_on_its_origin(
    browser: Any, live_server: LiveServer, demo_database_url: str, path: str
) -> None:
    path = path.format(grid=first_grid(demo_database_url))
    watched = Watched(browser, live_server.url)
    try:
        page = watched.open(path)
        assert page.locator(".leaflet-container").count() == 1
        if path == "/command":
            # Boundaries come from the vector tiles (street lines at the city view), not from
            # the whole city's grids as GeoJSON.
            page.wait_for_selector("path.gg-area-street", state="attached", timeout=15000)
        ARTIFACTS.mkdir(exist_ok=True)
        name = path.strip("/").replace("/", "_") or "city"
        page.screenshot(path=str(ARTIFACTS / f"map_{name}.png"))
        assert watched.errors == [], watched.errors
        assert watched.foreign() == [], watched.foreign()
        # Phone-sized screens get the viewport meta and the bottom-sheet panel.
        assert page.locator('meta[name="viewport"]').count() == 1
    finally:
        watched.close()


def test_city_draws_every_grid_and_party_orgs(
    browser: Any, live_server: LiveServer, demo_database_url: str, tmp_path: Path
) -> None:
    watched = Watched(browser, live_server.url)
    try:
        page = watched.open("/")
        # Boundaries come from vector tiles: a grid split over tiles is several <path>s with the
        # same code. Every grid meeting the visible bbox must be drawn, and nothing that is not a
        # current grid (tiles also cover a margin around the view).
        w, s, e, n = page.evaluate(
            "() => { const b = window.gridgovPage.map.getBounds();"
            " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
        )
        visible = {
            code
            for (code,) in sql(
                demo_database_url,
                "SELECT code FROM area WHERE level='grid' AND valid_to IS NULL "
                "AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                (w, s, e, n),
            )
        }
        current = {
            code
            for (code,) in sql(
                demo_database_url, "SELECT code FROM area WHERE level='grid' AND valid_to IS NULL"
            )
        }
        assert visible
        page.wait_for_function(
            "n => new Set(Array.from(document.querySelectorAll('path.gg-area-grid[data-code]'),"
            " e => e.getAttribute('data-code'))).size >= n",
            arg=len(visible),
            timeout=15000,
        )
        drawn = set(
            page.eval_on_selector_all(
                "path.gg-area-grid", "els => els.map(e => e.getAttribute('data-code'))"
            )
        )
        assert visible <= drawn <= current, (visible - drawn, drawn - current)
        first = page.evaluate("() => window.gridgovTiming && window.gridgovTiming.firstGrid")
        print(f"\nfirst grid drawn after {first:.0f} ms; {len(drawn)} grids in the loaded tiles")
        page.wait_for_function(
            "window.gridgov.city && document.querySelector('.leaflet-marker-icon.gg-org')"
        )
        state = page.evaluate(
            """() => { const m = window.gridgovPage.map, counts = {};
                 for (const lv of ['street','community','grid','building','household'])
                   counts[lv] = document.querySelectorAll(
                     '.leaflet-marker-icon.gg-org-' + lv).length;
                 return {zoom: m.getZoom(), counts: counts}; }"""
        )
        loaded = page.evaluate("() => { const b = window.gridgovOrgBounds; return b ? b : null; }")
        zoom = state["zoom"]
        min_zoom = {"street": 0, "community": 12, "grid": 14, "building": 16, "household": 17}
        assert loaded is not None
        w, s, e, n = loaded
        for level, z in min_zoom.items():
            (expected,) = sql(
                demo_database_url,
                "SELECT count(*) FROM party_org WHERE level = %s "
                "AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
                (level, w, s, e, n),
            )[0]
            assert state["counts"][level] == (expected if zoom >= z else 0), (level, zoom)
        assert state["counts"]["street"] > 0
        page.wait_for_timeout(500)
        # README pictures come from `gridgov screenshots`; a test writes no tracked file.
        page.screenshot(path=str(tmp_path / "map.png"))
    finally:
        watched.close()


def test_clicking_a_grid_shows_its_statistics(
    browser: Any, live_server: LiveServer, demo_database_url: str
) -> None:
    code = first_grid(demo_database_url)
    ((households, residents, members),) = sql(
        demo_database_url,
        """
        SELECT count(DISTINCT h.id), count(r.id), count(pm.id)
        FROM area g JOIN building b ON b.grid_id = g.id AND b.valid_to IS NULL
        JOIN household h ON h.building_id = b.id
        JOIN resident r ON r.household_id = h.id
        LEFT JOIN party_member pm ON pm.resident_id = r.id
        WHERE g.code = %s AND g.valid_to IS NULL
        """,
        (code,),
    )
    ((open_incidents,),) = sql(
        demo_database_url,
        "SELECT count(*) FROM incident i JOIN area g ON g.id = i.grid_id "
        "WHERE g.code = %s AND i.status = ANY(%s)",
        (code, list(OPEN)),
    )
    ((chief,),) = sql(
        demo_database_url,
        "SELECT p.name FROM grid_staff s JOIN person p ON p.id = s.person_id "
        "JOIN area g ON g.id = s.area_id WHERE g.code = %s AND g.valid_to IS NULL "
        "AND s.role = 'chief'",
        (code,),
    )
    ((branch, secretary),) = sql(
        demo_database_url,
        "SELECT o.name, se.name FROM party_org o JOIN area g ON g.id = o.area_id "
        "LEFT JOIN person se ON se.id = o.secretary_id "
        "WHERE g.code = %s AND g.valid_to IS NULL AND o.level = 'grid' ORDER BY o.code LIMIT 1",
        (code,),
    )
    watched = Watched(browser, live_server.url)
    try:
        page = watched.open("/")
        page.wait_for_selector(f'path.gg-area-grid[data-code="{code}"]', state="attached")
        page.locator(f'path.gg-area-grid[data-code="{code}"]').dispatch_event("click")
        page.wait_for_selector('#gg-area [data-stat="households"] .gg-value', timeout=15000)

        def shown(key: str) -> str:
            return page.inner_text(f'#gg-area [data-stat="{key}"] .gg-value').strip()

        assert page.get_attribute("#gg-area .gg-area-head", "data-code") == code
        assert shown("households") == str(households)
        assert shown("residents") == str(residents)
        assert shown("party_members") == str(members)
        assert shown("open_incidents") == str(open_incidents)
        assert page.get_attribute("#gg-area a.gg-grid-link", "href") == f"/grid/{code}"
        # The public sees the chief and the branch secretary masked, and no phone numbers.
        assert page.inner_text("#gg-area [data-field='chief'] .gg-person") == mask_name(chief)
        branch_line = page.inner_text("#gg-area [data-field='party_branch']")
        assert branch in branch_line and mask_name(secretary) in branch_line
        assert secretary not in branch_line and page.locator("#gg-area .gg-phone").count() == 0
        page.screenshot(path=str(ARTIFACTS / "map_city_grid_clicked.png"))
        assert watched.errors == []
    finally:
        watched.close()


def test_gcj02_in_the_browser_matches_python(browser: Any, live_server: LiveServer) -> None:
    """The browser's copy of the transform agrees with gis.crs on the same points (1e-9°),
    including on both sides of every edge of the China rectangle, where copies with their own
    rectangle used to disagree."""
    from gis.crs import gcj02_parameters, wgs84_to_gcj02

    west, south, east, north = gcj02_parameters()["china"]  # type: ignore[misc]
    edges = [
        (west - 1e-6, 35.0),
        (west + 1e-6, 35.0),
        (east - 1e-6, 35.0),
        (east + 1e-6, 35.0),
        (110.0, south - 1e-6),
        (110.0, south + 1e-6),
        (110.0, north - 1e-6),
        (110.0, north + 1e-6),
        (72.5, 40.0),  # inside the rectangle web/gcj02.py used, outside gis.crs's
        (110.0, 1.0),
    ]
    rng = random.Random(13)
    spread = [(rng.uniform(70.0, 140.0), rng.uniform(0.0, 56.0)) for _ in range(200)]
    points = [(106.65, 35.22), (116.397, 39.909), (121.47, 31.23), (2.35, 48.85), *edges, *spread]
    watched = Watched(browser, live_server.url)
    try:
        page = watched.open("/command")
        got = page.evaluate(
            "pts => pts.map(p => window.gridgov.gcj02.fromWgs84(p[0], p[1]))", points
        )
        want_x, want_y = wgs84_to_gcj02([p[0] for p in points], [p[1] for p in points])
        far = [
            (point, (gx, gy), (float(wx), float(wy)))
            for point, (gx, gy), wx, wy in zip(points, got, want_x, want_y, strict=True)
            if abs(gx - wx) >= 1e-9 or abs(gy - wy) >= 1e-9
        ]
        assert far == []
        shifted = sum(1 for (x, y), (gx, gy) in zip(points, got, strict=True) if (x, y) != (gx, gy))
        assert 0 < shifted < len(points)  # both sides of the rule were exercised
        assert watched.errors == []
    finally:
        watched.close()


@pytest.fixture(scope="module")
def signed_in_server(demo_database_url: str) -> Iterator[tuple[LiveServer, str, str]]:
    """A live server whose demo accounts have a known password (admin sees every incident)."""
    from gis.accounts import ensure_demo_accounts

    password = "browser-test-password-123"
    with psycopg.connect(demo_database_url) as conn:
        ensure_demo_accounts(conn, password)
        conn.commit()
    server = LiveServer(demo_database_url)
    yield server, "demo_admin", password
    server.stop()


def test_posted_incident_appears_on_command_without_reload(
    browser: Any, signed_in_server: tuple[LiveServer, str, str], demo_database_url: str
) -> None:
    server, username, password = signed_in_server
    watched = Watched(browser, server.url)
    try:
        response = watched.context.request.post(
            server.url + "/login",
            form={"username": username, "password": password, "next": "/command"},
            max_redirects=0,
        )
        if response.status not in (303, 200):
            unavailable(f"cannot sign in {username}: {response.status}")
        page = watched.open("/command")
        page.wait_for_selector(".gg-live-status", state="attached", timeout=15000)
        page.wait_for_function(
            "document.querySelector('.gg-live-status').textContent.includes('●')", timeout=15000
        )
        before = page.evaluate("() => location.href + performance.timeOrigin")
        # A point inside the first grid, posted by the public through the API.
        ((lon, lat),) = sql(
            demo_database_url,
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
            "WHERE code = %s AND valid_to IS NULL) x",
            (first_grid(demo_database_url),),
        )
        created = httpx.post(
            server.url + "/api/v1/incidents",
            # Public intake needs an API client's key (api/submitters.py): a reporting app's.
            headers={"X-API-Key": committed_reporting_key(demo_database_url)},
            json={
                "category": "市容环境",
                "description": "浏览器测试：路边堆放垃圾",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "source": "public",
            },
            timeout=30,
        )
        assert created.status_code in (200, 201), created.text
        code = created.json()["incident"]["code"]
        page.wait_for_selector(f'.gg-arrivals li[data-code="{code}"]', timeout=20000)
        assert page.evaluate("() => location.href + performance.timeOrigin") == before
        assert page.locator(".gg-flash").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "map_command_live.png"))
        assert watched.errors == [], watched.errors
        assert json.dumps(watched.foreign()) == "[]"
    finally:
        watched.close()


def test_staff_see_incidents_on_the_city_map_and_every_theme_from_the_layer_control(
    browser: Any, signed_in_server: tuple[LiveServer, str, str]
) -> None:
    """Signed in, the city map draws incidents (its page limit is the API's), and each theme
    chosen in the layer control draws its classes — 按期结案率 included — without an error."""
    from web.pages import CHOROPLETH_METRICS, metric_label

    server, username, password = signed_in_server
    watched = Watched(browser, server.url)
    try:
        signed = watched.context.request.post(
            server.url + "/login",
            form={"username": username, "password": password, "next": "/"},
            max_redirects=0,
        )
        assert signed.status in (303, 200), signed.status
        page = watched.page
        with page.expect_response(lambda r: "/api/v1/incidents?" in r.url, timeout=30_000) as info:
            page.goto(server.url + "/")
        assert info.value.status == 200, info.value.text()
        assert len(info.value.json()["items"]) > 0
        page.wait_for_function(
            "() => document.querySelectorAll('.gg-incident, .marker-cluster').length > 0",
            timeout=20_000,
        )
        for metric in CHOROPLETH_METRICS:
            page.hover(".leaflet-control-layers")  # the control opens on hover, as for a user
            label = metric_label(metric, "zh-CN")
            page.locator(".leaflet-control-layers-expanded label", has_text=label).first.click()
            page.wait_for_selector(f".gg-legend h4[data-metric='{metric}']", timeout=20_000)
            page.wait_for_selector(".gg-legend .gg-legend-classes", timeout=20_000)
            assert "网格统计暂不可用" not in page.inner_text(".gg-legend"), metric
        page.screenshot(path=str(ARTIFACTS / "map_city_staff_themes.png"))
        assert watched.errors == [], watched.errors
    finally:
        watched.close()
