"""The tile matrix sets vector tiles are cut in (OGC Two Dimensional Tile Matrix Set 2.0).

All three are morecantile definitions, never restated here:

- ``WebMercatorQuad`` (EPSG:3857): the slippy-map scheme of the map pages, Leaflet, MapLibre;
- ``WorldCRS84Quad`` (CRS84): OGC's geographic quad, 2 × 1 tiles at level 0. GDAL's OGC API
  driver prefers it and can only place vector tiles whose matrix set is in the CRS of the
  collection's extent (it does not reproject that extent for vector tiles);
- ``CGCS2000Quad`` (EPSG:4490): the same geographic quad in China's official frame, built with
  :meth:`morecantile.TileMatrixSet.custom`. It has no OGC-registered URI. Tianditu's ``_c``
  (经纬度) layers use this grid one level up: their level n is our level n − 1.

A geographic level z has tiles as wide in degrees as WebMercatorQuad's level z + 1, so those
are served one level less deep. Stored coordinates are EPSG:4326 (gis/crs.py); CGCS2000 is
within centimetres of WGS 84 and PROJ's transformation between them is the null one, so the
geographic quads draw the stored lon/lat as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import morecantile
from pyproj import CRS

from gis.errors import NotFound
from gis.queries.features import SUPPORTED_CRS

# WebMercatorQuad tiles are served for zoom 0–22; deeper levels would only repeat 22's data.
WEB_MERCATOR_MAX_ZOOM = 22


@dataclass(frozen=True)
class TileMatrixSetSpec:
    """One tile matrix set as served: its morecantile definition and how tiles are drawn."""

    id: str
    definition: morecantile.TileMatrixSet
    crs_uri: str
    # The SRID tile geometries are drawn in; 4326 means the stored lon/lat as they are.
    draw_srid: int
    max_zoom: int

    @property
    def uri(self) -> str | None:
        """The OGC-registered URI, or None for a matrix set defined here."""
        return str(self.definition.uri) if self.definition.uri else None

    @property
    def title(self) -> str:
        return str(self.definition.title or self.id)

    @property
    def geographic(self) -> bool:
        return self.draw_srid != 3857

    def min_zoom_for(self, web_mercator_zoom: int) -> int:
        """The level of this set whose tiles are as wide as WebMercatorQuad's given level."""
        return max(web_mercator_zoom - 1, 0) if self.geographic else web_mercator_zoom

    def check_tile(self, z: int, x: int, y: int) -> None:
        """Raise NotFound unless z/x/y (level/column/row) is a tile served in this set."""
        if not 0 <= z <= self.max_zoom:
            raise NotFound(f"{self.id} has tile matrices 0 to {self.max_zoom} here, not {z}")
        matrix = self.definition.matrix(z)
        if not (0 <= x < matrix.matrixWidth and 0 <= y < matrix.matrixHeight):
            raise NotFound(
                f"{self.id} level {z} has columns 0 to {matrix.matrixWidth - 1} and rows 0 to "
                f"{matrix.matrixHeight - 1}; got {x}/{y}"
            )

    def bounds(self, z: int, x: int, y: int) -> tuple[float, float, float, float]:
        """west, south, east, north of a tile in the matrix set's CRS (x = easting/longitude)."""
        box = self.definition.xy_bounds(morecantile.Tile(x, y, z))
        return box.left, box.bottom, box.right, box.top

    def tile_of(self, lon: float, lat: float, z: int) -> tuple[int, int]:
        """Column and row of the level-z tile holding a lon/lat point."""
        tile = self.definition.tile(lon, lat, z)
        return tile.x, tile.y

    def document(self) -> dict[str, Any]:
        """The TileMatrixSet JSON (2.0) of this set, as morecantile writes it (a fresh copy)."""
        return dict(self.definition.model_dump(mode="json", exclude_none=True))


def _cgcs2000_quad() -> morecantile.TileMatrixSet:
    return morecantile.TileMatrixSet.custom(
        [-180.0, -90.0, 180.0, 90.0],
        CRS.from_epsg(4490),
        id="CGCS2000Quad",
        title="CGCS2000 geographic quad (EPSG:4490, 2 × 1 tiles at level 0)",
        matrix_scale=[2, 1],
        minzoom=0,
        maxzoom=WEB_MERCATOR_MAX_ZOOM - 1,
    )


TILE_MATRIX_SETS: dict[str, TileMatrixSetSpec] = {
    spec.id: spec
    for spec in (
        TileMatrixSetSpec(
            "WebMercatorQuad",
            morecantile.tms.get("WebMercatorQuad"),
            SUPPORTED_CRS["EPSG:3857"].uri,
            3857,
            WEB_MERCATOR_MAX_ZOOM,
        ),
        TileMatrixSetSpec(
            "WorldCRS84Quad",
            morecantile.tms.get("WorldCRS84Quad"),
            SUPPORTED_CRS["OGC:CRS84"].uri,
            4326,
            WEB_MERCATOR_MAX_ZOOM - 1,
        ),
        TileMatrixSetSpec(
            "CGCS2000Quad",
            _cgcs2000_quad(),
            SUPPORTED_CRS["EPSG:4490"].uri,
            4326,
            WEB_MERCATOR_MAX_ZOOM - 1,
        ),
    )
}
WEB_MERCATOR_QUAD = TILE_MATRIX_SETS["WebMercatorQuad"]


def get_tile_matrix_set(tms_id: str) -> TileMatrixSetSpec:
    """The matrix set of that id, or NotFound naming those offered."""
    found = TILE_MATRIX_SETS.get(tms_id)
    if found is None:
        raise NotFound(
            f"no tile matrix set {tms_id[:40]!r}; offered: {', '.join(TILE_MATRIX_SETS)}"
        )
    return found
