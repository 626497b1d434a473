"""组织生活 in headless Chromium: a branch secretary records a 党课 with attendance on the page.

Runs against its own committed database and live server (recording writes). After the form is
filled in and saved with clicks and typing, the test reads the database, and the quarterly
completeness table — on the secretary's page and on his community secretary's — shows the
period as met.
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
from gis.orglife import rules
from gis.orglife.meetings import local_today
from gis.settings import normalise_database_url
from tests.conftest import LiveServer, create_test_database, drop_test_database, owner_url
from tests.e2e.browser_helpers import chromium, sign_in

PASSWORD = "orglife-e2e-Password-1"
PAGE = "/party/org-life"

pytestmark = pytest.mark.browser


class City:
    def __init__(self, server: LiveServer, url: str, branch: Any) -> None:
        self.server, self.url, self.branch = server, url, branch

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[City]:
    from data.demo import load_demo

    url = create_test_database(server_url, "orglife_e2e")
    with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
        load_demo(conn, households=3_000)
        branch = conn.execute(
            "SELECT o.id, o.code, o.name, o.secretary_id, a.code AS area FROM party_org o"
            " JOIN area a ON a.id = o.area_id WHERE o.level = 'grid'"
            " AND o.secretary_id IS NOT NULL"
            " AND (SELECT count(*) FROM party_member m WHERE m.org_id = o.id) >= 3"
            " ORDER BY o.code LIMIT 1"
        ).fetchone()
        assert branch is not None
        # This quarter's 党课 not yet given: the page's record fills the gap.
        quarter = rules.Quarter.of(local_today())
        conn.execute(
            "DELETE FROM org_meeting WHERE branch_id = %s AND kind = 'party_lecture'"
            " AND held_on BETWEEN %s AND %s",
            (branch[0], quarter.start, quarter.end),
        )
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        create_user(session, "branch_sec", PASSWORD, "grid_chief", branch[4])
        create_user(session, "comm_sec", PASSWORD, "community_secretary", branch[4][:12])
        session.commit()
    with psycopg.connect(owner_url(url)) as conn:
        conn.execute(
            "UPDATE app_user SET person_id = %s WHERE username = 'branch_sec'", (branch[3],)
        )
        conn.commit()
    server = LiveServer(url)
    yield City(server, url, branch)
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _lecture_cell(page: Any, branch_code: str) -> Any:
    index = [k.key for k in rules.MEETING_KINDS].index("party_lecture") + 2  # th + 1-based
    return page.locator(f"#gg-branches tbody tr[data-code='{branch_code}'] td:nth-child({index})")


def test_a_branch_secretary_records_a_party_lecture_with_attendance(
    city: City, browser: Any
) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, city.server.url, "branch_sec", PASSWORD)
    page.goto(city.server.url + PAGE)
    assert page.locator("h1").inner_text() == "组织生活（三会一课）"
    page.wait_for_selector("#gg-record:not([hidden])")
    code = city.branch[1]
    cell = _lecture_cell(page, code)
    cell.wait_for()
    assert cell.get_attribute("data-met") == "0"

    page.select_option("select[name=kind]", "party_lecture")
    rows = page.locator("#gg-attendance tbody tr")
    rows.first.wait_for()
    members = rows.count()
    assert members >= 3
    # Names are shown to the secretary, whose page states its purpose (audited).
    assert "*" not in rows.first.locator("td").first.inner_text()
    page.fill("input[name=place]", "社区党群服务中心")
    page.fill("input[name=topic]", "书记讲党课：基层治理")
    page.fill("textarea[name=minutes]", "书记讲授党课，党员交流发言。")
    rows.nth(1).locator("select").select_option("leave")
    rows.nth(2).locator("select").select_option("absent")
    page.click("#gg-meeting-form button[type=submit]")
    expect(page.locator("#gg-message")).to_contain_text("会议记录已保存")

    stored = city.sql(
        "SELECT id, kind, held_on, place, minutes, recorded_by FROM org_meeting WHERE topic = %s",
        ("书记讲党课：基层治理",),
    )
    assert len(stored) == 1
    meeting_id, kind, held_on, place, minutes, by = stored[0]
    assert (kind, held_on, place, by) == (
        "party_lecture",
        local_today(),
        "社区党群服务中心",
        "branch_sec",
    )
    assert minutes == "书记讲授党课，党员交流发言。"
    marks = city.sql(
        "SELECT status, count(*) FROM org_meeting_attendance WHERE meeting_id = %s GROUP BY status",
        (meeting_id,),
    )
    assert dict(marks) == {"present": members - 2, "leave": 1, "absent": 1}
    purposes = city.sql(
        "SELECT purpose FROM audit_log WHERE username = 'branch_sec' AND action = 'read.unmasked'"
    )
    assert purposes and all(p == ("三会一课考勤",) for p in purposes)

    # The completeness table updates at once; the meeting heads the list.
    expect(_lecture_cell(page, code)).to_have_attribute("data-met", "1")
    expect(page.locator("#gg-meeting-list tbody")).to_contain_text("书记讲党课：基层治理")
    assert errors == []
    context.close()

    # His community secretary sees it in the community's table, and no form to record with.
    other = browser.new_context(locale="zh-CN")
    page = other.new_page()
    sign_in(page, city.server.url, "comm_sec", PASSWORD)
    page.goto(city.server.url + PAGE)
    cell = _lecture_cell(page, code)
    cell.wait_for()
    assert cell.get_attribute("data-met") == "1"
    assert page.locator("#gg-record").is_hidden()
    other.close()
