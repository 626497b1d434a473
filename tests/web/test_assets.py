"""Vendored front-end packages: true licences, produced by the script, linked by version, used.

``VENDORED`` in web/assets.py is the one list; these tests hold the folder, VENDORED.md, folium's
links and the pages to it.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

import folium
import pytest
from fastapi.testclient import TestClient
from folium.plugins import Fullscreen, GeoMan, LocateControl, TreeLayerControl
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.scope import Viewer
from web.assets import (
    LICENCE_FILES,
    STATIC_PREFIX,
    VENDOR_DIR,
    VENDORED,
    UnvendoredAsset,
    Vendored,
    cdn_asset,
    local_url,
    package,
    vendored_md,
)
from web.mapkit import page_viewer


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js",  # a Folium upgrade's Leaflet
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet-src.js",  # a file we do not ship
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet-locatecontrol/0.79.0/L.Control.Locate.min.js",
        "https://unpkg.com/leaflet@latest/dist/leaflet.js",  # no version to compare
        "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js",
        "https://example.org/some.js",
    ],
)
def test_links_we_do_not_ship_at_that_version_are_refused(url: str) -> None:
    with pytest.raises(UnvendoredAsset):
        local_url(url)


def test_links_map_to_the_same_package_and_version() -> None:
    assert (
        local_url(
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.js"
        )
        == "/static/vendor/leaflet.locatecontrol@0.66.2/dist/L.Control.Locate.min.js"
    )
    assert (
        local_url("https://code.jquery.com/jquery-3.7.1.min.js")
        == "/static/vendor/jquery@3.7.1/dist/jquery.min.js"
    )
    assert (
        local_url("https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css")
        is None
    )


def test_every_link_folium_gives_our_pages_is_vendored_at_its_version() -> None:
    """What the installed folium asks for, version by version: an upgrade that moves a version
    (Leaflet, jQuery, Bootstrap, a plugin) fails here until VENDORED follows it."""
    elements = [
        folium.Map(),
        Fullscreen(),
        LocateControl(),
        TreeLayerControl(overlay_tree={"label": "x"}),
        GeoMan(),
    ]
    checked = 0
    for element in elements:
        for _, url in [*element.default_js, *element.default_css]:
            name, version, _ = cdn_asset(url)
            local = local_url(url)
            if local is None:
                continue  # a package our pages leave out (DROPPED_PACKAGES)
            shipped = package(name)
            assert version in (None, shipped.version), url
            assert local.startswith(f"{STATIC_PREFIX}/{shipped.folder}/"), (url, local)
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("vendored", VENDORED, ids=lambda v: v.folder)
def test_each_package_ships_its_true_licence_and_only_what_the_script_fetches(
    vendored: Vendored,
) -> None:
    folder = VENDOR_DIR / vendored.folder
    meta = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    assert (meta["name"], meta["version"]) == (vendored.name, vendored.version)
    licences = [f for f in (*LICENCE_FILES, *vendored.licence_files) if (folder / f).is_file()]
    assert licences, f"{vendored.folder} ships no licence text"
    if "license" in meta:
        assert meta["license"] == vendored.licence  # the licence the package itself declares
    else:  # then its licence text decides
        assert vendored.licence == "BSD-2-Clause"
        licence_text = (folder / licences[0]).read_text(encoding="utf-8")
        assert "Redistribution and use in source and binary forms" in licence_text
        assert "Neither the name" not in licence_text  # the third clause of BSD-3-Clause
    if vendored.licence == "Beerware":
        assert "BEER-WARE LICENSE" in (folder / licences[0]).read_text(encoding="utf-8")
    # Every file is one scripts/vendor_assets.sh copies: a listed file or folder, package.json,
    # or a licence text — nothing added by hand.
    expected_roots = {*vendored.files, "package.json", *licences}
    for path in folder.rglob("*"):
        if path.is_file():
            relative = path.relative_to(folder).as_posix()
            assert any(
                relative == root or relative.startswith(root + "/") for root in expected_roots
            ), f"{vendored.folder}/{relative} is not produced by scripts/vendor_assets.sh"


def test_the_vendor_folder_holds_exactly_the_listed_packages_and_its_readme() -> None:
    folders = {p.name for p in VENDOR_DIR.iterdir() if p.is_dir()}
    assert folders == {v.folder for v in VENDORED}
    assert (VENDOR_DIR / "VENDORED.md").read_text(encoding="utf-8") == vendored_md()


def _linked(html: str) -> set[str]:
    return {
        url.split("?")[0]
        for url in re.findall(r"""(?:src|href|url)\s*[=:(]\s*["']?([^"' )]+)""", html)
        if url.startswith(STATIC_PREFIX + "/")
    }


def test_every_vendored_file_is_loaded_by_some_page(
    page_client: TestClient, db_session: Session
) -> None:
    grid = db_session.execute(
        text("SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY code")
    ).scalar()
    loaded: set[str] = set()
    for path in ("/", f"/grid/{grid}", "/command", "/docs", "/login"):
        response = page_client.get(path)
        assert response.status_code == 200, path
        loaded |= _linked(response.text)
    # The planner's editor is for signed-in planners only (a visitor is sent to sign in).
    page_client.app.dependency_overrides[page_viewer] = lambda: Viewer(  # type: ignore[attr-defined]
        "assets_planner", "planner", "620881"
    )
    response = page_client.get("/plan?draft=1")
    assert response.status_code == 200
    loaded |= _linked(response.text)
    assert loaded, "no page links a vendored file"
    # What a loaded stylesheet or script names in turn (fonts, images, Leaflet's marker icons):
    # a file of the same package whose name appears in a loaded file's text.
    queue = sorted(loaded)
    while queue:
        url = queue.pop()
        file = VENDOR_DIR / url.removeprefix(STATIC_PREFIX + "/")
        assert file.is_file(), f"a page links {url}, which is not shipped"
        if file.suffix not in {".css", ".js"}:
            continue
        content = file.read_text(encoding="utf-8", errors="replace")
        package_dir = VENDOR_DIR / url.removeprefix(STATIC_PREFIX + "/").split("/")[0]
        for other in package_dir.rglob("*"):
            name = f"{STATIC_PREFIX}/{other.relative_to(VENDOR_DIR).as_posix()}"
            if other.is_file() and name not in loaded and other.name in content:
                loaded.add(name)
                queue.append(name)
    licence_names = {*LICENCE_FILES, "package.json", "README.md", "VENDORED.md"}
    unused = sorted(
        f"{STATIC_PREFIX}/{path.relative_to(VENDOR_DIR).as_posix()}"
        for path in VENDOR_DIR.rglob("*")
        if path.is_file() and PurePosixPath(path.name).name not in licence_names
    )
    assert [u for u in unused if u not in loaded] == []
