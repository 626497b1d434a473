"""Vendored front-end packages: the one list of what is shipped, and where CDN links go.

Every JS, CSS, font and image a page needs is served by the app itself. :data:`VENDORED` is the
only list of those packages — ``scripts/vendor_assets.sh`` fetches exactly these (it reads them
from ``python -m web.assets``), ``web/static/vendor/VENDORED.md`` is written from it, and the
pages take their URLs from it (:func:`vendored_url`).

Folium and its plugins name their JS and CSS by CDN URL. :func:`localise` rewrites each such URL
to our copy of *the same package at the same version* (:func:`local_url`), and refuses to render
a page whose link names a package or a version we do not ship — so a Folium upgrade that moves to
another Leaflet fails the page tests instead of silently keeping the old copy, and a new plugin
cannot quietly bring a CDN back.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from branca.element import Element, Figure

STATIC_PREFIX = "/static/vendor"
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"


@dataclass(frozen=True)
class Vendored:
    """One package from the npm registry, pinned, with the files the pages use."""

    name: str  # as in the registry, e.g. "@fortawesome/fontawesome-free"
    version: str
    files: tuple[str, ...]  # paths inside the package (a folder ships whole)
    licence: str  # SPDX expression: what package.json declares, else what its LICENSE says
    note: str = ""
    # Where the package keeps its licence text when it has no LICENSE file.
    licence_files: tuple[str, ...] = ()
    # Other names CDNs give the package (cdnjs spells some differently).
    cdn_names: tuple[str, ...] = ()
    # A CDN path → the file we ship for it (e.g. a ".min.js" the package publishes unminified).
    aliases: Mapping[str, str] = field(default_factory=dict)
    # Folium links this package "@latest"; no version to compare, so we serve this pin (the
    # page tests exercise it).
    unversioned_links: bool = False

    @property
    def folder(self) -> str:
        return f"{self.name.rsplit('/', 1)[-1]}@{self.version}"

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    def answers_to(self, name: str) -> bool:
        names = {self.name, self.name.rsplit("/", 1)[-1], *self.cdn_names}
        return name.lower() in {n.lower() for n in names}


VENDORED: tuple[Vendored, ...] = (
    Vendored(
        "leaflet", "1.9.3", ("dist/leaflet.js", "dist/leaflet.css", "dist/images"), "BSD-2-Clause"
    ),
    Vendored(
        "jquery",
        "3.7.1",
        ("dist/jquery.min.js",),
        "MIT",
        aliases={"jquery.min.js": "dist/jquery.min.js"},
    ),
    Vendored(
        "bootstrap",
        "5.2.2",
        ("dist/js/bootstrap.bundle.min.js", "dist/css/bootstrap.min.css"),
        "MIT",
    ),
    Vendored(
        "@fortawesome/fontawesome-free",
        "6.2.0",
        ("css/all.min.css", "webfonts"),
        "(CC-BY-4.0 AND OFL-1.1 AND MIT)",
        note="icons CC BY 4.0, fonts SIL OFL 1.1, code MIT",
    ),
    Vendored(
        "leaflet.markercluster",
        "1.5.3",
        (
            "dist/leaflet.markercluster.js",
            "dist/MarkerCluster.css",
            "dist/MarkerCluster.Default.css",
        ),
        "MIT",
    ),
    Vendored(
        "leaflet.heat",
        "0.2.0",
        ("dist/leaflet-heat.js",),
        "BSD-2-Clause",
        note="package.json names no licence; its LICENSE file is the BSD 2-clause text",
    ),
    Vendored(
        "leaflet.vectorgrid",
        "1.3.0",
        ("dist/Leaflet.VectorGrid.bundled.min.js",),
        "Beerware",
        note="the licence text is in the package's README.md; the bundle includes geojson-vt "
        "(ISC), pbf, topojson and vector-tile (BSD)",
        licence_files=("README.md",),
    ),
    Vendored(
        "leaflet.fullscreen",
        "3.0.0",
        ("Control.FullScreen.css", "Control.FullScreen.js", "icon-fullscreen.svg"),
        "MIT License",
        aliases={"Control.FullScreen.min.js": "Control.FullScreen.js"},
    ),
    Vendored(
        "leaflet.locatecontrol",
        "0.66.2",
        ("dist/L.Control.Locate.min.css", "dist/L.Control.Locate.min.js"),
        "MIT",
        cdn_names=("leaflet-locatecontrol",),
        aliases={
            "L.Control.Locate.min.css": "dist/L.Control.Locate.min.css",
            "L.Control.Locate.min.js": "dist/L.Control.Locate.min.js",
        },
    ),
    Vendored(
        "leaflet.control.layers.tree",
        "1.1.0",
        ("L.Control.Layers.Tree.css", "L.Control.Layers.Tree.js"),
        "BSD-3-Clause",
        aliases={
            "L.Control.Layers.Tree.min.js": "L.Control.Layers.Tree.js",
            "L.Control.Layers.Tree.min.css": "L.Control.Layers.Tree.css",
        },
    ),
    Vendored(
        "@geoman-io/leaflet-geoman-free",
        "2.17.0",
        ("dist/leaflet-geoman.css", "dist/leaflet-geoman.min.js"),
        "MIT",
        aliases={"dist/leaflet-geoman.js": "dist/leaflet-geoman.min.js"},
        unversioned_links=True,
    ),
    Vendored(
        "swagger-ui-dist",
        "5.17.14",
        ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"),
        "Apache-2.0",
        note="the /docs page",
    ),
    Vendored(
        "chart.js", "4.5.1", ("dist/chart.umd.min.js",), "MIT", note="the /command KPI charts"
    ),
)

# What folium adds to every page that no gridgov page uses (Bootstrap 3 glyphicons, awesome
# markers and their rotation): left out rather than shipped as dead weight.
DROPPED_PACKAGES = frozenset({"leaflet.awesome-markers", "bootstrap-glyphicons", "folium"})

LICENCE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "license", "MIT-LICENCE.txt")


class UnvendoredAsset(RuntimeError):
    """A page would load JS or CSS we do not ship (another origin, package or version)."""


def package(name: str) -> Vendored:
    """The vendored package called ``name`` (registry or CDN spelling)."""
    for vendored in VENDORED:
        if vendored.answers_to(name):
            return vendored
    raise KeyError(name)


def vendored_url(name: str, path: str) -> str:
    """URL of one file of a vendored package, e.g. ``vendored_url("leaflet.heat", ...)``.

    >>> vendored_url("leaflet", "dist/leaflet.js")
    '/static/vendor/leaflet@1.9.3/dist/leaflet.js'
    """
    return f"{STATIC_PREFIX}/{package(name).folder}/{path}"


_NPM_CDN = re.compile(
    r"^/(?:npm/)?(?P<name>(?:@[^/@]+/)?[^/@]+)(?:@(?P<version>[^/]+))?/(?P<path>.+)$"
)
_CDNJS = re.compile(r"^/ajax/libs/(?P<name>[^/]+)/(?P<version>[^/]+)/(?P<path>.+)$")
_JQUERY = re.compile(r"^/jquery-(?P<version>[0-9][^/]*?)(?:\.min)?\.js$")
_BOOTSTRAP_CDN = re.compile(r"^/bootstrap/(?P<version>[^/]+)/css/bootstrap-glyphicons\.css$")
_FOLIUM_GH = re.compile(
    r"^/gh/python-visualization/folium(?:@[^/]+)?/folium/templates/(?P<path>.+)$"
)


def cdn_asset(url: str) -> tuple[str, str | None, str]:
    """(package, version or None, path in the package) of a CDN URL.

    >>> cdn_asset("https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css")
    ('@fortawesome/fontawesome-free', '6.2.0', 'css/all.min.css')
    >>> cdn_asset("https://cdnjs.cloudflare.com/ajax/libs/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.js")
    ('leaflet-locatecontrol', '0.66.2', 'L.Control.Locate.min.js')
    >>> cdn_asset("https://code.jquery.com/jquery-3.7.1.min.js")
    ('jquery', '3.7.1', 'jquery.min.js')
    """
    parsed = urlparse(url)
    host, path = parsed.netloc.lower(), parsed.path
    match = None
    if host == "code.jquery.com":
        match = _JQUERY.match(path)
        if match:
            return "jquery", match["version"], "jquery.min.js"
    elif host.endswith("bootstrapcdn.com"):
        match = _BOOTSTRAP_CDN.match(path)
        if match:
            return "bootstrap-glyphicons", match["version"], PurePosixPath(path).name
    elif host == "cdnjs.cloudflare.com":
        match = _CDNJS.match(path)
    elif host in {"cdn.jsdelivr.net", "unpkg.com"}:
        folium_file = _FOLIUM_GH.match(path)
        if folium_file:
            return "folium", None, folium_file["path"]
        match = _NPM_CDN.match(path)
    if match is None:
        raise UnvendoredAsset(f"{url} is not a CDN link gridgov knows how to read")
    version = match["version"]
    return match["name"], None if version in (None, "latest") else version, match["path"]


def local_url(url: str) -> str | None:
    """Where a CDN asset is served by the app, or None when the page should not load it.

    >>> local_url("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")
    '/static/vendor/leaflet@1.9.3/dist/leaflet.js'
    >>> local_url("/static/vendor/leaflet@1.9.3/dist/leaflet.css")
    '/static/vendor/leaflet@1.9.3/dist/leaflet.css'
    >>> newer = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"
    >>> local_url(newer)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    web.assets.UnvendoredAsset: ... asks for leaflet 1.9.4, but leaflet 1.9.3 is vendored: ...
    """
    parsed = urlparse(url)
    if not parsed.scheme and not parsed.netloc:
        return url
    name, version, path = cdn_asset(url)
    if name.lower() in DROPPED_PACKAGES:
        return None
    try:
        vendored = package(name)
    except KeyError:
        raise UnvendoredAsset(
            f"{url} is not vendored: add {name} to VENDORED in web/assets.py and run "
            "scripts/vendor_assets.sh"
        ) from None
    if version is None and not vendored.unversioned_links:
        raise UnvendoredAsset(f"{url} names no version of {name}; link a pinned version")
    if version is not None and version != vendored.version:
        raise UnvendoredAsset(
            f"{url} asks for {name} {version}, but {vendored.name} {vendored.version} is "
            "vendored: change VENDORED in web/assets.py and run scripts/vendor_assets.sh"
        )
    shipped = vendored.aliases.get(path, path)
    if not (VENDOR_DIR / vendored.folder / shipped).is_file():
        raise UnvendoredAsset(f"{url}: {vendored.folder}/{shipped} is not shipped")
    return f"{STATIC_PREFIX}/{vendored.folder}/{shipped}"


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


def vendored_md() -> str:
    """``web/static/vendor/VENDORED.md``, written from :data:`VENDORED`."""
    lines = [
        "# Vendored front-end assets",
        "",
        "Every JS, CSS, font and image a page needs is served by gridgov itself, so the map works "
        "on an",
        "intranet with no internet. This file is written by `scripts/vendor_assets.sh` from "
        "`VENDORED` in",
        "`web/assets.py`, which is the one list of what is shipped; each folder is "
        "`package@version` with",
        "the package's own licence text and package.json.",
        "",
        "| folder | package | licence | note |",
        "| --- | --- | --- | --- |",
    ]
    for v in VENDORED:
        lines.append(f"| {v.folder} | {v.name} | {v.licence} | {v.note} |")
    return "\n".join(lines) + "\n"


def _manifest() -> str:
    """One line per package for the shell script: spec, folder, files, then licence files."""
    return "".join(
        f"{v.spec}\t{v.folder}\t{' '.join(v.files)}\t{' '.join(v.licence_files)}\n"
        for v in VENDORED
    )


if __name__ == "__main__":  # pragma: no cover - used by scripts/vendor_assets.sh
    sys.stdout.write(vendored_md() if sys.argv[1:] == ["--markdown"] else _manifest())
