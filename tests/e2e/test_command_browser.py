"""The command centre in headless Chromium: operators work a case on the page alone.

Runs against its own committed database and live server (the steps change cases, so they must
not touch the shared demo database). After each step taken with clicks and typing, the test
reads the database; a second operator acting on a stale copy of the case gets the 409 path; the
KPI tiles equal the metrics API for the same filter; the city map shows incidents to staff.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.incidents import intake as q
from gis.incidents.rating import rating_path
from gis.incidents.vocabulary import OPEN_STATUSES
from gis.media.urls import media_url
from gis.scope import Viewer
from gis.settings import normalise_database_url
from tests.conftest import (
    LiveServer,
    create_test_database,
    drop_test_database,
    owner_url,
)
from tests.e2e.browser_helpers import chromium
from tests.gis.media.photos import jpeg_with_gps
from web.command_page import KPI_KEYS

PASSWORD = "command-e2e-Password-1"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.browser


class City:
    def __init__(self, server: LiveServer, url: str, engine: Any) -> None:
        self.server, self.url, self.engine = server, url, engine

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()

    def report(self, description: str) -> tuple[int, str]:
        """A new hotline case inside the first grid, committed (as the intake would)."""
        ((lon, lat),) = self.sql(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1) x"
        )
        with Session(self.engine) as session:
            result = q.create_incident(
                session,
                Viewer("op_one", "command_operator", "620881"),
                q.IncidentInput(
                    category="市容环境",
                    kind=None,
                    description=description,
                    lon=lon,
                    lat=lat,
                    source="hotline",
                    reporter_name="张三丰",
                    reporter_phone="13912345678",
                ),
            )
            session.commit()
        return int(result.incident["id"]), str(result.incident["code"])


def _first_grid(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[City]:
    from data.demo import load_demo

    url = create_test_database(server_url, "command_e2e")
    with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
        load_demo(conn, households=3_000)
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        for name in ("op_one", "op_two"):
            create_user(session, name, PASSWORD, "command_operator", "620881")
        # The grid worker of the grid city.report() puts its cases in.
        create_user(session, "grid_one", PASSWORD, "grid_worker", _first_grid(url))
        session.commit()
    server = LiveServer(url)
    yield City(server, url, engine)
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Operator:
    """One signed-in browser context on /command, recording page errors."""

    def __init__(
        self, browser: Any, city: City, username: str, width: int = 1366, height: int = 768
    ) -> None:
        # The centre works in Beijing time (the deadline fields are the browser's local time).
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai"
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.failed: list[tuple[int, str]] = []
        # A failed request is logged by the browser as a console error too; it is recorded
        # (with its URL) from the response instead, so the expected 409 can be told apart.
        self.page.on(
            "console",
            lambda m: (
                self.errors.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        self.page.on(
            "response",
            lambda r: self.failed.append((r.status, r.url)) if r.status >= 400 else None,
        )
        self.page.goto(f"{city.server.url}/login?next=/command")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/command")

    def open_case(self, code: str) -> None:
        page = self.page
        page.fill("#gg-queue-form [name=code]", code)
        page.wait_for_selector(f"ol.gg-queue li[data-code='{code}']", timeout=20_000)
        page.click(f"ol.gg-queue li[data-code='{code}']")
        page.wait_for_selector(f"#gg-case .gg-case[data-code='{code}']", timeout=20_000)

    def register_call(self, city: City, description: str) -> tuple[int, str]:
        """登记新案件 as the centre takes a hotline call: the form, a click on the map inside the
        first grid, 登记; the new case opens in the panel. Its (id, code)."""
        ((lon, lat),) = city.sql(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1) x"
        )
        page, form = self.page, "#gg-case form.gg-intake-form"
        page.click("button.gg-new-case")
        page.select_option(f"{form} [name=source]", "hotline")
        page.select_option(f"{form} [name=category]", "市容环境")
        page.fill(f"{form} [name=description]", description)
        page.fill(f"{form} [name=reporter_name]", "张三丰")
        page.fill(f"{form} [name=reporter_phone]", "13912345678")
        page.click(f"{form} .gg-intake-tap")
        # The operator brings the place into view and clicks it (Folium's map is a global).
        x, y = page.evaluate(
            """([lat, lon]) => {
              const map = Object.keys(window).filter((k) => k.startsWith("map_"))
                .map((k) => window[k]).find((v) => v instanceof L.Map);
              map.setView([lat, lon], 17, { animate: false });
              const p = map.latLngToContainerPoint([lat, lon]);
              const box = map.getContainer().getBoundingClientRect();
              return [box.left + p.x, box.top + p.y];
            }""",
            [lat, lon],
        )
        page.mouse.click(x, y)
        page.wait_for_function(
            f"() => document.querySelector('{form} .gg-intake-point').dataset.lat", timeout=5_000
        )
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("#gg-case .gg-case[data-status='reported']", timeout=20_000)
        code = str(page.get_attribute("#gg-case .gg-case", "data-code"))
        ((incident_id,),) = city.sql("SELECT id FROM incident WHERE code = %s", (code,))
        return int(incident_id), code

    def actions(self) -> list[str]:
        """The step buttons the case panel shows (the case's allowed_transitions)."""
        return list(
            self.page.eval_on_selector_all(
                "#gg-case button.gg-action", "els => els.map(e => e.dataset.action)"
            )
        )

    def open_form(self, action: str) -> str:
        self.page.click(f"#gg-case button.gg-action[data-action='{action}']")
        form = f"#gg-case form.gg-action-form[data-action='{action}']"
        self.page.wait_for_selector(form)
        return form

    def take(self, action: str, status: str, **fields: str) -> None:
        """Take a step with the case panel's form and wait for the case to show ``status``."""
        form = self.open_form(action)
        for name, value in fields.items():
            self.page.fill(f"{form} [name={name}]", value)
        self.page.click(f"{form} button[type=submit]")
        self.page.wait_for_selector(f"#gg-case .gg-case[data-status='{status}']", timeout=20_000)
        assert self.page.locator("#gg-case .gg-case-ok").count() == 1

    def close(self) -> None:
        self.context.close()


def _status(city: City, incident_id: int) -> Any:
    return city.sql(
        "SELECT i.status, g.code, i.dispatched_to, i.due_at FROM incident i "
        "LEFT JOIN area g ON g.id = i.grid_id WHERE i.id = %s",
        (incident_id,),
    )[0]


def test_operators_work_a_case_and_the_slower_one_gets_the_409(browser: Any, city: City) -> None:
    incident_id, code = city.report("浏览器办案：人行道井盖缺失")
    one = Operator(browser, city, "op_one")
    two = Operator(browser, city, "op_two")
    try:
        # Both operators open the reported case.
        one.open_case(code)
        two.open_case(code)
        page = one.page
        assert page.get_attribute("#gg-case .gg-case", "data-status") == "reported"
        # The reporter is masked for a command operator (not a personal-data role).
        reporter = page.inner_text("#gg-case [data-field='reporter'] td")
        assert "张三丰" not in reporter and "13912345678" not in reporter and reporter.strip()
        # Exactly the steps the workflow gives a command operator on a reported case.
        assert one.actions() == ["accept", "refuse"]
        assert page.inner_text("#gg-case button.gg-action[data-action='accept']") == "受理"

        # The second operator starts the same step (受理) but is slower.
        two.open_form("accept")

        # 受理.
        one.take("accept", "accepted", note="受理：情况属实")
        status, grid, _, due = _status(city, incident_id)
        assert status == "accepted" and due is not None
        ((actor, note),) = city.sql(
            "SELECT actor, note FROM incident_transition WHERE incident_id = %s "
            "AND action = 'accept'",
            (incident_id,),
        )
        assert (actor, note) == ("command_operator:op_one", "受理：情况属实")
        assert page.locator("#gg-case .gg-timeline li[data-action='accept']").count() == 1

        # The live stream tells the second operator the case changed, without discarding his
        # form; he submits anyway: 409, the reason is shown, the case is refreshed.
        two.page.wait_for_selector("#gg-case .gg-case-stale", timeout=20_000)
        two.page.click("#gg-case form.gg-action-form button[type=submit]")
        two.page.wait_for_selector("#gg-case .gg-case[data-status='accepted']", timeout=20_000)
        error = two.page.inner_text("#gg-case .gg-case-error")
        assert "409" in error and "accepted" in error, error
        assert city.sql(
            "SELECT count(*) FROM incident_transition WHERE incident_id = %s "
            "AND to_status = 'accepted'",
            (incident_id,),
        ) == [(1,)]
        assert two.actions() == ["register", "reject"]

        # 立案.
        one.take("register", "registered")
        assert _status(city, incident_id)[0] == "registered"

        # 派遣 to another grid and a department.
        ((target,),) = city.sql(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL AND code <> %s "
            "ORDER BY code LIMIT 1",
            (grid,),
        )
        one.take("dispatch", "dispatched", grid_code=target, dispatched_to="城管执法中队")
        status, grid_after, dispatched_to, due_after = _status(city, incident_id)
        assert (status, grid_after, dispatched_to) == ("dispatched", target, "城管执法中队")
        assert due_after is not None and due_after > due
        # Now 改派 is offered, labelled as such.
        assert page.inner_text("#gg-case button.gg-action[data-action='redispatch']") == "改派"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "command_case_1366.png"))
        assert one.errors == [] and two.errors == [], (one.errors, two.errors)
        assert one.failed == [], one.failed
        assert [status for status, _ in two.failed] == [409], two.failed
    finally:
        one.close()
        two.close()


def test_kpi_tiles_equal_the_metrics_api(browser: Any, city: City) -> None:
    one = Operator(browser, city, "op_one", 1920, 1080)
    try:
        page = one.page
        for area in (None, "street"):
            if area == "street":
                ((street,),) = city.sql(
                    "SELECT code FROM area WHERE level = 'street' AND valid_to IS NULL "
                    "ORDER BY code LIMIT 1"
                )
                page.select_option("#gg-kpi-form [name=area]", street)
                page.select_option("#gg-kpi-form [name=days]", "365")
            page.wait_for_function(
                "() => { const k = document.querySelector('#gg-kpi');"
                " return k.dataset.start && !k.hasAttribute('data-loading'); }",
                timeout=20_000,
            )
            kpi = page.locator("#gg-kpi")
            params = {
                key: kpi.get_attribute(f"data-{key}") for key in ("start", "end", "level", "within")
            }
            if area == "street":
                assert params["within"] == street and params["level"] == "street"
            response = one.context.request.get(
                city.server.url + "/api/v1/incidents/metrics", params=params
            )
            assert response.ok, response.text()
            rows = [r for r in response.json()["rows"] if r["area_code"] == params["within"]]
            assert len(rows) == 1
            row = rows[0]
            assert row["reported"] > 0
            for key in KPI_KEYS:
                shown = page.get_attribute(f"#gg-kpi [data-kpi='{key}']", "data-value")
                want = row[key]
                assert (shown or None) == (None if want is None else str(want)) or (
                    want is not None and float(shown or "nan") == float(want)
                ), (key, shown, want)
            rate = page.inner_text("#gg-kpi [data-kpi='closure_rate'] .gg-kpi-value")
            if row["closure_rate"] is not None:
                assert rate == f"{100 * row['closure_rate']:.1f}%"
        # The charts were drawn by the vendored Chart.js.
        assert page.evaluate("() => typeof window.Chart === 'function'")
        assert page.evaluate(
            "() => !!window.Chart.getChart(document.getElementById('gg-chart-trend'))"
        )
        page.screenshot(path=str(ARTIFACTS / "command_kpi_1920.png"))
        assert one.errors == [] and one.failed == [], (one.errors, one.failed)
    finally:
        one.close()


def test_queue_pages_and_fits_both_screens(browser: Any, city: City) -> None:
    ((open_cases,),) = city.sql(
        "SELECT count(*) FROM incident WHERE status = ANY(%s)",
        (list(OPEN_STATUSES),),
    )
    for width, height in ((1366, 768), (1920, 1080)):
        one = Operator(browser, city, "op_one", width, height)
        try:
            page = one.page
            page.wait_for_selector("ol.gg-queue li[data-code]", timeout=20_000)
            rows = page.locator("ol.gg-queue li[data-code]").count()
            assert rows == min(50, open_cases)
            count = page.inner_text(".gg-tray[data-tray='all'] .gg-tray-count")
            assert int(count) == open_cases
            # Overdue cases come first.
            flags = page.eval_on_selector_all(
                "ol.gg-queue li[data-code]",
                "els => els.map(e => e.classList.contains('gg-overdue-row'))",
            )
            assert flags == sorted(flags, reverse=True)
            if open_cases > 50:
                first = page.get_attribute("ol.gg-queue li[data-code]", "data-code")
                page.click(".gg-pager [data-page='next']")
                page.wait_for_function(
                    "c => document.querySelector('ol.gg-queue li[data-code]').dataset.code !== c",
                    arg=first,
                )
            # Map and panel both on screen, side by side.
            map_box = page.locator(".folium-map").bounding_box()
            panel_box = page.locator("#gg-panel").bounding_box()
            assert map_box and panel_box
            assert map_box["width"] >= width * 0.4 and panel_box["x"] + panel_box["width"] <= width
            assert panel_box["x"] >= map_box["x"] + map_box["width"] - 1
            page.screenshot(path=str(ARTIFACTS / f"command_queue_{width}.png"))
            assert one.errors == [], one.errors
        finally:
            one.close()


def test_city_map_shows_incidents_to_staff(browser: Any, city: City) -> None:
    one = Operator(browser, city, "op_one")
    try:
        page = one.page
        with page.expect_response(lambda r: "/api/v1/incidents?" in r.url, timeout=30_000) as info:
            page.goto(city.server.url + "/")
        response = info.value
        assert response.status == 200, response.text()
        assert len(response.json()["items"]) > 0
        page.wait_for_function(
            "() => document.querySelectorAll('.gg-incident, .marker-cluster').length > 0",
            timeout=20_000,
        )
        # Every theme draws classes; the on-time closure rate reads the metrics API's rows.
        metrics = page.evaluate("() => window.gridgovPage.cfg.metrics")
        assert "on_time_rate" in metrics
        for metric in metrics:
            page.evaluate(
                "m => { const p = window.gridgovPage;"
                " p.map.addLayer(p.groups['choropleth_' + m]); }",
                metric,
            )
            page.wait_for_selector(f".gg-legend h4[data-metric='{metric}']", timeout=20_000)
            page.wait_for_selector(".gg-legend .gg-legend-classes", timeout=20_000)
        assert one.errors == [] and one.failed == [], (one.errors, one.failed)
    finally:
        one.close()


def test_linking_a_duplicate_with_one_click(browser: Any, city: City) -> None:
    first_id, _ = city.report("浏览器办案：垃圾桶满溢（首报）")
    second_id, second = city.report("浏览器办案：垃圾桶满溢（重复）")
    one = Operator(browser, city, "op_one")
    try:
        page = one.page
        one.open_case(second)
        link = page.locator(f"#gg-case .gg-link-duplicate[data-of='{first_id}']")
        link.wait_for(timeout=20_000)
        link.click()
        page.wait_for_selector("#gg-case .gg-case[data-status='rejected']", timeout=20_000)
        assert city.sql(
            "SELECT i.status, i.resolution, d.duplicate_of FROM incident i "
            "JOIN incident_duplicate d ON d.incident_id = i.id WHERE i.id = %s",
            (second_id,),
        ) == [("rejected", "duplicate", first_id)]
        # A refused case offers no further step.
        assert page.locator("#gg-case .gg-no-actions").count() == 1
        assert one.errors == [] and one.failed == [], (one.errors, one.failed)
    finally:
        one.close()


def test_wall_display(browser: Any, city: City) -> None:
    ((open_cases,),) = city.sql(
        "SELECT count(*) FROM incident WHERE status = ANY(%s)",
        (list(OPEN_STATUSES),),
    )
    one = Operator(browser, city, "op_one", 1920, 1080)
    try:
        page = one.page
        page.click(".gg-wall-toggle")
        page.wait_for_function("() => document.body.classList.contains('gg-wall')")
        assert "view=wall" in page.url
        # Every open case (up to the largest page) is on the map, the forms are gone, the
        # numbers are large.
        page.wait_for_function(
            "n => document.querySelectorAll('path.gg-incident').length === n",
            arg=min(open_cases, 200),
            timeout=20_000,
        )
        assert not page.is_visible("#gg-queue-form")
        size = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('.gg-kpi-value')).fontSize)"
        )
        assert size >= 32
        page.screenshot(path=str(ARTIFACTS / "command_wall_1920.png"))
        # Reloading keeps the mode (the URL says so).
        page.reload()
        page.wait_for_function("() => document.body.classList.contains('gg-wall')")
        assert one.errors == [] and one.failed == [], (one.errors, one.failed)
    finally:
        one.close()


def test_a_case_falling_overdue_is_signalled(browser: Any, city: City) -> None:
    one = Operator(browser, city, "op_one")
    try:
        page = one.page
        page.wait_for_selector(".gg-live-status", state="attached", timeout=20_000)
        page.wait_for_function(
            "() => document.querySelector('.gg-live-status').textContent.includes('●')",
            timeout=20_000,
        )
        # The tray badges show "–" until the first queue page has arrived.
        page.wait_for_function(
            "() => /^\\d+$/.test(document.querySelector("
            "\".gg-tray[data-tray='overdue'] .gg-tray-count\").textContent.trim())",
            timeout=20_000,
        )
        before = int(page.inner_text(".gg-tray[data-tray='overdue'] .gg-tray-count"))
        # A deadline passes (no event of its own) …
        with psycopg.connect(city.url) as conn:
            conn.execute(
                "UPDATE incident SET due_at = now() - interval '1 hour' WHERE id = ("
                "SELECT id FROM incident WHERE status = 'in_progress' AND due_at > now() "
                "ORDER BY id LIMIT 1)"
            )
        # … and the next queue refresh (here brought on by a new report) signals it.
        city.report("浏览器办案：路灯不亮")
        alert = page.locator(".gg-flash.gg-alert-overdue")
        alert.first.wait_for(timeout=30_000)
        assert "+1" in alert.first.inner_text()
        assert int(page.inner_text(".gg-tray[data-tray='overdue'] .gg-tray-count")) == before + 1
        assert one.errors == [] and one.failed == [], (one.errors, one.failed)
    finally:
        one.close()


def _last_step(city: City, incident_id: int) -> tuple[Any, ...]:
    """The newest history row: (from, to, action, actor, note, attachments)."""
    return city.sql(
        "SELECT from_status, to_status, action, actor, note, attachments FROM incident_transition"
        " WHERE incident_id = %s ORDER BY at DESC, id DESC LIMIT 1",
        (incident_id,),
    )[0]


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_the_whole_loop_on_the_page(browser: Any, city: City, width: int, height: int) -> None:
    """上报 → 受理 → 立案 → 派遣 (a shorter deadline) → 处置反馈 (the grid worker, on /command) →
    核查 by someone else: 返工 (the slower operator gets the 409) → 处置反馈 → 核查通过 → 结案 →
    评价 (the reporter, with his signed link on his phone); the database checked after each step."""
    one = Operator(browser, city, "op_one", width, height)
    two = Operator(browser, city, "op_two", width, height)
    worker = Operator(browser, city, "grid_one", width, height)
    try:
        # 上报: the operator registers a hotline call on the page, the place picked on the map
        # (inside the first grid, whose worker is grid_one).
        incident_id, code = one.register_call(city, f"浏览器全流程：井盖缺失（{width}）")
        assert city.sql(
            "SELECT source, category, reporter_name, reporter_phone FROM incident WHERE id = %s",
            (incident_id,),
        ) == [("hotline", "市容环境", "张三丰", "13912345678")]
        assert _status(city, incident_id)[0] == "reported"
        assert _status(city, incident_id)[1] == _first_grid(city.url)

        # 受理, then 立案: two decisions.
        assert one.actions() == ["accept", "refuse"]
        one.take("accept", "accepted", note="信息完整，情况属实")
        assert _last_step(city, incident_id)[:5] == (
            "reported",
            "accepted",
            "accept",
            "command_operator:op_one",
            "信息完整，情况属实",
        )
        assert one.actions() == ["register", "reject"]
        one.take("register", "registered")
        status, grid, _, registered_due = _status(city, incident_id)
        assert status == "registered" and registered_due is not None
        assert _last_step(city, incident_id)[2] == "register"

        # 派遣 to the case's grid with a deadline shorter than the category's limit: the form
        # offers the limit and refuses a later one.
        form = one.open_form("dispatch")
        assert one.page.input_value(f"{form} [name=grid_code]") == grid
        limit = one.page.input_value(f"{form} [name=due_at]")
        assert one.page.get_attribute(f"{form} [name=due_at]", "max") == limit
        shorter = datetime.strptime(limit, "%Y-%m-%dT%H:%M") - timedelta(hours=2)
        one.page.fill(f"{form} [name=due_at]", shorter.strftime("%Y-%m-%dT%H:%M"))
        one.page.fill(f"{form} [name=note]", "请尽快处置")
        one.page.click(f"{form} button[type=submit]")
        one.page.wait_for_selector("#gg-case .gg-case[data-status='dispatched']", timeout=20_000)
        status, grid_after, _, due = _status(city, incident_id)
        assert (status, grid_after) == ("dispatched", grid)
        assert due == shorter.replace(tzinfo=ZoneInfo("Asia/Shanghai"))

        # 处置反馈 by the grid worker, on /command (his queue is his grid's).
        worker.open_case(code)
        assert worker.actions() == ["start", "report_back", "request_extension"]
        # With a photo from his phone (uploaded as it is chosen, attached by its id).
        form = worker.open_form("report_back")
        worker.page.set_input_files(
            f"{form} .gg-photo-picker input[type=file]",
            files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}],
        )
        photo = f"{form} .gg-photo-list li[data-media-id]"
        worker.page.wait_for_selector(f"{photo} img", timeout=20_000)
        media_id = int(worker.page.get_attribute(photo, "data-media-id") or 0)
        worker.page.fill(f"{form} [name=note]", "已清理并加装临时盖板")
        worker.page.click(f"{form} button[type=submit]")
        worker.page.wait_for_selector("#gg-case .gg-case[data-status='handled']", timeout=20_000)
        assert _last_step(city, incident_id) == (
            "dispatched",
            "handled",
            "report_back",
            "grid_worker:grid_one",
            "已清理并加装临时盖板",
            [media_url(media_id)],
        )
        # Whoever handled it does not verify it: the worker is offered nothing now.
        assert worker.page.locator("#gg-case .gg-no-actions").count() == 1
        assert "指挥中心" in worker.page.inner_text("#gg-case .gg-verifier")

        # 核查 by the centre. Both operators open the case; op_one is slower.
        one.page.wait_for_selector("#gg-case .gg-case[data-status='handled']", timeout=20_000)
        two.open_case(code)
        assert one.actions() == two.actions() == ["verify", "rework"]
        one.open_form("verify")
        two.take("rework", "in_progress", note="盖板不牢，需更换井盖")
        assert _last_step(city, incident_id)[:5] == (
            "handled",
            "in_progress",
            "rework",
            "command_operator:op_two",
            "盖板不牢，需更换井盖",
        )
        assert city.sql("SELECT rework_count FROM incident WHERE id = %s", (incident_id,)) == [(1,)]
        # op_one's 核查通过 comes too late: the 409's reason, and the case as it is now.
        one.page.wait_for_selector("#gg-case .gg-case-stale", timeout=20_000)
        one.page.click("#gg-case form.gg-action-form button[type=submit]")
        one.page.wait_for_selector("#gg-case .gg-case[data-status='in_progress']", timeout=20_000)
        error = one.page.inner_text("#gg-case .gg-case-error")
        assert "409" in error and "in_progress" in error, error
        assert city.sql(
            "SELECT count(*) FROM incident_transition WHERE incident_id = %s AND action = 'verify'",
            (incident_id,),
        ) == [(0,)]

        # The worker sees the send-back live and reports back again.
        worker.page.wait_for_selector(
            "#gg-case .gg-case[data-status='in_progress']", timeout=20_000
        )
        assert worker.actions() == ["report_back", "request_extension"]
        worker.take("report_back", "handled", note="已更换新井盖")
        assert _last_step(city, incident_id)[:4] == (
            "in_progress",
            "handled",
            "report_back",
            "grid_worker:grid_one",
        )

        # 核查通过 (op_two), then 结案 (op_one).
        two.page.wait_for_selector("#gg-case .gg-case[data-status='handled']", timeout=20_000)
        two.take("verify", "verified", note="现场核查合格")
        assert _last_step(city, incident_id)[:4] == (
            "handled",
            "verified",
            "verify",
            "command_operator:op_two",
        )
        one.page.wait_for_selector("#gg-case .gg-case[data-status='verified']", timeout=20_000)
        assert one.actions() == ["close", "rework"]
        one.take("close", "closed", note="结案")
        ((status, closed_at),) = city.sql(
            "SELECT status, closed_at FROM incident WHERE id = %s", (incident_id,)
        )
        assert status == "closed" and closed_at is not None
        assert city.sql(
            "SELECT action FROM incident_transition WHERE incident_id = %s ORDER BY at, id",
            (incident_id,),
        ) == [
            (None,),
            ("accept",),
            ("register",),
            ("dispatch",),
            ("report_back",),
            ("rework",),
            ("report_back",),
            ("verify",),
            ("close",),
        ]
        # The timeline names every step by its action.
        assert one.page.locator("#gg-case .gg-timeline li[data-action]").count() == 8

        # 评价: the reporter opens his signed rating link on his phone and rates the case (once).
        ((reported_at,),) = city.sql(
            "SELECT reported_at FROM incident WHERE id = %s", (incident_id,)
        )
        reporter = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        try:
            phone = reporter.new_page()
            phone.goto(city.server.url + rating_path(incident_id, reported_at))
            phone.click("label[for='gg-star-5']")
            phone.fill("#gg-comment", "处理及时，很满意")
            phone.click(".gg-rate-form button[type=submit]")
            phone.wait_for_selector(".gg-your-rating[data-rating='5']", timeout=20_000)
        finally:
            reporter.close()
        assert city.sql("SELECT status, rating FROM incident WHERE id = %s", (incident_id,)) == [
            ("evaluated", 5)
        ]
        assert city.sql(
            "SELECT actor, note FROM incident_transition"
            " WHERE incident_id = %s AND to_status = 'evaluated'",
            (incident_id,),
        ) == [("reporter:signed-link", "处理及时，很满意")]
        ARTIFACTS.mkdir(exist_ok=True)
        one.page.screenshot(path=str(ARTIFACTS / f"command_journey_{width}.png"))
        for who in (one, two, worker):
            assert who.errors == [], who.errors
        assert two.failed == [] and worker.failed == [], (two.failed, worker.failed)
        assert [status for status, _ in one.failed] == [409], one.failed
    finally:
        for who in (one, two, worker):
            who.close()
