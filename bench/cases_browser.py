"""Case 5: the map pages' HTML size and the time until the first grid is drawn, in Chromium.

"Drawn" means the first vector shape (an SVG path or a canvas) inside a Leaflet pane of the
page: grids are the first polygons every map page draws. The clock starts at navigation.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
# Any drawn vector shape with geometry in a Leaflet pane (SVG path or a VectorGrid tile).
_DRAWN = """() => {
  const paths = document.querySelectorAll('.leaflet-pane path');
  for (const p of paths) { const d = p.getAttribute('d'); if (d && d.length > 10) return true; }
  return document.querySelectorAll('.leaflet-pane canvas.leaflet-tile-loaded').length > 0;
}"""


@dataclass(frozen=True)
class PageResult:
    path: str
    html_bytes: int
    transferred_bytes: int
    first_grid_ms: float | None
    error: str | None = None
    # Bytes on the wire (compressed bodies and headers) until the network is idle, by kind.
    idle_bytes: dict[str, int] | None = None

    @property
    def idle_total(self) -> int:
        return sum((self.idle_bytes or {}).values())


def kind_of(url: str) -> str:
    """What a response of a map page is, for the bytes-to-network-idle breakdown."""
    path = url.split("://", 1)[-1].partition("/")[2]
    if "/tiles/" in path:
        return "vector tiles"
    if "collections/party_orgs/" in path or "collections/service_facilities/" in path:
        return "markers"
    if "/items" in path or path.startswith("map/layers/"):
        return "other GeoJSON"
    if path.startswith("static/") or path.startswith("vendor/"):
        return "static assets"
    if path.startswith("api/"):
        return "API JSON"
    return "pages and other"


def map_pages(base_url: str) -> list[str]:
    """The map pages to measure: the city map, one grid's page, and the others if served."""
    pages = ["/"]
    try:
        geo = httpx.get(f"{base_url}/ogc/collections/grids/items?limit=1", timeout=30).json()
        code = geo["features"][0]["properties"]["code"]
        pages.append(f"/grid/{code}")
    except (httpx.HTTPError, KeyError, IndexError, ValueError):
        pass
    for extra in ("/command", "/plan"):
        try:
            if httpx.get(base_url + extra, timeout=30).status_code == 200:
                pages.append(extra)
        except httpx.HTTPError:
            pass
    return pages


# Pages for staff: measured signed in (anonymous visitors get the sign-in page, no map).
STAFF_PAGES = ("/command", "/plan")


def measure_pages(
    base_url: str,
    repeats: int,
    timeout_ms: int = 15_000,
    staff_login: tuple[str, str] | None = None,
    pages: list[str] | None = None,
) -> list[PageResult]:
    """Each page's HTML size and, in a fresh browser context per repeat, the time from
    navigation to the first shape drawn. ``staff_login`` (username, password) signs in first
    for the staff pages; the sign-in request happens before the clock starts."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Response, sync_playwright

    results: list[PageResult] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for path in pages if pages is not None else map_pages(base_url):
                html = httpx.get(base_url + path, timeout=60)
                times: list[float] = []
                idle: list[dict[str, int]] = []
                transferred = 0
                error = None
                for _ in range(repeats):
                    context = browser.new_context()  # a cold browser cache every time
                    if staff_login is not None and path.split("?")[0] in STAFF_PAGES:
                        context.request.post(
                            base_url + "/login",
                            form={"username": staff_login[0], "password": staff_login[1]},
                            max_redirects=0,
                        )
                    page = context.new_page()
                    sizes: list[int] = []
                    seen: list[Response] = []

                    def count(
                        response: Response, sizes: list[int] = sizes, seen: list[Response] = seen
                    ) -> None:
                        sizes.append(int(response.headers.get("content-length", 0)))
                        seen.append(response)

                    page.on("response", count)
                    started = time.perf_counter()
                    try:
                        page.goto(base_url + path, wait_until="commit", timeout=timeout_ms)
                        page.wait_for_function(_DRAWN, timeout=timeout_ms, polling=20)
                        times.append((time.perf_counter() - started) * 1000)
                        page.wait_for_load_state("networkidle", timeout=timeout_ms)
                        kinds: dict[str, int] = {}
                        for response in seen:
                            wire = response.request.sizes()
                            size = max(0, wire["responseBodySize"]) + wire["responseHeadersSize"]
                            kind = kind_of(response.url)
                            kinds[kind] = kinds.get(kind, 0) + size
                        idle.append(kinds)
                    except PlaywrightError as exc:
                        error = str(exc).splitlines()[0][:120]
                    transferred = sum(sizes)
                    context.close()
                results.append(
                    PageResult(
                        path,
                        len(html.content),
                        transferred,
                        statistics.median(times) if times else None,
                        error if not times else None,
                        _median_kinds(idle) if idle else None,
                    )
                )
        finally:
            browser.close()
    return results


def _median_kinds(runs: list[dict[str, int]]) -> dict[str, int]:
    """The run with the median total, so its breakdown adds up."""
    ordered = sorted(runs, key=lambda kinds: sum(kinds.values()))
    return ordered[len(ordered) // 2]
