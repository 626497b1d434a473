"""党员管理 in headless Chromium: the register masked until a purpose is stated (then audited),
a member's profile, and a branch secretary transferring a member out on the page; and the
chain page from the street down to the 党员中心户.

Runs against its own committed database and live server (transfers write). After the clicks
and typing, the test reads the database: the member's relation, the append-only history row and
the audit rows of the unmasked reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.masking import mask_name
from gis.settings import normalise_database_url
from tests.conftest import LiveServer, create_test_database, drop_test_database, owner_url
from tests.e2e.browser_helpers import chromium, sign_in

PASSWORD = "members-e2e-Password-1"
PAGE = "/party/members"
TARGET_ORG = "中共兰州市城关区张掖路街道工作委员会"

pytestmark = pytest.mark.browser


class City:
    def __init__(self, server: LiveServer, url: str, member: Any) -> None:
        self.server, self.url, self.member = server, url, member

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[City]:
    from data.demo import load_demo

    url = create_test_database(server_url, "members_e2e")
    with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
        load_demo(conn, households=3_000)
        # A member of a grid branch with a secretary, living in that grid, not hosting a
        # 党员中心户 (ids: member, resident name, branch id, branch code, secretary, grid).
        member = conn.execute(
            "SELECT m.id, r.name, o.id, o.code, o.secretary_id, a.code FROM party_member m"
            " JOIN resident r ON r.id = m.resident_id JOIN party_org o ON o.id = m.org_id"
            " JOIN area a ON a.id = o.area_id JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id"
            " WHERE o.level = 'grid' AND o.secretary_id IS NOT NULL AND b.grid_id = a.id"
            " AND NOT EXISTS (SELECT 1 FROM party_central_household c WHERE c.member_id = m.id)"
            " ORDER BY m.id LIMIT 1"
        ).fetchone()
        assert member is not None
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        create_user(session, "branch_sec", PASSWORD, "grid_chief", member[5])
        create_user(session, "instructor", PASSWORD, "party_instructor", member[5])
        session.commit()
    with psycopg.connect(owner_url(url)) as conn:
        conn.execute(
            "UPDATE app_user SET person_id = %s WHERE username = 'branch_sec'", (member[4],)
        )
        conn.commit()
    server = LiveServer(url)
    yield City(server, url, member)
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _row(page: Any, member_id: int) -> Any:
    return page.locator(f"#gg-members tbody tr[data-member-id='{member_id}']")


def test_the_list_and_profile_unmask_only_with_a_purpose_and_audit_it(
    city: City, browser: Any
) -> None:
    member_id, name = city.member[0], city.member[1]
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, city.server.url, "instructor", PASSWORD)
    page.goto(city.server.url + PAGE)
    assert page.locator("h1").inner_text() == "党员管理"
    row = _row(page, member_id)
    row.wait_for()
    assert row.locator("td").first.inner_text() == mask_name(name)
    audited = (
        "SELECT count(*) FROM audit_log WHERE username = 'instructor' AND action = 'read.unmasked'"
    )
    assert city.sql(audited) == [(0,)]

    page.fill("input[name=purpose]", "困难党员走访")
    page.click("#gg-filter button[type=submit]")
    expect(row.locator("td").first).to_have_text(name)
    row.locator("button.gg-open").click()
    expect(page.locator("#gg-profile-facts")).to_contain_text(name)
    expect(page.locator("#gg-profile-facts")).to_contain_text(" → ")  # the chain
    # An instructor reads; he has no transfer form.
    assert page.locator("#gg-transfer-form").is_hidden()
    rows = city.sql(
        "SELECT target, purpose, subjects FROM audit_log WHERE username = 'instructor'"
        " AND action = 'read.unmasked' ORDER BY id"
    )
    assert [r[1] for r in rows] == ["困难党员走访", "困难党员走访"]
    assert rows[-1][0] == f"party_member:{member_id}"
    resident = city.sql("SELECT resident_id FROM party_member WHERE id = %s", (member_id,))[0][0]
    assert all(f"resident:{resident}" in r[2] for r in rows)
    assert errors == []
    context.close()


def test_a_branch_secretary_transfers_a_member_out(city: City, browser: Any) -> None:
    member_id, branch_id = city.member[0], city.member[2]
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, city.server.url, "branch_sec", PASSWORD)
    page.goto(city.server.url + PAGE)
    row = _row(page, member_id)
    row.wait_for()
    row.locator("button.gg-open").click()
    form = page.locator("#gg-transfer-form")
    expect(form).to_be_visible()
    page.select_option("#gg-transfer-form select[name=direction]", "out")
    page.fill("#gg-transfer-form input[name=to_org_name]", TARGET_ORG)
    page.select_option("#gg-transfer-form select[name=reason]", "work")
    page.fill("#gg-transfer-form input[name=letter_no]", "ZC-2026-088")
    page.click("#gg-transfer-form button[type=submit]")
    # Generous: on a loaded shared machine the write and the profile it returns take a while.
    expect(page.locator("#gg-message")).to_contain_text("转接已办理", timeout=30_000)
    expect(page.locator("#gg-profile-history")).to_contain_text(TARGET_ORG)
    expect(form).to_be_hidden()  # out of the register: nothing more to transfer

    relation = city.sql(
        "SELECT org_id, group_id, external_org FROM party_member WHERE id = %s", (member_id,)
    )
    assert relation == [(None, None, TARGET_ORG)]
    history = city.sql(
        "SELECT direction, from_org_id, to_org_id, to_org_name, reason, letter_no, recorded_by"
        " FROM party_member_transfer WHERE member_id = %s ORDER BY id DESC LIMIT 1",
        (member_id,),
    )
    assert history == [("out", branch_id, None, TARGET_ORG, "work", "ZC-2026-088", "branch_sec")]
    # The history is append-only: the database refuses to rewrite it.
    with psycopg.connect(owner_url(city.url)) as conn, pytest.raises(psycopg.Error):
        conn.execute(
            "UPDATE party_member_transfer SET to_org_name = 'x' WHERE member_id = %s", (member_id,)
        )
    assert errors == []
    context.close()


def test_the_chain_page_goes_down_to_the_central_households(city: City, browser: Any) -> None:
    community = city.member[5][:12]
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{city.server.url}/party/chain?within={community}")
    street = page.locator("#gg-chain > ul > li[data-level='street']")
    street.wait_for()
    assert street.locator("> .gg-kind").inner_text() in {"街道党工委", "镇党委"}
    expect(page.locator("li[data-level='household']").first).to_be_attached()
    for level in ("community", "grid", "building", "household"):
        assert page.locator(f"li[data-level='{level}']").count() > 0, level
    expect(page.locator("li[data-level='household'] .gg-count").first).to_contain_text("联系")
    context.close()
