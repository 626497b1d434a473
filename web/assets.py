"""Vendored JS/CSS for Folium pages: every asset is served by the app itself.

Folium and its plugins name their JS and CSS by CDN URL. :func:`localise` rewrites every such URL
in a figure to the copy under ``/static/vendor`` (see ``scripts/vendor_assets.sh`` and
``web/static/vendor/VENDORED.md``), and refuses to render a page that would still reach outside
the app — so a new plugin cannot quietly bring a CDN back.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlparse

from branca.element import Element, Figure

STATIC_PREFIX = "/static/vendor"

# The file name a CDN URL ends with → our vendored copy. Several CDN spellings of one library
# end in the same or an equivalent file.
LOCAL_BY_FILENAME: dict[str, str] = {
    "leaflet.js": "leaflet@1.9.3/dist/leaflet.js",
    "leaflet.css": "leaflet@1.9.3/dist/leaflet.css",
    "jquery-3.7.1.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "jquery.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "bootstrap.bundle.min.js": "bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js",
    "bootstrap.min.css": "bootstrap@5.2.2/dist/css/bootstrap.min.css",
    "leaflet.awesome-markers.js": "leaflet.awesome-markers@2.0.5/dist/leaflet.awesome-markers.js",
    "leaflet.awesome-markers.css": "leaflet.awesome-markers@2.0.5/dist/leaflet.awesome-markers.css",
    "all.min.css": "fontawesome-free@6.2.0/css/all.min.css",
    "leaflet.markercluster.js": "leaflet.markercluster@1.5.3/dist/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster@1.5.3/dist/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster@1.5.3/dist/MarkerCluster.Default.css",
    "Leaflet.VectorGrid.bundled.js": (
        "leaflet.vectorgrid@1.3.0/dist/Leaflet.VectorGrid.bundled.min.js"
    ),
    "Control.FullScreen.min.js": "leaflet.fullscreen@3.0.0/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen@3.0.0/Control.FullScreen.css",
    "L.Control.Locate.min.js": "leaflet.locatecontrol@0.79.0/dist/L.Control.Locate.min.js",
    "L.Control.Locate.min.css": "leaflet.locatecontrol@0.79.0/dist/L.Control.Locate.min.css",
    "L.Control.Layers.Tree.min.js": "leaflet.control.layers.tree@1.1.0/L.Control.Layers.Tree.js",
    "L.Control.Layers.Tree.min.css": "leaflet.control.layers.tree@1.1.0/L.Control.Layers.Tree.css",
    "leaflet-geoman.js": "leaflet-geoman-free@2.17.0/dist/leaflet-geoman.min.js",
    "leaflet-geoman.css": "leaflet-geoman-free@2.17.0/dist/leaflet-geoman.css",
    "leaflet_heat.min.js": "folium@0.20.0/leaflet_heat.min.js",
}

# Assets folium adds by default that gridgov's pages do not use (Bootstrap 3 glyphicons,
# rotated awesome-markers); dropping them is better than vendoring dead weight.
DROPPED_FILENAMES = frozenset({"bootstrap-glyphicons.css", "leaflet.awesome.rotate.min.css"})


class UnvendoredAsset(RuntimeError):
    """A page would load JS or CSS from outside the app."""


def local_url(url: str) -> str | None:
    """Where a CDN asset is served by the app, or None when the page should not load it.

    >>> local_url("https://cdn.example/npm/leaflet@1.9.3/dist/leaflet.js")
    '/static/vendor/leaflet@1.9.3/dist/leaflet.js'
    >>> local_url("/static/vendor/leaflet@1.9.3/dist/leaflet.css")
    '/static/vendor/leaflet@1.9.3/dist/leaflet.css'
    """
    parsed = urlparse(url)
    if not parsed.scheme and not parsed.netloc:
        return url
    filename = PurePosixPath(parsed.path).name
    if filename in DROPPED_FILENAMES:
        return None
    try:
        return f"{STATIC_PREFIX}/{LOCAL_BY_FILENAME[filename]}"
    except KeyError:
        raise UnvendoredAsset(
            f"{url} is not vendored: add it to scripts/vendor_assets.sh and web/assets.py"
        ) from None


def _localise_list(assets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    localised = []
    for name, url in assets:
        local = local_url(url)
        if local is not None:
            localised.append((name, local))
    return localised


def localise(root: Element) -> None:
    """Point every JS/CSS link of ``root`` and its children at the app's vendored copies."""
    stack: list[Element] = [root]
    while stack:
        element = stack.pop()
        for attribute in ("default_js", "default_css"):
            assets = getattr(element, attribute, None)
            if assets:
                # Set on the instance: the class-level lists are shared by every page.
                setattr(element, attribute, _localise_list(list(assets)))
        stack.extend(element._children.values())
    if isinstance(root, Figure):
        for child in root.header._children.values():
            url = getattr(child, "url", None)
            if isinstance(url, str):
                setattr(child, "url", local_url(url) or "")  # noqa: B010 - branca's JS/CSS links
