"""Petitions and mediation in headless Chromium, as people do it, then the database is read:

- a resident on his phone (390×844) submits a 诉求; a community secretary assigns it and a grid
  worker answers it on /command/petitions; the resident rates the answer;
- a grid worker registers a dispute on /mediation, takes it on and escalates it; the community
  secretary records a session and the agreement (调解协议).

Runs against its own committed demo city and live server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from gis.accounts import create_resident_account, create_user
from gis.settings import normalise_database_url
from tests.conftest import LiveServer, create_test_database, drop_test_database, owner_url
from tests.e2e.browser_helpers import PHONE, chromium, horizontal_overflow, sign_in

PASSWORD = "resident-e2e-Password-1"

pytestmark = pytest.mark.browser


class City:
    def __init__(self, server: LiveServer, url: str, grid: str) -> None:
        self.server, self.url, self.grid = server, url, grid

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[City]:
    from data.demo import load_demo

    url = create_test_database(server_url, "resident_e2e")
    with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
        load_demo(conn, households=2_000)
        row = conn.execute(
            "SELECT g.code, min(h.code) FROM area g JOIN building b ON b.grid_id = g.id"
            " JOIN household h ON h.building_id = b.id WHERE g.level = 'grid'"
            " AND g.valid_to IS NULL GROUP BY g.code ORDER BY g.code LIMIT 1"
        ).fetchone()
        assert row is not None
        conn.commit()
    grid, household = row
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        create_resident_account(session, "res_wang", PASSWORD, household)
        create_user(session, "comm_sec", PASSWORD, "community_secretary", grid[:12])
        create_user(session, "grid_wrk", PASSWORD, "grid_worker", grid)
        session.commit()
    server = LiveServer(url)
    yield City(server, url, grid)
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


def test_a_resident_submits_staff_answer_and_the_resident_rates(city: City) -> None:
    base = city.server.url
    with chromium() as browser:
        phone = browser.new_context(**PHONE)
        page = phone.new_page()
        sign_in(page, base, "res_wang", PASSWORD, "/login?next=/resident")
        page.goto(base + "/resident")
        expect(page.locator("h1")).to_have_text("居民诉求")
        page.select_option("select[name=petition_type]", "complaint")
        page.select_option("select[name=subject]", "环境卫生")
        page.fill("input[name=title]", "楼下垃圾桶满溢")
        page.fill("textarea[name=description]", "连续三天没有清运，气味很大。")
        page.click("#gg-petition-form button[type=submit]")
        expect(page.locator("#gg-message")).to_contain_text("已提交")
        assert horizontal_overflow(page) == 0
        code = city.sql("SELECT code FROM petition WHERE title = '楼下垃圾桶满溢'")[0][0]
        expect(page.locator(f'article[data-code="{code}"]')).to_contain_text("已提交")

        staff = browser.new_context()
        desk = staff.new_page()
        sign_in(desk, base, "comm_sec", PASSWORD, "/login?next=/command/petitions")
        desk.goto(base + "/command/petitions")
        desk.locator(f'tr[data-code="{code}"] button').click()
        expect(desk.locator("#gg-petition-detail")).to_have_attribute("data-code", code)
        desk.fill("#gg-petition-detail input[name=assigned_to]", "网格员")
        desk.select_option("#gg-petition-detail select[name=level]", "grid")
        desk.click("#gg-petition-detail button[data-action=assign]")
        expect(desk.locator("#gg-message")).to_contain_text("办理中")

        worker_ctx = browser.new_context()
        worker = worker_ctx.new_page()
        sign_in(worker, base, "grid_wrk", PASSWORD, "/login?next=/command/petitions")
        worker.goto(base + "/command/petitions")
        worker.locator(f'tr[data-code="{code}"] button').click()
        worker.fill("#gg-petition-detail textarea[name=answer]", "已通知保洁公司今日清运。")
        worker.click("#gg-petition-detail button[data-action=answer]")
        expect(worker.locator("#gg-message")).to_contain_text("已答复")

        page.reload()
        card = page.locator(f'article[data-code="{code}"]')
        expect(card.locator(".gg-answer")).to_contain_text("已通知保洁公司今日清运。")
        card.locator('.gg-stars button[data-stars="4"]').click()
        card.locator("textarea[name=comment]").fill("处理及时")
        card.locator(".gg-rate-submit").click()
        expect(page.locator("#gg-message")).to_contain_text("已评价")
    status, rating, comment, answer = city.sql(
        "SELECT status, rating, rating_comment, answer FROM petition WHERE code = %s", (code,)
    )[0]
    assert (status, rating, comment, answer) == ("rated", 4, "处理及时", "已通知保洁公司今日清运。")
    actions = [
        r[0]
        for r in city.sql(
            "SELECT t.action FROM petition_transition t JOIN petition p ON p.id = t.petition_id"
            " WHERE p.code = %s ORDER BY t.id",
            (code,),
        )
    ]
    assert actions == ["submit", "assign", "answer", "rate"]


def test_a_dispute_goes_from_grid_to_community_mediation_and_ends_in_an_agreement(
    city: City,
) -> None:
    base = city.server.url
    with chromium() as browser:
        worker = browser.new_context().new_page()
        sign_in(worker, base, "grid_wrk", PASSWORD, "/login?next=/mediation")
        worker.goto(base + "/mediation")
        worker.select_option("select[name=dispute_type]", "邻里纠纷")
        worker.fill("textarea[name=summary]", "楼上装修噪音影响休息，双方争执。")
        expect(worker.locator("input[name=grid_code]")).to_have_value(city.grid)
        worker.fill("input[name=applicant]", "周一")
        worker.fill("input[name=respondent]", "吴二")
        worker.click("#gg-dispute-form button[type=submit]")
        detail = worker.locator("#gg-dispute-detail")
        expect(detail).to_have_attribute("data-status", "registered")
        code = detail.get_attribute("data-code")
        assert code
        worker.fill("#gg-dispute-detail input[name=mediator]", "网格调解员周")
        worker.click("#gg-dispute-detail button[data-action=start]")
        expect(detail).to_have_attribute("data-status", "mediating")
        worker.fill("#gg-dispute-detail input[name=note]", "双方分歧较大，提交社区调委会")
        worker.click("#gg-dispute-detail button[data-action=escalate]")
        expect(detail).to_have_attribute("data-level", "community")

        secretary = browser.new_context().new_page()
        sign_in(secretary, base, "comm_sec", PASSWORD, "/login?next=/mediation")
        secretary.goto(base + "/mediation")
        secretary.locator(f'tr[data-code="{code}"] button').click()
        box = secretary.locator("#gg-dispute-detail")
        expect(box).to_have_attribute("data-level", "community")
        secretary.select_option("#gg-dispute-detail select[name=outcome]", "agreed")
        secretary.fill("#gg-dispute-detail input[name=session_mediator]", "社区调委会")
        secretary.click("#gg-dispute-detail button[data-action=session]")
        # The recorded session (not the outcome picker, which says 达成一致 before it is sent):
        # the detail is redrawn from the answer, so the terms are typed after it.
        expect(box.locator("ol li", has_text="社区调委会 达成一致")).to_have_count(1)
        secretary.fill("#gg-dispute-detail textarea[name=terms]", "装修限定在工作日9至18时。")
        secretary.click("#gg-dispute-detail button[data-action=agree]")
        expect(box).to_have_attribute("data-status", "agreed")
        expect(box.locator(".gg-agreement")).to_contain_text("装修限定在工作日9至18时。")
    status, level, outcome = city.sql(
        "SELECT status, level, outcome FROM dispute WHERE code = %s", (code,)
    )[0]
    assert (status, level, outcome) == ("agreed", "community", "agreement")
    agreement = city.sql(
        "SELECT a.level, a.terms FROM dispute_agreement a JOIN dispute d ON d.id = a.dispute_id"
        " WHERE d.code = %s",
        (code,),
    )
    assert agreement == [("community", "装修限定在工作日9至18时。")]
    levels = city.sql(
        "SELECT t.action, t.level FROM dispute_transition t JOIN dispute d ON d.id = t.dispute_id"
        " WHERE d.code = %s ORDER BY t.id",
        (code,),
    )
    assert levels == [
        ("register", "grid"),
        ("start", "grid"),
        ("escalate", "community"),
        ("agree", "community"),
    ]
    parties = city.sql(
        "SELECT side, name FROM dispute_party p JOIN dispute d ON d.id = p.dispute_id"
        " WHERE d.code = %s ORDER BY side",
        (code,),
    )
    assert parties == [("applicant", "周一"), ("respondent", "吴二")]
