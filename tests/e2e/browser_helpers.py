"""What browser tests share: Chromium's launch, a phone-sized context, signing in on /login,
a committed demo city behind a live server.

Older browser tests keep their own copies of the launch arguments; new ones import these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from gridgov.screenshots import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import unavailable

# The browser and its switches are the screenshot command's (one launcher for both).
ARGS = list(CHROMIUM_ARGS)
# The phone the field pages are built for (issue 16): 390×844 CSS pixels, touch.
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
MIN_TAP = 44


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (a missing browser fails under CI)."""
    if not os.path.exists(CHROMIUM):
        unavailable(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, base_url: str, username: str, password: str, path: str = "/login") -> None:
    """Sign in on the sign-in page as a person does (type and tap); waits for the redirect."""
    page.goto(base_url + path)
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page scrolls sideways (0 when nothing is wider than the screen)."""
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


def small_tap_targets(page: Any, selector: str) -> list[str]:
    """Visible controls matching ``selector`` smaller than 44×44 px (text inputs: 44 px high)."""
    return list(
        page.eval_on_selector_all(
            selector,
            """(els, min) => els.filter(e => {
                const r = e.getBoundingClientRect();
                const seen = r.width && r.height && getComputedStyle(e).visibility !== 'hidden';
                if (!seen) return false;
                const wide = ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName) ? 0 : min;
                return r.height < min - 0.5 || r.width < wide - 0.5;
            }).map(e => e.outerHTML.slice(0, 120) + ' '
                       + JSON.stringify(e.getBoundingClientRect()))""",
            MIN_TAP,
        )
    )


class LiveCity:
    """A committed demo city behind a live server, for page tests that write."""

    def __init__(self, server: Any, url: str, facts: Any = None) -> None:
        self.server, self.url, self.facts = server, url, facts

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


@contextmanager
def live_demo_city(
    server_url: str,
    name: str,
    prepare: Callable[[psycopg.Connection[Any]], Any],
    accounts: Callable[[Any], list[tuple[str, str, str]]],
    password: str,
    households: int = 3_000,
) -> Iterator[LiveCity]:
    """A database ``name`` with the demo city, ``prepare(conn)``'s facts (as the owner, committed),
    the ``accounts(facts)`` (username, role, scope) with ``password``, and a live server on it."""
    from sqlalchemy import create_engine, pool
    from sqlalchemy.orm import Session

    from data.demo import load_demo
    from gis.accounts import create_user
    from gis.settings import normalise_database_url
    from tests.conftest import LiveServer, create_test_database, drop_test_database, owner_url

    url = create_test_database(server_url, name)
    with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
        load_demo(conn, households=households)
        facts = prepare(conn)
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        for username, role, scope in accounts(facts):
            create_user(session, username, password, role, scope)
        session.commit()
    server = LiveServer(url)
    try:
        yield LiveCity(server, url, facts)
    finally:
        server.stop()
        engine.dispose()
        drop_test_database(server_url, url)
