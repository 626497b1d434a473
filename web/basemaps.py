"""Basemaps for the map pages (``GRIDGOV_BASEMAP``) and how overlays are kept aligned with them.

gridgov's data is WGS84 (EPSG:4326). OpenStreetMap and Tianditu's ``_w`` layers are Web Mercator
tiles of WGS84/CGCS2000 coordinates (centimetres apart), so overlays sit on them unchanged. AMap
(Gaode) tiles are drawn in GCJ-02, a deliberately distorted frame 300–500 m away from WGS84 in most
of China. Rather than move every overlay (vector tiles, GeoJSON, markers, GPS position), the map
stays in WGS84 and the *basemap* is moved: ``web/static/gridgov/gcj02.js`` positions every AMap
tile by the GCJ-02 offset at the tile's centre. The offset changes by well under a pixel across
one tile at any zoom, so the result is as exact as shifting each overlay vertex, and clicks, the
locate-me position and every API coordinate stay in WGS84.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BasemapKind = Literal["none", "osm", "tianditu", "amap"]


@dataclass(frozen=True)
class Basemap:
    """One configured basemap: a tile URL template and how its frame relates to WGS84."""

    kind: BasemapKind
    url: str | None
    attribution: str
    subdomains: str = ""
    max_zoom: int = 19
    # Frame of the tile images: overlays are WGS84; "gcj02" tiles are re-positioned in the page.
    frame: Literal["wgs84", "gcj02"] = "wgs84"
    # Tianditu serves roads and labels as a separate transparent layer over its imagery/vector.
    label_url: str | None = None

    def as_config(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "url": self.url,
            "labelUrl": self.label_url,
            "attribution": self.attribution,
            "subdomains": self.subdomains,
            "maxZoom": self.max_zoom,
            "frame": self.frame,
        }


def basemap(kind: BasemapKind, tianditu_key: str | None = None) -> Basemap:
    """The basemap for a ``GRIDGOV_BASEMAP`` value.

    >>> basemap("none").url is None
    True
    >>> basemap("amap").frame
    'gcj02'
    >>> "tk=k1" in (basemap("tianditu", "k1").url or "")
    True
    """
    if kind == "none":
        return Basemap("none", None, "")
    if kind == "osm":
        return Basemap(
            "osm",
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
        )
    if kind == "tianditu":
        if not tianditu_key:
            raise ValueError("the Tianditu basemap needs GRIDGOV_TIANDITU_KEY")
        # The `_w` services are the Web-Mercator (EPSG:3857) tile matrix Leaflet uses.
        template = (
            "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
            "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=" + tianditu_key
        )
        return Basemap(
            "tianditu",
            template.replace("{layer}", "vec"),
            '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> GS(2024)0568号',
            subdomains="01234567",
            max_zoom=18,
            label_url=template.replace("{layer}", "cva"),
        )
    if kind == "amap":
        return Basemap(
            "amap",
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}",
            '&copy; <a href="https://www.amap.com/">高德地图</a> (GCJ-02, 已校正)',
            subdomains="1234",
            max_zoom=18,
            frame="gcj02",
        )
    raise ValueError(f"unknown basemap {kind!r}")
