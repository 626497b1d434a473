"""The grid workbench on a phone (390×844, touch) in headless Chromium, checked in the database.

Runs against its own committed database and live server (the steps write cases and audit rows).
A grid chief signs in and lands on his grid; the residents list is masked until he states a
purpose, and the unmasked read is in the audit log; the party organisations listed are exactly
those the grid owns; a grid worker takes a dispatched case and reports back with a note and a
photo, and the chief sees its new state; a report at the phone's (simulated) GPS position lands
on that point and grid; nothing scrolls sideways and every control is a 44 px tap target; the
print layout puts the whole grid map, legend, scale bar, north arrow and staff board on one A4
landscape page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.incidents import intake, transitions
from gis.masking import mask_name
from gis.scope import Viewer
from gis.settings import normalise_database_url
from gis.special_groups import LABELS_ZH
from tests.conftest import LiveServer, create_test_database, drop_test_database, owner_url
from tests.e2e.browser_helpers import (
    PHONE,
    chromium,
    horizontal_overflow,
    sign_in,
    small_tap_targets,
)
from tests.gis.media.photos import jpeg_with_gps

PASSWORD = "grid-e2e-Password-1"
PURPOSE = "入户走访"
TAP_TARGETS = (
    ".gg-bar a, .gg-bar button, #gg-panel button:not([disabled]), #gg-panel input, "
    "#gg-panel select, #gg-panel textarea"
)

pytestmark = pytest.mark.browser


@dataclass
class Workbench:
    server: LiveServer
    url: str
    grid: str
    case_id: int
    case_code: str

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def bench(server_url: str) -> Iterator[Workbench]:
    from data.demo import load_demo

    url = create_test_database(server_url, "grid_e2e")
    with psycopg.connect(owner_url(url)) as conn:
        load_demo(conn, households=3_000)
        conn.commit()
    with psycopg.connect(url) as conn:
        # A grid with its own branch, building groups and people in special groups.
        grid, lon, lat, district = conn.execute(
            """
            SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)),
                   g.district_code
            FROM area g
            WHERE g.level = 'grid' AND g.valid_to IS NULL
              AND EXISTS (SELECT 1 FROM party_org o WHERE o.area_id = g.id AND o.level = 'grid')
              AND EXISTS (SELECT 1 FROM party_org o JOIN building b ON b.id = o.building_id
                          WHERE b.grid_id = g.id)
              AND EXISTS (SELECT 1 FROM resident r JOIN household h ON h.id = r.household_id
                          JOIN building b ON b.id = h.building_id
                          WHERE b.grid_id = g.id AND r.special_groups <> '{}')
            ORDER BY g.code LIMIT 1
            """
        ).fetchone()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        operator = Viewer("op_grid_e2e", "command_operator", district)
        created = intake.create_incident(
            session,
            operator,
            intake.IncidentInput(
                category="市容环境",
                kind=None,
                description="工作台：楼道堆放杂物",
                lon=lon,
                lat=lat,
                source="hotline",
            ),
        )
        case_id = int(created.incident["id"])
        for step in (
            transitions.TransitionInput(to="accepted"),
            transitions.TransitionInput(to="registered"),
            transitions.TransitionInput(to="dispatched", grid_code=grid),
        ):
            transitions.transition(session, operator, case_id, step)
        create_user(session, "chief_e2e", PASSWORD, "grid_chief", grid)
        create_user(session, "worker_e2e", PASSWORD, "grid_worker", grid)
        session.commit()
    with psycopg.connect(url) as conn:
        # The accounts are the grid's staff: the chief, and the worker the case was routed to.
        conn.execute(
            "UPDATE app_user SET person_id = (SELECT gs.person_id FROM grid_staff gs JOIN area a"
            " ON a.id = gs.area_id WHERE a.code = %s AND gs.role = 'chief' LIMIT 1)"
            " WHERE username = 'chief_e2e'",
            (grid,),
        )
        conn.execute(
            "UPDATE app_user SET person_id = (SELECT assignee_id FROM incident WHERE id = %s)"
            " WHERE username = 'worker_e2e'",
            (case_id,),
        )
        conn.commit()
    server = LiveServer(url)
    yield Workbench(server, url, grid, case_id, str(created.incident["code"]))
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Phone:
    """A signed-in phone on the workbench, recording page errors."""

    def __init__(self, browser: Any, bench: Workbench, username: str, **context: Any) -> None:
        self.context = browser.new_context(**PHONE, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        sign_in(self.page, bench.server.url, username, PASSWORD)
        self.page.wait_for_url(f"**/grid/{bench.grid}")
        self.page.wait_for_selector("#gg-staff li", timeout=30_000)

    def close(self) -> None:
        self.context.close()


def test_the_chief_lands_on_his_grid_reads_residents_masked_and_unmasks_with_a_purpose(
    browser: Any, bench: Workbench
) -> None:
    phone = Phone(browser, bench, "chief_e2e")
    page = phone.page
    try:
        assert page.get_attribute(".gg-bar a.gg-home", "href") == f"/grid/{bench.grid}"
        assert page.inner_text(".gg-bar a.gg-home") == "我的网格"
        # Staff from the database: the chief, the workers and the instructor.
        roles = page.eval_on_selector_all("#gg-staff li", "els => els.map(e => e.dataset.role)")
        ((staff,),) = bench.sql(
            "SELECT count(*) FROM grid_staff gs JOIN area a ON a.id = gs.area_id WHERE a.code = %s",
            (bench.grid,),
        )
        assert len(roles) == staff and {"chief", "worker", "instructor"} <= set(roles)

        # The party organisations of this grid, and only those (by ownership in SQL).
        page.wait_for_selector("#gg-orgs li", timeout=20_000)
        listed = set(
            page.eval_on_selector_all("#gg-orgs li", "els => els.map(e => e.dataset.code)")
        )
        owned = {
            code
            for (code,) in bench.sql(
                """
                SELECT o.code FROM party_org o
                LEFT JOIN area a ON a.id = o.area_id
                LEFT JOIN building b ON b.id = o.building_id
                WHERE a.code = %s OR b.grid_id = (SELECT id FROM area WHERE code = %s
                      AND valid_to IS NULL)
                UNION  -- 党员中心户: a member household's role, listed at its building
                SELECT c.code FROM party_central_household c
                JOIN household h ON h.id = c.household_id
                JOIN building hb ON hb.id = h.building_id
                WHERE hb.grid_id = (SELECT id FROM area WHERE code = %s AND valid_to IS NULL)
                """,
                (bench.grid, bench.grid, bench.grid),
            )
        }
        assert listed == owned and any(code.startswith("DZ") for code in listed)

        # Buildings with their households, as the database counts them.
        page.wait_for_selector("#gg-buildings li", timeout=20_000)
        shown = dict(
            page.eval_on_selector_all(
                "#gg-buildings li",
                "els => els.map(e => [e.dataset.code, +e.querySelector('.gg-count').textContent])",
            )
        )
        counted = dict(
            bench.sql(
                "SELECT b.code, count(h.id)::int FROM building b JOIN area g ON g.id = b.grid_id"
                " LEFT JOIN household h ON h.building_id = b.id WHERE g.code = %s"
                " AND b.valid_to IS NULL GROUP BY b.code",
                (bench.grid,),
            )
        )
        assert shown == counted

        # Residents: masked first (the head of the first household by code).
        page.wait_for_selector("#gg-residents li.gg-household", timeout=20_000)
        first = page.get_attribute("#gg-residents li.gg-household", "data-code")
        ((head,),) = bench.sql(
            "SELECT r.name FROM resident r JOIN household h ON h.id = r.household_id"
            " WHERE h.code = %s ORDER BY (r.relation = '户主') DESC, r.id LIMIT 1",
            (first,),
        )
        head_shown = page.inner_text("#gg-residents li.gg-household .gg-head-name")
        assert head_shown == mask_name(head) and head_shown != head
        assert horizontal_overflow(page) <= 0
        assert small_tap_targets(page, TAP_TARGETS) == []

        # Unmasking asks for a purpose first; the read is then audited with it.
        before = bench.sql(
            "SELECT count(*) FROM audit_log WHERE username = 'chief_e2e'"
            " AND action = 'read.unmasked'"
        )[0][0]
        page.tap("#gg-residents .gg-unmask")
        page.wait_for_selector("#gg-residents form.gg-purpose-form")
        assert page.locator("#gg-residents li.gg-household.gg-masked").count() > 0
        page.tap(f"#gg-residents .gg-purpose-choice:text-is('{PURPOSE}')")
        page.tap("#gg-residents form.gg-purpose-form button[type=submit]")
        page.wait_for_selector("#gg-residents .gg-unmasked-note")
        page.wait_for_function(
            "name => document.querySelector('#gg-residents li.gg-household .gg-head-name')"
            ".textContent === name",
            arg=head,
            timeout=20_000,
        )
        assert page.locator("#gg-residents li.gg-household.gg-masked").count() == 0
        rows = bench.sql(
            "SELECT target, purpose, subjects FROM audit_log WHERE username = 'chief_e2e'"
            " AND action = 'read.unmasked' ORDER BY id",
        )
        assert len(rows) == before + 1
        target, purpose, subjects = rows[-1]
        assert (target, purpose) == (f"households:{bench.grid}", PURPOSE)
        assert f"household:{first}" in subjects

        # One household's residents, unmasked with the same purpose (and audited again).
        page.tap(f"#gg-residents button.gg-household-open[data-code='{first}']")
        page.wait_for_selector("#gg-residents table.gg-residents .gg-resident-name")
        assert head in page.inner_text("#gg-residents table.gg-residents")
        ((detail,),) = bench.sql(
            "SELECT count(*) FROM audit_log WHERE username = 'chief_e2e' AND purpose = %s"
            " AND target = %s",
            (PURPOSE, f"household:{first}"),
        )
        assert detail == 1

        # Special groups are flagged and filterable: the filter keeps exactly the households
        # with someone in the group.
        ((group, expected),) = bench.sql(
            """
            SELECT gr, count(DISTINCT h.id) FROM resident r, unnest(r.special_groups) gr,
                   household h, building b, area g
            WHERE h.id = r.household_id AND b.id = h.building_id AND g.id = b.grid_id
              AND g.code = %s
            GROUP BY gr ORDER BY count(DISTINCT h.id) DESC, gr LIMIT 1
            """,
            (bench.grid,),
        )
        page.select_option("#gg-residents select[name=group]", group)
        page.wait_for_function(
            "n => { const e = document.querySelector('#gg-residents .gg-total');"
            " return !!e && e.textContent.includes(' ' + n + ' '); }",
            arg=expected,
            timeout=20_000,
        )
        chips = page.eval_on_selector_all(
            "#gg-residents li.gg-household",
            "(els, g) => els.map(e => !!e.querySelector(`.gg-group[data-group='${g}']`))",
            group,
        )
        assert chips and all(chips)
        assert LABELS_ZH[group] in page.inner_text("#gg-residents li.gg-household")
        assert phone.errors == []
    finally:
        phone.close()


def test_the_worker_takes_his_case_and_reports_back_and_the_chief_sees_it(
    browser: Any, bench: Workbench
) -> None:
    phone = Phone(browser, bench, "worker_e2e")
    page = phone.page
    row = f"#gg-incidents li.gg-case-row[data-code='{bench.case_code}']"
    try:
        page.wait_for_selector(row, timeout=20_000)
        assert page.locator(f"{row} .gg-mine").count() == 1  # routed to him
        assert horizontal_overflow(page) <= 0
        # 签收: the step the API allows from "dispatched" for his role.
        page.tap(f"{row} button.gg-action[data-action='start']")
        page.fill(f"{row} form.gg-action-form textarea[name=note]", "已签收，马上到场")
        assert small_tap_targets(page, TAP_TARGETS) == []
        page.tap(f"{row} form.gg-action-form button[type=submit]")
        page.wait_for_selector(f"{row}[data-status='in_progress']", timeout=20_000)
        assert bench.sql("SELECT status FROM incident WHERE id = %s", (bench.case_id,)) == [
            ("in_progress",)
        ]
        # 处置反馈 with a note and a photo from the phone (uploaded as chosen, attached by id).
        page.tap(f"{row} button.gg-action[data-action='report_back']")
        form = f"{row} form.gg-action-form"
        page.fill(f"{form} textarea[name=note]", "杂物已清理，楼道畅通")
        page.set_input_files(
            f"{form} .gg-photo-picker input[type=file]",
            files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}],
        )
        page.wait_for_selector(f"{form} .gg-photo-list li[data-media-id] img", timeout=20_000)
        media_id = int(page.get_attribute(f"{form} .gg-photo-list li", "data-media-id") or 0)
        page.tap(f"{form} button[type=submit]")
        page.wait_for_selector(f"{row}[data-status='handled']", timeout=20_000)
        assert bench.sql(
            "SELECT m.id, t.to_status, t.note FROM media m"
            " JOIN incident_transition t ON t.id = m.transition_id WHERE m.incident_id = %s",
            (bench.case_id,),
        ) == [(media_id, "handled", "杂物已清理，楼道畅通")]
        history = bench.sql(
            "SELECT from_status, to_status, actor, note FROM incident_transition"
            " WHERE incident_id = %s AND actor = 'grid_worker:worker_e2e' ORDER BY id",
            (bench.case_id,),
        )
        assert history == [
            ("dispatched", "in_progress", "grid_worker:worker_e2e", "已签收，马上到场"),
            ("in_progress", "handled", "grid_worker:worker_e2e", "杂物已清理，楼道畅通"),
        ]
        assert phone.errors == []
    finally:
        phone.close()
    chief = Phone(browser, bench, "chief_e2e")
    try:
        chief.page.wait_for_selector(f"{row}[data-status='handled']", timeout=20_000)
        assert "处置反馈" in chief.page.inner_text(f"{row} .gg-case-status")
        # Separation of duties: the grid that handled the case neither verifies nor closes it
        # (the community or the centre does), so the chief is offered no step on it.
        offered = chief.page.eval_on_selector_all(
            f"{row} button.gg-action[data-action]", "els => els.map(e => e.dataset.action)"
        )
        assert offered == []
    finally:
        chief.close()


def _worker_at_a_building(browser: Any, bench: Workbench, last: bool) -> tuple[Phone, float, float]:
    """The worker's phone, its (simulated) GPS on the first or last building of his grid."""
    ((lon, lat),) = bench.sql(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM building b"
        " WHERE b.grid_id = (SELECT id FROM area WHERE code = %s AND valid_to IS NULL)"
        f" ORDER BY b.code {'DESC' if last else 'ASC'} LIMIT 1) x",
        (bench.grid,),
    )
    phone = Phone(
        browser,
        bench,
        "worker_e2e",
        geolocation={"latitude": lat, "longitude": lon, "accuracy": 8},
        permissions=["geolocation"],
    )
    return phone, lon, lat


def test_a_report_at_the_phones_gps_position_lands_on_that_point_and_grid(
    browser: Any, bench: Workbench
) -> None:
    phone, lon, lat = _worker_at_a_building(browser, bench, last=True)
    page = phone.page
    try:
        page.tap("#gg-report .gg-use-gps")
        page.wait_for_selector("#gg-report .gg-position[data-lat]", timeout=20_000)
        page.select_option("#gg-report select[name=category]", "公用设施")
        page.fill("#gg-report textarea[name=description]", "工作台定位上报：井盖破损")
        assert horizontal_overflow(page) <= 0
        page.tap("#gg-report button[type=submit]")
        page.wait_for_selector("#gg-report .gg-report-result.gg-case-ok", timeout=20_000)
        code = page.get_attribute("#gg-report .gg-report-result", "data-code")
        ((x, y, grid, source, kind),) = bench.sql(
            "SELECT ST_X(i.geom), ST_Y(i.geom), g.code, i.source, i.kind FROM incident i"
            " JOIN area g ON g.id = i.grid_id WHERE i.code = %s",
            (code,),
        )
        assert abs(x - lon) < 1e-7 and abs(y - lat) < 1e-7
        assert (grid, source, kind) == (bench.grid, "grid_worker", "component")
        # The new case joins the grid's list.
        page.wait_for_selector(f"#gg-incidents li.gg-case-row[data-code='{code}']")
        assert phone.errors == []
    finally:
        phone.close()


def test_a_report_filed_offline_is_filed_once_when_back_online(
    browser: Any, bench: Workbench
) -> None:
    """The workbench is installable: offline, a report waits in the outbox (visible) with its
    Idempotency-Key and is filed exactly once when the phone is back online."""
    phone, _, _ = _worker_at_a_building(browser, bench, last=False)
    page = phone.page
    description = "离线上报：楼道堆放杂物"
    try:
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)
        page.tap("#gg-report .gg-use-gps")
        page.wait_for_selector("#gg-report .gg-position[data-lat]", timeout=20_000)
        phone.context.set_offline(True)
        page.select_option("#gg-report select[name=category]", "公用设施")
        page.fill("#gg-report textarea[name=description]", description)
        page.tap("#gg-report button[type=submit]")
        page.wait_for_selector("#gg-report .gg-report-result.gg-case-queued", timeout=10_000)
        assert "待发送 1 条" in page.inner_text(".gg-outbox")
        assert bench.sql(
            "SELECT count(*) FROM incident WHERE description = %s", (description,)
        ) == [(0,)]
        phone.context.set_offline(False)
        page.wait_for_selector("#gg-report .gg-report-result.gg-case-ok", timeout=30_000)
        code = page.get_attribute("#gg-report .gg-report-result", "data-code")
        rows = bench.sql("SELECT code, source FROM incident WHERE description = %s", (description,))
        assert rows == [(code, "grid_worker")]
        assert page.evaluate("window.gridgov.outbox.pending().length") == 0
        assert phone.errors == []
    finally:
        phone.close()


def _dispatched_case(bench: Workbench, description: str) -> tuple[int, str]:
    """A new case dispatched to the bench's grid (routed to the worker), committed."""
    ((lon, lat, district),) = bench.sql(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), district_code"
        " FROM area WHERE code = %s AND valid_to IS NULL",
        (bench.grid,),
    )
    engine = create_engine(normalise_database_url(bench.url), poolclass=pool.NullPool)
    try:
        with Session(engine) as session:
            operator = Viewer("op_grid_e2e", "command_operator", district)
            created = intake.create_incident(
                session,
                operator,
                intake.IncidentInput(
                    category="市容环境",
                    kind=None,
                    description=description,
                    lon=lon,
                    lat=lat,
                    source="hotline",
                ),
            )
            case_id = int(created.incident["id"])
            for step in (
                transitions.TransitionInput(to="accepted"),
                transitions.TransitionInput(to="registered"),
                transitions.TransitionInput(to="dispatched", grid_code=bench.grid),
            ):
                transitions.transition(session, operator, case_id, step)
            session.commit()
    finally:
        engine.dispose()
    return case_id, str(created.incident["code"])


def test_case_steps_and_a_feedback_photo_taken_offline_are_replayed_once(
    browser: Any, bench: Workbench
) -> None:
    """Offline, the worker takes a dispatched case (签收) and records 处置反馈 with a note and a
    photo: both steps and the photo wait in the outbox (the case shows them as waiting, the
    badge counts them); back online they are replayed in order, exactly once, even when the
    queue is sent a second time."""
    case_id, code = _dispatched_case(bench, "离线处置：楼道灯不亮")
    phone = Phone(browser, bench, "worker_e2e")
    page = phone.page
    row = f"#gg-incidents li.gg-case-row[data-code='{code}']"
    try:
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)
        page.wait_for_selector(row, timeout=20_000)
        phone.context.set_offline(True)
        page.tap(f"{row} button.gg-action[data-action='start']")
        page.fill(f"{row} form.gg-action-form textarea[name=note]", "离线签收")
        page.tap(f"{row} form.gg-action-form button[type=submit]")
        # Shown as the step leaves it, with the step waiting: 处置反馈 is offered next.
        page.wait_for_selector(f"{row}[data-status='in_progress'] .gg-step-queued")
        page.tap(f"{row} button.gg-action[data-action='report_back']")
        form = f"{row} form.gg-action-form"
        page.fill(f"{form} textarea[name=note]", "灯已更换（离线记录）")
        page.set_input_files(
            f"{form} .gg-photo-picker input[type=file]",
            files=[{"name": "灯.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}],
        )
        page.wait_for_selector(f"{form} .gg-photo-list li[data-queued] img", timeout=20_000)
        assert small_tap_targets(page, TAP_TARGETS) == []
        page.tap(f"{form} button[type=submit]")
        page.wait_for_selector(f"{row}[data-status='handled']")
        assert page.locator(f"{row} .gg-step-queued").count() == 2
        assert "待发送 3 条" in page.inner_text(".gg-outbox")
        queued = page.evaluate("localStorage.getItem('gridgov.outbox.worker_e2e')")
        assert bench.sql("SELECT status FROM incident WHERE id = %s", (case_id,)) == [
            ("dispatched",)
        ]
        assert horizontal_overflow(page) <= 0

        phone.context.set_offline(False)
        page.wait_for_function(
            "() => window.gridgov.outbox.pending().length === 0", timeout=30_000, polling=500
        )
        page.wait_for_selector(f"{row}[data-status='handled']", timeout=20_000)
        assert page.locator(f"{row} .gg-step-queued").count() == 0
        # An answer lost on the way back: the phone replays the whole queue.
        page.evaluate(
            "q => { localStorage.setItem('gridgov.outbox.worker_e2e', q);"
            " return window.gridgov.outbox.flush(); }",
            queued,
        )
        page.wait_for_function(
            "() => window.gridgov.outbox.pending().length === 0", timeout=30_000, polling=500
        )
        assert page.evaluate("window.gridgov.outbox.failed()") == []
        assert phone.errors == []
    finally:
        phone.close()
    history = bench.sql(
        "SELECT from_status, to_status, note FROM incident_transition"
        " WHERE incident_id = %s AND actor = 'grid_worker:worker_e2e' ORDER BY id",
        (case_id,),
    )
    assert history == [
        ("dispatched", "in_progress", "离线签收"),
        ("in_progress", "handled", "灯已更换（离线记录）"),
    ]
    photos = bench.sql(
        "SELECT t.to_status, m.client_id IS NOT NULL FROM media m"
        " JOIN incident_transition t ON t.id = m.transition_id WHERE m.incident_id = %s",
        (case_id,),
    )
    assert photos == [("handled", True)]
    assert bench.sql(
        "SELECT count(*) FROM media m JOIN app_user u ON u.id = m.uploaded_by"
        " WHERE u.username = 'worker_e2e' AND m.client_id IS NOT NULL"
    ) == [(1,)]


def test_the_print_layout_puts_the_whole_grid_map_and_staff_on_one_a4_landscape_page(
    browser: Any, bench: Workbench
) -> None:
    # A4 landscape at 96 dpi, less the 8 mm margins: 281 × 194 mm.
    mm = 96 / 25.4
    width, height = round(281 * mm), round(194 * mm)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        sign_in(page, bench.server.url, "chief_e2e", PASSWORD)
        page.wait_for_url(f"**/grid/{bench.grid}")
        page.wait_for_selector("#gg-staff li", timeout=30_000)
        page.wait_for_selector("path.gg-this-grid", timeout=30_000)
        page.emulate_media(media="print")
        page.wait_for_timeout(300)
        box = page.eval_on_selector(".folium-map", "e => e.getBoundingClientRect().toJSON()")
        assert box["left"] >= 0 and box["top"] >= 0
        assert box["right"] <= width + 0.5 and box["bottom"] <= height + 0.5
        assert box["width"] > 0.6 * width  # the map, not a thumbnail
        # The whole grid lies inside the printed map box.
        outline = page.eval_on_selector(
            "path.gg-this-grid", "e => e.getBoundingClientRect().toJSON()"
        )
        assert box["left"] <= outline["left"] and outline["right"] <= box["right"]
        assert box["top"] <= outline["top"] and outline["bottom"] <= box["bottom"]
        for part in (".gg-grid-legend", ".leaflet-control-scale", ".gg-north", "#gg-staff li"):
            inside = page.eval_on_selector(
                part,
                """(e, [w, h]) => { const r = e.getBoundingClientRect();
                    return getComputedStyle(e).display !== 'none' && r.width > 0
                        && r.right <= w + 0.5 && r.bottom <= h + 0.5; }""",
                [width, height],
            )
            assert inside, part
        # Screen-only parts stay off paper: residents (personal data), forms and controls.
        for hidden in ("#gg-residents", "#gg-report", ".gg-nav"):
            assert page.eval_on_selector(hidden, "e => getComputedStyle(e).display") == "none"
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        assert _pdf_pages(pdf) == 1
    finally:
        context.close()


def _pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF written by Chromium (its page tree's /Count)."""
    counts = [int(m) for m in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf)]
    counts += [int(m) for m in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", pdf)]
    return max(counts) if counts else -1
