"""Screenshots of the map pages for the README: a command, never a side effect of the tests.

:func:`capture` drives headless Chromium (Playwright) through a running server: the public city
map and a grid's page, then — signed in through ``/login`` like a user — the grid workbench on a
phone, the command centre working a case (the first of its queue, opened; then a case waiting
for verification with the 返工 form open) and the planner's editor. :func:`local_server`
starts one on a free loopback port against the configured database (the demo city) for
``gridgov screenshots``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridgov.liveserver import AppServer

if TYPE_CHECKING:  # playwright is a test/dev dependency; only the command itself needs it
    from playwright.sync_api import ViewportSize

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
# The phone the grid workbench is built for (issue 16): 390×844 CSS pixels, touch.
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Shot:
    """One page to capture: file name, path, whether it needs an account, what to wait for."""

    file: str
    path: str
    signed_in: bool
    ready: str
    # The planner's page shows grids only in a draft: open one for the picture, then discard it
    # (a discarded changeset is all it leaves behind).
    opens_draft: bool = False
    # The command centre is shown working a case: the first case of the queue, opened.
    opens_case: bool = False
    # … of the queue filtered to this status, with this step's form open (if the case offers it;
    # else its first step's).
    queue_status: str | None = None
    opens_action: str | None = None
    # Taken on a phone (the grid workbench as a grid worker sees it in the field).
    phone: bool = False


def shots(grid_code: str, community_code: str) -> list[Shot]:
    """The README's pictures (``map.png`` is the one the README shows first)."""
    return [
        Shot("map.png", "/", False, "path.gg-area-grid"),
        Shot("grid.png", f"/grid/{grid_code}", False, ".leaflet-container"),
        Shot("grid-phone.png", f"/grid/{grid_code}", True, "#gg-staff li", phone=True),
        Shot("command.png", "/command", True, "ol.gg-queue li[data-id]", opens_case=True),
        Shot(
            "command_case.png",
            "/command",
            True,
            "ol.gg-queue li[data-id]",
            opens_case=True,
            queue_status="handled",
            opens_action="rework",
        ),
        Shot("plan.png", f"/plan?scope={community_code}", True, "#plan-discard:enabled", True),
        # Field work as the chief sees it: the grid's patrol tracks, visit coverage and KPIs.
        Shot("field.png", "/field", True, "table.gg-field-kpis"),
        # Organisational life: 三会一课 completeness per area and branch this quarter.
        Shot("orglife.png", "/party/org-life", True, "#gg-branches tbody tr"),
    ]


def capture(
    base_url: str,
    out_dir: Path,
    *,
    username: str,
    password: str,
    grid_code: str,
    community_code: str,
    chromium: str = CHROMIUM,
) -> list[Path]:
    """Capture every page of :func:`shots` into ``out_dir``; returns the files written.

    Raises ``RuntimeError`` when the sign-in fails or a page does not draw.
    """
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            contexts: dict[tuple[bool, bool], Any] = {}
            for shot in shots(grid_code, community_code):
                key = (shot.signed_in, shot.phone)
                if key not in contexts:
                    contexts[key] = browser.new_context(
                        viewport=PHONE if shot.phone else VIEWPORT,
                        has_touch=shot.phone,
                        is_mobile=shot.phone,
                    )
                    if shot.signed_in:
                        _sign_in(contexts[key].new_page(), base_url, username, password)
                page = contexts[key].new_page()
                written.append(_shoot(page, base_url, shot, out_dir))
                page.close()
        finally:
            browser.close()
    return written


def _sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login?next=/command")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/login" in page.url:
        raise RuntimeError(f"signing in as {username} failed; check the user and password")
    page.close()


def _shoot(page: Any, base_url: str, shot: Shot, out_dir: Path) -> Path:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(base_url + shot.path)
    page.wait_for_load_state("networkidle")
    if shot.opens_draft:
        # /plan?scope=<community> opens (or resumes) that community's draft by itself.
        page.on("dialog", lambda dialog: dialog.accept())
    try:
        page.wait_for_selector(shot.ready, state="attached", timeout=60000)
    except PlaywrightTimeout as exc:
        raise RuntimeError(f"{shot.path} did not draw ({shot.ready})") from exc
    if shot.opens_case:
        if shot.queue_status:
            with page.expect_response(lambda r: "/api/v1/incidents/queue" in r.url):
                page.select_option("#gg-queue-form [name=status]", shot.queue_status)
            page.wait_for_timeout(300)  # the queue is drawn after its response
            if not page.locator("ol.gg-queue li[data-id]").count():
                # No case in that status: the open queue's first case then.
                with page.expect_response(lambda r: "/api/v1/incidents/queue" in r.url):
                    page.select_option("#gg-queue-form [name=status]", index=0)
            page.wait_for_selector(shot.ready, state="attached", timeout=60000)
        page.click("ol.gg-queue li[data-id]")
        try:
            page.wait_for_selector("#gg-case .gg-case", timeout=30000)
        except PlaywrightTimeout as exc:
            raise RuntimeError(f"{shot.path}: the first case of the queue did not open") from exc
        if shot.opens_action:
            wanted = f"#gg-case button.gg-action[data-action='{shot.opens_action}']"
            button = page.locator(wanted if page.locator(wanted).count() else "#gg-case .gg-action")
            if button.count():
                button.first.click()
                form = page.locator("#gg-case form.gg-action-form")
                form.wait_for(timeout=10000)
                form.scroll_into_view_if_needed()
    if shot.opens_draft:
        # The draft's grids, then its impact preview if it comes in reasonable time.
        page.wait_for_selector("path.leaflet-interactive", state="attached", timeout=60000)
        with suppress(PlaywrightTimeout):  # a slow preview only leaves its table out
            page.wait_for_selector("#plan-grids table", state="attached", timeout=15000)
    page.wait_for_timeout(800)  # let tiles and markers settle
    target = out_dir / shot.file
    page.screenshot(path=str(target))
    if shot.opens_draft:
        page.click("#plan-discard")
        page.wait_for_selector("#plan-discard:disabled", timeout=20000)
    return target


@contextmanager
def local_server() -> Iterator[str]:
    """Serve the app on a free loopback port (same settings as ``gridgov serve``); yield its URL."""
    with AppServer() as server:
        yield server.url
