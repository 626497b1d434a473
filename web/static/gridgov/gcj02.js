/* WGS84 -> GCJ-02 and a Leaflet tile layer for GCJ-02 basemaps (AMap/Gaode).
 * The owner of the transform is gis/crs.py: its constants (ellipsoid, China rectangle) come from
 * the server in the page config (gg.setup calls configure), and a browser test runs this code on
 * the same points as gis.crs.wgs84_to_gcj02. The map stays in WGS84: each AMap tile is moved by
 * the GCJ-02 offset at its centre, so overlays, clicks and GPS need no shift; points reported in
 * GCJ-02 are converted by the server (the API's crs parameter). */
(function () {
  "use strict";
  var PI = Math.PI;
  var params = null;
  function configure(p) {
    if (!p || typeof p.a !== "number" || typeof p.ee !== "number" || !p.china || p.china.length !== 4) {
      throw new Error("gridgov.gcj02: the page config carries no GCJ-02 parameters");
    }
    params = p;
  }
  function required() {
    if (!params) throw new Error("gridgov.gcj02 is not configured (gg.setup passes cfg.gcj02)");
    return params;
  }
  function inChina(lon, lat) {
    var box = required().china; // west, south, east, north; strictly inside, as gis.crs.in_china
    return lon > box[0] && lon < box[2] && lat > box[1] && lat < box[3];
  }
  function tLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function tLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    return r;
  }
  function fromWgs84(lon, lat) {
    var p = required();
    if (!inChina(lon, lat)) return [lon, lat];
    var dLat = tLat(lon - 105.0, lat - 35.0), dLon = tLon(lon - 105.0, lat - 35.0);
    var radLat = lat / 180.0 * PI, magic = 1.0 - p.ee * Math.pow(Math.sin(radLat), 2);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((p.a * (1.0 - p.ee)) / (magic * sqrtMagic) * PI);
    dLon = (dLon * 180.0) / (p.a / sqrtMagic * Math.cos(radLat) * PI);
    return [lon + dLon, lat + dLat];
  }
  var gg = (window.gridgov = window.gridgov || {});
  gg.gcj02 = { configure: configure, fromWgs84: fromWgs84, inChina: inChina };

  if (window.L) {
    /* Tile content at GCJ-02 position q shows the world point wgs(q) ~ q - offset(q); draw the
     * tile that much further, measured at its centre (the offset varies < 1 px per tile). */
    L.TileLayer.Gcj02 = L.TileLayer.extend({
      _getTilePos: function (coords) {
        var pos = L.TileLayer.prototype._getTilePos.call(this, coords);
        var size = this.getTileSize();
        var centrePx = coords.scaleBy(size).add(size.divideBy(2));
        var c = this._map.unproject(centrePx, coords.z);
        var g = fromWgs84(c.lng, c.lat);
        var shown = L.latLng(2 * c.lat - g[1], 2 * c.lng - g[0]);
        return pos.add(this._map.project(shown, coords.z).subtract(centrePx));
      },
    });
  }
})();
