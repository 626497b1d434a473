"""What every map page shares: the viewer, the data sources the app offers, the folium skeleton
(controls, layer tree, vendored assets) and the hand-over to the page script.

A page is a thin HTML shell. Python composes the map (folium), its controls and empty layer
groups; ``web/static/gridgov/*.js`` fills those groups with data the browser fetches — vector
tiles or bbox-limited GeoJSON — so the HTML never grows with the city.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import folium
import jinja2
from branca.element import Element, Figure, MacroElement
from fastapi import Depends, Request
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen, LocateControl, TreeLayerControl
from folium.template import Template
from markupsafe import escape
from sqlalchemy.orm import Session

from gis.crs import gcj02_parameters
from gis.db import get_session
from gis.incidents.vocabulary import for_pages as incident_vocabulary
from gis.scope import ANONYMOUS, Viewer
from gis.settings import Settings, get_settings
from web.assets import localise, vendored_url
from web.basemaps import basemap
from web.home import home_of
from web.i18n import js_strings, t

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)

# Data services of the app as (name, path template with parameters written "{}", method).
# A page only uses services the running app actually has, so while a service is missing the
# page degrades (e.g. to /map/layers boundaries) instead of logging 404s in the browser.
SERVICES: dict[str, tuple[str, str]] = {
    "tiles": ("/ogc/collections/{}/tiles/WebMercatorQuad/tilejson.json", "GET"),
    "items": ("/ogc/collections/{}/items", "GET"),
    "area": ("/api/v1/areas/{}", "GET"),
    "search": ("/api/v1/search", "GET"),
    "locate": ("/api/v1/locate", "GET"),
    "coverage": ("/api/v1/analysis/service-coverage", "GET"),
    "incidents": ("/api/v1/incidents", "GET"),
    "incident_create": ("/api/v1/incidents", "POST"),
    "aggregates": ("/api/v1/incidents/aggregates", "GET"),
    "metrics": ("/api/v1/incidents/metrics", "GET"),
    "stream": ("/api/v1/incidents/stream", "GET"),
    "regional_units": ("/api/v1/regional/units", "GET"),
    "party_panel": ("/api/v1/regional/areas/{}/panel", "GET"),
}
_PARAMETER = re.compile(r"\{[^}]*\}")


# The pages' request session, declared as api.deps.SessionDep is (web never imports api): the
# function scope commits before the response is sent, and one request gets one session whichever
# module asks for it (FastAPI caches a dependency per call *and* scope).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def viewer_of(request: Request) -> Viewer:
    """The viewer already resolved for this request (``request.state.viewer``), else the public."""
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else ANONYMOUS


async def page_viewer(request: Request, session: SessionDep) -> Viewer:
    """The viewer of a page request, from the session cookie (a route dependency of every page).

    Nothing resolves the cookie before a route runs, so a page must ask. web never imports api:
    the app's security set-up hands its resolver over as ``app.state.resolve_viewer`` (the very
    function behind the API's ``ViewerDep``), so a page and the API calls its script makes see
    the same account. It caches the viewer on ``request.state``. An app without security (a bare
    test app) shows the public map.
    """
    resolve: Callable[[Request, Session], Awaitable[Viewer]] | None = getattr(
        request.app.state, "resolve_viewer", None
    )
    return await resolve(request, session) if resolve is not None else viewer_of(request)


PageViewerDep = Annotated[Viewer, Depends(page_viewer)]


def available_services(request: Request) -> dict[str, bool]:
    """Which of :data:`SERVICES` the running app offers.

    Read from the app's OpenAPI document (FastAPI builds it once and caches it): it lists every
    data route whatever way routers were included, which a walk over ``app.routes`` does not.
    """
    routed: set[tuple[str, str]] = set()
    for path, operations in request.app.openapi().get("paths", {}).items():
        normalised = _PARAMETER.sub("{}", path)
        routed.update((normalised, method.upper()) for method in operations)
    return {name: (path, method) in routed for name, (path, method) in SERVICES.items()}


@lru_cache
def static_url(relative: str) -> str:
    """URL of one of our own static files, versioned by content so browsers never run stale JS."""
    digest = hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:10]
    return f"/static/{relative}?v={digest}"


# Leaflet plugins the page scripts use directly (folium adds Leaflet, controls and the tree).
VENDOR_JS = (
    (
        "leaflet.markercluster",
        vendored_url("leaflet.markercluster", "dist/leaflet.markercluster.js"),
    ),
    ("leaflet.heat", vendored_url("leaflet.heat", "dist/leaflet-heat.js")),
    (
        "leaflet.vectorgrid",
        vendored_url("leaflet.vectorgrid", "dist/Leaflet.VectorGrid.bundled.min.js"),
    ),
)
VENDOR_CSS = (
    ("markercluster", vendored_url("leaflet.markercluster", "dist/MarkerCluster.css")),
    (
        "markercluster.default",
        vendored_url("leaflet.markercluster", "dist/MarkerCluster.Default.css"),
    ),
)


class PageScript(JSCSSMixin, MacroElement):
    """Loads gridgov's own JS/CSS and starts the page script once the map and layers exist."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            gridgov.{{ this.entry }}({{ this.config_json }});
        {% endmacro %}
        """
    )

    def __init__(self, entry: str, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "GridgovPage"
        self.entry = entry
        # JSON inside <script>: escape "<" so no value can close the element.
        self.config_json = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
        self.default_js = [*VENDOR_JS] + [
            (name, static_url(f"gridgov/{name}.js"))
            for name in ("gcj02", "common", "photos", "outbox", entry.replace("Page", "").lower())
        ]
        self.default_css = [*VENDOR_CSS, ("gridgov", static_url("gridgov/gridgov.css"))]


class Page:
    """One map page under construction."""

    def __init__(
        self,
        request: Request,
        *,
        title_key: str,
        body_class: str,
        viewer: Viewer | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.lang = self.settings.language
        self.viewer = viewer if viewer is not None else viewer_of(request)
        self.services = available_services(request)
        self.title = t(title_key, self.lang)
        self.body_class = body_class
        self.basemap = basemap(self.settings.basemap, self.settings.tianditu_key)
        self.map = folium.Map(
            location=(35.22, 106.65),
            zoom_start=13,
            tiles=None,
            control_scale=True,
            zoom_control=True,
            max_zoom=20,
        )
        self.groups: dict[str, folium.FeatureGroup] = {}
        root = self.map.get_root()
        assert isinstance(root, Figure)
        self.root = root
        # Without an icon the browser asks for /favicon.ico and logs the 404 as a console error.
        root.header.add_child(
            Element(
                f'<link rel="icon" type="image/svg+xml" href="{static_url("gridgov/favicon.svg")}">'
            ),
            name="favicon",
        )

    worker: str | None = None

    def installable(self) -> None:
        """A phone page of the installable app: manifest, service worker and the outbox that
        queues its writes while offline (web/pwa.py)."""
        from web.pwa import head_html, worker_url

        self.root.header.add_child(Element(head_html()), name="pwa")
        self.worker = worker_url()

    def group(self, key: str, label: str, *, show: bool = True) -> folium.FeatureGroup:
        """An empty layer group the page script fills; its label shows in the layer tree."""
        group = folium.FeatureGroup(name=label, show=show, control=False)
        group.add_to(self.map)
        self.groups[key] = group
        return group

    def tree_node(self, key: str, label: str, **extra: Any) -> dict[str, Any]:
        return {"label": label, "layer": self.groups[key], **extra}

    def add_controls(self, overlay_tree: dict[str, Any] | None) -> None:
        lang = self.lang
        Fullscreen(
            position="topleft",
            title="全屏" if lang == "zh-CN" else "Full screen",
            title_cancel="退出全屏" if lang == "zh-CN" else "Exit full screen",
        ).add_to(self.map)
        LocateControl(
            position="topleft",
            strings={"title": "定位我的位置" if lang == "zh-CN" else "Show me where I am"},
            flyTo=True,
            showPopup=False,
        ).add_to(self.map)
        if overlay_tree is not None:
            TreeLayerControl(
                overlay_tree=overlay_tree,
                closed_symbol="⊞",
                opened_symbol="⊟",
                collapsed=True,
            ).add_to(self.map)

    def render(self, entry: str, config: dict[str, Any], chrome: dict[str, Any]) -> str:
        """The page's HTML: header and side panel markup, the map, and the script hand-over."""
        config = {
            "lang": self.lang,
            "strings": js_strings(self.lang),
            "map": self.map.get_name(),
            "groups": {key: group.get_name() for key, group in self.groups.items()},
            # Folium writes <body> itself; the page script puts the page's class on it.
            "bodyClass": self.body_class,
            "services": self.services,
            "basemap": self.basemap.as_config(),
            "gcj02": gcj02_parameters(),
            "incidents": incident_vocabulary(),
            "worker": self.worker,
            "viewer": {
                "role": self.viewer.role,
                "scope": self.viewer.scope_code,
                "username": self.viewer.username,
            },
            **config,
        }
        PageScript(entry, config).add_to(self.map)
        # web.bell and the pages web.navigation reads take static_url from this module: imported
        # here, not at the top.
        from web.bell import bell_html
        from web.navigation import menu_for

        chrome_html = TEMPLATES.get_template("chrome.html").render(
            title=self.title,
            body_class=self.body_class,
            lang=self.lang,
            t=lambda key: t(key, self.lang),
            viewer=self.viewer,
            bell=bell_html(self.viewer, self.lang),
            home=home_of(self.viewer),
            menu=menu_for(self.viewer),
            **chrome,
        )
        self.root.html.add_child(Element(chrome_html), name="chrome", index=0)
        self.root.header.add_child(Element(f"<title>{escape(self.title)}</title>"), name="title")
        localise(self.root)
        html = self.root.render()
        # folium writes a bare <html>; the language matters to screen readers and fonts.
        return html.replace("<html>", f'<html lang="{self.lang}">', 1)
