"""What browser tests share: Chromium's launch, a phone-sized context, signing in on /login.

Older browser tests keep their own copies of the launch arguments; new ones import these.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
