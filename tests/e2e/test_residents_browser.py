"""Serving residents in headless Chromium, each journey ending in the database.

- a volunteer signs up on his phone, checks in with the organiser's code, the organiser
  completes the activity on the staff desk, and the volunteer redeems the points he earned;
- staff publish a notice on the desk and a resident confirms reading it on his phone;
- a resident with his own account signs in, opens 我的社区服务 from his phone page and confirms
  a notice (the receipt is his account's);
- a resident applies for a service on his phone and the community office accepts and completes
  it on the desk, the resident seeing each step.

One committed demo city and live server for the module (the journeys write).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, pool, text
from sqlalchemy.orm import Session

from gis.accounts import create_resident_account, create_user
from gis.residents import links
from gis.settings import normalise_database_url
from tests.conftest import LiveServer, create_test_database, drop_test_database, owner_url
from tests.e2e.browser_helpers import chromium, horizontal_overflow, sign_in

PASSWORD = "residents-e2e-Password-1"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

pytestmark = pytest.mark.browser


class City:
    def __init__(self, server: LiveServer, url: str, community: str, resident: int) -> None:
        self.server, self.url, self.community, self.resident = server, url, community, resident

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(owner_url(self.url)) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            rows = cursor.fetchall() if cursor.description else []
            conn.commit()
            return rows

    def link(self) -> str:
        token = links.token(self.resident, datetime.datetime.now(datetime.UTC))
        return self.server.url + links.path(token)


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[City]:
    from data.demo import load_demo

    url = create_test_database(server_url, "residents_e2e")
    with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
        load_demo(conn, households=1_500)
        row = conn.execute(
            "SELECT r.id, g.code FROM resident r JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " WHERE r.birth_year BETWEEN 1950 AND 2000 AND NOT EXISTS (SELECT 1 FROM"
            " service_application a WHERE a.resident_id = r.id) ORDER BY g.code, r.id LIMIT 1"
        ).fetchone()
        assert row is not None
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        create_user(session, "comm_sec", PASSWORD, "community_secretary", row[1][:12])
        (household,) = session.execute(
            text(
                "SELECT h.code FROM resident r JOIN household h ON h.id = r.household_id"
                " WHERE r.id = :r"
            ),
            {"r": row[0]},
        ).one()
        create_resident_account(session, "res_own", PASSWORD, household, resident_id=row[0])
        session.commit()
    server = LiveServer(url)
    yield City(server, url, row[1][:12], int(row[0]))
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _staff(browser: Any, city: City) -> Any:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    sign_in(page, city.server.url, "comm_sec", PASSWORD)
    page.goto(city.server.url + "/residents")
    assert page.locator("h1").inner_text() == "居民服务"
    return page


def _phone(browser: Any, city: City) -> Any:
    page = browser.new_context(locale="zh-CN", **PHONE).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(city.link())
    assert page.locator("h1").inner_text() == "我的社区服务"
    assert horizontal_overflow(page) == 0
    page.errors = errors  # read by the journeys: no script error on the resident's page
    return page


def test_a_volunteer_signs_up_checks_in_earns_and_redeems(city: City, browser: Any) -> None:
    now = datetime.datetime.now(datetime.UTC)
    (team,) = city.sql(
        "SELECT id FROM volunteer_team WHERE community_code = %s LIMIT 1", (city.community,)
    )
    (activity_id, code), *_ = city.sql(
        "INSERT INTO volunteer_activity (team_id, community_code, title, place, starts_at,"
        " ends_at, capacity, hours, points, checkin_code, created_by) VALUES (%s, %s,"
        " '浏览器测试清扫', '3号楼', %s, %s, 10, 1.5, 15, '246813', 'comm_sec')"
        " RETURNING id, checkin_code",
        (
            team[0],
            city.community,
            now - datetime.timedelta(minutes=5),
            now + datetime.timedelta(hours=2),
        ),
    )
    balance = city.sql(
        "SELECT coalesce((SELECT balance_after FROM points_ledger WHERE resident_id = %s"
        " ORDER BY id DESC LIMIT 1), 0)",
        (city.resident,),
    )[0][0]
    (reward_id,), *_ = city.sql(
        "INSERT INTO points_reward (community_code, name, points, stock) VALUES (%s, '测试毛巾',"
        " %s, 1) RETURNING id",
        (city.community, balance + 15),
    )

    phone = _phone(browser, city)
    card = phone.locator(f".gg-activity[data-id='{activity_id}']")
    card.get_by_role("button", name="我要报名").click()
    card = phone.locator(f".gg-activity[data-id='{activity_id}']")
    expect(card.get_by_role("button", name="签到")).to_be_visible()
    card.get_by_placeholder("现场签到码").fill(code)
    card.get_by_role("button", name="签到").click()
    expect(phone.locator(f".gg-activity[data-id='{activity_id}'] .gg-checked")).to_be_visible()
    assert city.sql(
        "SELECT checked_in_at IS NOT NULL, via FROM activity_signup WHERE activity_id = %s"
        " AND resident_id = %s",
        (activity_id, city.resident),
    ) == [(True, "link")]
    # Nothing to redeem yet: the reward costs more than he has.
    expect(phone.locator(f".gg-reward[data-id='{reward_id}'] button")).to_have_count(0)

    desk = _staff(browser, city)
    row = desk.locator(f"#gg-staff-activities .gg-activity[data-id='{activity_id}']")
    assert row.locator(".gg-code").inner_text() == code
    row.get_by_role("button", name="完成并记积分").click()
    expect(
        desk.locator(f"#gg-staff-activities .gg-activity[data-id='{activity_id}']")
    ).to_have_attribute("data-status", "completed")
    assert city.sql(
        "SELECT kind, delta, hours, balance_after FROM points_ledger WHERE activity_id = %s"
        " AND resident_id = %s",
        (activity_id, city.resident),
    ) == [("earn", 15, 1.5, balance + 15)]

    phone.reload()
    expect(phone.locator("#gg-balance")).to_have_text(str(balance + 15))
    phone.locator(f".gg-reward[data-id='{reward_id}']").get_by_role("button", name="兑换").click()
    expect(phone.locator("#gg-balance")).to_have_text("0")
    assert city.sql(
        "SELECT kind, delta, balance_after FROM points_ledger WHERE resident_id = %s"
        " ORDER BY id DESC LIMIT 1",
        (city.resident,),
    ) == [("redeem", -(balance + 15), 0)]
    assert city.sql("SELECT stock FROM points_reward WHERE id = %s", (reward_id,)) == [(0,)]
    assert phone.errors == []


def test_staff_publish_a_notice_and_a_resident_confirms_reading_it(
    city: City, browser: Any
) -> None:
    desk = _staff(browser, city)
    form = desk.locator("#gg-publish")
    form.locator("input[name=title]").fill("小区停水通知")
    form.locator("textarea[name=body]").fill("周三9:00至12:00二次供水设备检修，请提前储水。")
    form.locator("select[name=category]").select_option("general")
    form.locator("input[name=area_code]").fill(city.community)
    form.get_by_role("button", name="发布通知").click()
    expect(desk.locator("#gg-staff-notices")).to_contain_text("小区停水通知")
    ((notice_id, area, by, group),) = city.sql(
        "SELECT id, area_code, published_by, special_group FROM notice WHERE title = %s",
        ("小区停水通知",),
    )
    assert (area, by, group) == (city.community, "comm_sec", None)
    read_count = desk.locator(f"#gg-staff-notices .gg-notice[data-id='{notice_id}'] .gg-read-count")
    assert read_count.inner_text().startswith("0/")

    phone = _phone(browser, city)
    notice = phone.locator(f"#gg-notices .gg-notice[data-id='{notice_id}']")
    expect(notice).to_contain_text("二次供水设备检修")
    notice.get_by_role("button", name="确认已读").click()
    expect(phone.locator(f"#gg-notices .gg-notice[data-id='{notice_id}'] .gg-read")).to_be_visible()
    assert city.sql(
        "SELECT resident_id, via FROM notice_receipt WHERE notice_id = %s", (notice_id,)
    ) == [(city.resident, "link")]
    desk.reload()
    expect(read_count).to_contain_text("1/")
    # The public board shows it too, on a phone.
    board = browser.new_context(locale="zh-CN", **PHONE).new_page()
    board.goto(f"{city.server.url}/communities/{city.community}/notice-board")
    expect(board.locator("#gg-board")).to_contain_text("小区停水通知")
    assert horizontal_overflow(board) == 0
    assert phone.errors == []


def test_a_resident_signed_in_with_his_account_confirms_a_notice(city: City, browser: Any) -> None:
    desk = _staff(browser, city)
    form = desk.locator("#gg-publish")
    form.locator("input[name=title]").fill("燃气入户安全检查")
    form.locator("textarea[name=body]").fill("周五全天燃气公司入户检查，请家中留人。")
    form.locator("input[name=area_code]").fill(city.community)
    form.get_by_role("button", name="发布通知").click()
    expect(desk.locator("#gg-staff-notices")).to_contain_text("燃气入户安全检查")
    ((notice_id,),) = city.sql("SELECT id FROM notice WHERE title = %s", ("燃气入户安全检查",))

    phone = browser.new_context(locale="zh-CN", **PHONE).new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(phone, city.server.url, "res_own", PASSWORD)
    phone.goto(city.server.url + "/resident")
    phone.locator("#gg-my-services").click()
    expect(phone.locator("h1")).to_have_text("我的社区服务")
    assert phone.url.endswith("/resident/services")
    assert horizontal_overflow(phone) == 0
    notice = phone.locator(f"#gg-notices .gg-notice[data-id='{notice_id}']")
    expect(notice).to_contain_text("燃气公司入户检查")
    notice.get_by_role("button", name="确认已读").click()
    expect(phone.locator(f"#gg-notices .gg-notice[data-id='{notice_id}'] .gg-read")).to_be_visible()
    assert city.sql(
        "SELECT resident_id, via FROM notice_receipt WHERE notice_id = %s", (notice_id,)
    ) == [(city.resident, "account")]
    assert errors == []


def test_a_resident_applies_for_a_service_and_the_community_completes_it(
    city: City, browser: Any
) -> None:
    phone = _phone(browser, city)
    form = phone.locator("#gg-apply")
    form.locator("select[name=service_code]").select_option("residence_certificate")
    form.locator("textarea[name=note]").fill("孩子入学需要")
    form.get_by_role("button", name="提交申请").click()
    expect(phone.locator("#gg-services .gg-application")).to_have_count(1)
    ((app_id, status, note, due, submitted),) = city.sql(
        "SELECT a.id, a.status, a.note, a.due_at, a.submitted_at FROM service_application a"
        " WHERE a.resident_id = %s",
        (city.resident,),
    )
    assert (status, note) == ("submitted", "孩子入学需要")
    assert due > submitted + datetime.timedelta(days=2)  # three working days

    desk = _staff(browser, city)
    row = desk.locator(f"#gg-staff-applications .gg-application[data-id='{app_id}']")
    assert "*" in row.locator("td").nth(1).inner_text()  # the applicant, masked on the list
    row.get_by_role("button", name="受理").click()
    row = desk.locator(f"#gg-staff-applications .gg-application[data-id='{app_id}']")
    expect(row).to_have_attribute("data-status", "accepted")
    complete = row.locator("form", has=desk.get_by_role("button", name="办结"))
    complete.locator("input[name=note]").fill("请到社区服务窗口领取")
    complete.get_by_role("button", name="办结").click()
    expect(
        desk.locator(f"#gg-staff-applications .gg-application[data-id='{app_id}']")
    ).to_have_attribute("data-status", "completed")
    assert city.sql("SELECT status, result FROM service_application WHERE id = %s", (app_id,)) == [
        ("completed", "请到社区服务窗口领取")
    ]
    assert [
        s
        for (s,) in city.sql(
            "SELECT status FROM service_application_step WHERE application_id = %s ORDER BY id",
            (app_id,),
        )
    ] == ["submitted", "accepted", "completed"]

    phone.reload()
    mine = phone.locator(f".gg-application[data-id='{app_id}']")
    expect(mine).to_have_attribute("data-status", "completed")
    expect(mine).to_contain_text("已办结")
    assert phone.errors == []
