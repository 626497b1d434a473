"""The page bar's menu in headless Chromium: each account is offered its own pages, and they open.

On a phone (390 px) the bar fits the screen: the menu folds behind 菜单, the bell stays tappable,
and tapping a link goes there. Every link an account is offered answers it (no 403 page), and
the links are exactly web.navigation's for the role (the page and the rule share one owner).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from gis.accounts import create_resident_account
from gis.scope import Viewer
from gis.settings import normalise_database_url
from tests.e2e.browser_helpers import (
    PHONE,
    LiveCity,
    chromium,
    horizontal_overflow,
    live_demo_city,
    sign_in,
)
from web.navigation import menu_for

PASSWORD = "nav-e2e-Password-1"

pytestmark = pytest.mark.browser


def _places(conn: psycopg.Connection[Any]) -> tuple[str, int, str]:
    row = conn.execute(
        "SELECT g.code, r.id, h.code FROM resident r JOIN household h ON h.id = r.household_id"
        " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
        " ORDER BY r.id LIMIT 1"
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


ACCOUNTS = {
    "nav_chief": "grid_chief",
    "nav_member": "party_member",
    "nav_resident": "resident",
    "nav_operator": "command_operator",
}


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[LiveCity]:
    with live_demo_city(
        server_url,
        "nav_e2e",
        _places,
        lambda facts: [
            (name, role, facts[0]) for name, role in ACCOUNTS.items() if role != "resident"
        ],
        PASSWORD,
        households=600,
    ) as live:
        # A resident's account belongs to his household, as staff make it.
        engine = create_engine(normalise_database_url(live.url), poolclass=pool.NullPool)
        with Session(engine) as session:
            create_resident_account(
                session, "nav_resident", PASSWORD, live.facts[2], resident_id=live.facts[1]
            )
            session.commit()
        engine.dispose()
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _offered(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all("#gg-nav a", "els => els.map(e => e.getAttribute('href'))")
    )


@pytest.mark.parametrize("username", list(ACCOUNTS))
def test_each_account_is_offered_its_own_pages_and_each_opens(
    city: LiveCity, browser: Any, username: str
) -> None:
    grid = city.facts[0]
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, city.server.url, username, PASSWORD, f"/login?next=/?area={grid}")
        page.wait_for_selector("#gg-nav", state="attached")
        expected = [link.href for link in menu_for(Viewer(username, ACCOUNTS[username], grid))]
        assert _offered(page) == expected
        # The phone's bar fits: nothing sideways, the menu folded, the bell on the screen.
        assert horizontal_overflow(page) == 0
        assert not page.is_visible("#gg-nav a[href='/party/chain']")
        bell = page.locator("#gg-bell .gg-bell-button")
        box = bell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        # 菜单 opens the menu, Escape folds it, a tap on a link goes there.
        page.tap(".gg-menu-toggle")
        assert page.get_attribute(".gg-menu-toggle", "aria-expanded") == "true"
        assert page.is_visible("#gg-nav a[href='/party/chain']")
        page.keyboard.press("Escape")
        assert not page.is_visible("#gg-nav a[href='/party/chain']")
        page.tap(".gg-menu-toggle")
        with page.expect_navigation():
            page.tap("#gg-nav a[href='/party/chain']")
        assert page.url.endswith("/party/chain")
        # Every page offered answers this account (a 403 page would say it is not theirs).
        refused = {
            href: status
            for href in expected
            if (status := page.request.get(city.server.url + href).status) != 200
        }
        assert refused == {}
        assert errors == []
    finally:
        context.close()


def test_the_menu_differs_by_role_as_the_pages_do() -> None:
    """Not vacuous: the roles above are offered different menus, and nobody is offered a page
    whose rule refuses him."""
    menus = {
        role: [link.href for link in menu_for(Viewer("u", role, "620881"))]
        for role in ACCOUNTS.values()
    }
    assert "/party/org-life" in menus["grid_chief"]
    assert "/party/org-life" not in menus["party_member"]
    assert "/party/dual" in menus["party_member"]
    assert menus["resident"] == ["/", "/party/chain"]
    assert "/command/petitions" in menus["command_operator"]
