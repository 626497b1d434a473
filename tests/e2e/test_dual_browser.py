"""双报到 and the party-building e-map in headless Chromium, against a live server.

The journey: a community secretary publishes a need on /party/dual, an in-service member reported
to the community claims it and reports it done with his hours, the secretary rates it (residents'
and community's stars) — then the database holds the hours and ratings and the year's ranking
counts them. The e-map: the regional layers (驻区单位, 共建单位, 两新组织, 红色物业) draw their
markers and the area panel its figures, with no request leaving the app's origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from playwright.sync_api import expect

from gis.orglife.meetings import local_today
from tests.conftest import owner_url
from tests.e2e.browser_helpers import LiveCity, chromium, live_demo_city, sign_in

PASSWORD = "dual-e2e-Password-1"
PAGE = "/party/dual"
TITLE = "楼道照明检修（浏览器测试）"

pytestmark = pytest.mark.browser


def _reported_member(conn: psycopg.Connection[Any]) -> Any:
    member = conn.execute(
        "SELECT m.id, c.code FROM party_member m JOIN area c"
        " ON c.id = m.registered_community_id WHERE m.in_service ORDER BY m.id LIMIT 1"
    ).fetchone()
    assert member is not None
    return member


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[LiveCity]:
    with live_demo_city(
        server_url,
        "dual_e2e",
        _reported_member,
        lambda m: [("comm_sec", "community_secretary", m[1]), ("member", "party_member", m[1])],
        PASSWORD,
    ) as live:
        # The member's account acts as his own member record (a member claims only as himself).
        with psycopg.connect(owner_url(live.url)) as conn:
            conn.execute(
                "UPDATE app_user SET member_id = %s WHERE username = 'member'", (live.facts[0],)
            )
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _page(browser: Any, city: LiveCity, username: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, city.server.url, username, PASSWORD)
    page.goto(city.server.url + PAGE)
    page.wait_for_selector("body[data-ready='1']")
    return context, page, errors


def test_a_need_is_published_claimed_done_and_rated(city: LiveCity, browser: Any) -> None:
    member_id, community = city.facts
    context, page, errors = _page(browser, city, "comm_sec")
    assert page.locator("h1").inner_text() == "双报到 · 区域化党建"
    assert page.locator("input[name=community_code]").input_value() == community
    page.select_option("select[name=origin]", "need")
    page.fill("input[name=title]", TITLE)
    page.select_option("select[name=service_type]", "维修")
    page.fill("textarea[name=description]", "三单元楼道灯不亮，需要检修。")
    page.click("#gg-need-form button[type=submit]")
    expect(page.locator("#gg-message")).to_contain_text("已保存")
    ((code, status, origin),) = city.sql(
        "SELECT code, status, origin FROM service_order WHERE title = %s", (TITLE,)
    )
    assert (status, origin) == ("published", "need")
    expect(page.locator(f"#gg-needs tr[data-code='{code}']")).to_have_attribute(
        "data-status", "published"
    )
    context.close()

    # The member claims it, then reports it done with his hours.
    context, page, errors_member = _page(browser, city, "member")
    expect(page.locator("#gg-member-id")).to_contain_text(f"（{member_id}）")
    row = page.locator(f"#gg-needs tr[data-code='{code}']")
    row.locator("button[data-action=claim]").click()
    expect(row).to_have_attribute("data-status", "claimed")
    assert city.sql("SELECT member_id FROM service_order WHERE code = %s", (code,)) == [
        (member_id,)
    ]
    row.locator("input[name=hours]").fill("3.5")
    row.locator("button[data-action=done]").click()
    expect(row).to_have_attribute("data-status", "done")
    assert errors_member == []
    context.close()

    # The secretary rates it: 5 stars from the residents, 4 from the community.
    context, page, errors = _page(browser, city, "comm_sec")
    row = page.locator(f"#gg-needs tr[data-code='{code}']")
    row.locator("select[name=rating]").select_option("5")
    row.locator("select[name=community_rating]").select_option("4")
    row.locator("button[data-action=rate]").click()
    expect(row).to_have_attribute("data-status", "rated")
    ((status, hours, rating, community_rating),) = city.sql(
        "SELECT status, hours, rating, community_rating FROM service_order WHERE code = %s",
        (code,),
    )
    assert (status, float(hours), rating, community_rating) == ("rated", 3.5, 5, 4)
    # The ranking on the page counts it: the member's stars are all his rated work this year.
    ((stars,),) = city.sql(
        "SELECT sum(rating + coalesce(community_rating, 0)) FROM service_order"
        " WHERE member_id = %s AND status = 'rated'"
        " AND rated_at >= make_timestamptz(%s, 1, 1, 0, 0, 0, 'Asia/Shanghai')",
        (member_id, local_today().year),
    )
    ranked = page.locator(f"#gg-ranking tr[data-doer=member][data-id='{member_id}']")
    expect(ranked.locator("td").nth(2)).to_have_text(str(stars))
    # The statistics row of the community counts the finished need.
    expect(page.locator(f"#gg-statistics tr[data-code='{community}']")).to_be_visible()
    assert errors == []
    context.close()


def test_the_e_map_draws_the_regional_layers_and_the_party_panel_from_its_origin(
    city: LiveCity, browser: Any
) -> None:
    _, community = city.facts
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, city.server.url, "comm_sec", PASSWORD)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{city.server.url}/?area={community}")
    panel = page.locator(f".gg-party-panel[data-code='{community}']")
    panel.wait_for(timeout=30_000)
    counts = city.sql(
        "SELECT count(*), count(*) FILTER (WHERE m.in_service) FROM party_member m"
        " JOIN resident r ON r.id = m.resident_id JOIN household h ON h.id = r.household_id"
        " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
        " JOIN area c ON c.id = g.parent_id WHERE c.code = %s",
        (community,),
    )[0]
    members = panel.locator("tr[data-stat='members.members'] td").inner_text()
    assert members.replace(",", "") == str(counts[0])
    in_service = panel.locator("tr[data-stat='members.in_service'] td").inner_text()
    assert in_service.replace(",", "") == str(counts[1])
    assert panel.locator("tr[data-stat='members.coverage'] td").inner_text().endswith("%")
    assert panel.locator("tr[data-stat='org_life.rate'] td").inner_text()
    # Each layer draws its markers (the community's focus zooms in far enough).
    for layer in ("resident", "joint", "two_new", "red_property"):
        page.locator(f".gg-regional-{layer}").first.wait_for(timeout=30_000)
    # The layer tree lists the four layers in Chinese.
    tree = page.locator(".leaflet-control-layers").inner_html()
    for label in ("驻区单位", "共建单位", "两新组织", "红色物业"):
        assert label in tree
    origin = urlsplit(city.server.url).netloc
    foreign = [
        u
        for u in requests
        if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).netloc != origin
    ]
    assert foreign == []
    assert any("/api/v1/regional/units" in u for u in requests)
    assert errors == []
    context.close()
