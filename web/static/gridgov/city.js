/* 党建电子地图: boundaries, party organisations, services, incidents, thematic map, search. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});

  var LEVELS = ["street", "community", "grid", "building"];
  // Shown from this zoom on (a layer also needs its tree checkbox ticked).
  var AREA_MIN_ZOOM = { street: 0, community: 12, grid: 13, building: 16 };
  var ORG_MIN_ZOOM = { street: 0, community: 12, grid: 14, building: 16, household: 17 };
  var ORG_ICON = {
    street: "fa-landmark-flag", community: "fa-flag", grid: "fa-people-group",
    building: "fa-building-flag", household: "fa-house-flag",
  };
  var AREA_STYLE = {
    street: { color: "#b71c1c", weight: 3, fillOpacity: 0.01, fill: true },
    community: { color: "#e65100", weight: 2, dashArray: "6 4", fillOpacity: 0.01, fill: true },
    grid: { color: "#1565c0", weight: 1, fillColor: "#90caf9", fillOpacity: 0.15, fill: true },
    building: { color: "#546e7a", weight: 1, fillColor: "#b0bec5", fillOpacity: 0.5, fill: true },
  };
  var CLASS_COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

  /* Per-grid numbers of the thematic map, read from the grid features' properties. */
  function num(v) { return v === null || v === undefined || v === "" || isNaN(+v) ? null : +v; }
  function areaKm2(feature) {
    var layer = L.geoJSON(feature);
    var b = layer.getBounds();
    // Planar approximation per ring is enough for shading; the API's area_km2 wins when given.
    var total = 0;
    layer.eachLayer(function (l) {
      var rings = l.getLatLngs();
      (function walk(r) {
        if (r.length && r[0] instanceof L.LatLng) {
          var a = 0, k = 111.32 * Math.cos(b.getCenter().lat * Math.PI / 180);
          for (var i = 0, j = r.length - 1; i < r.length; j = i++) {
            a += (r[j].lng * k) * (r[i].lat * 110.57) - (r[i].lng * k) * (r[j].lat * 110.57);
          }
          total += Math.abs(a / 2);
        } else r.forEach(walk);
      })(rings);
    });
    return total;
  }
  var METRICS = {
    households: function (p) { return num(p.households !== undefined ? p.households : p.household_count); },
    members_per_100: function (p) {
      var v = num(p.members_per_100_households !== undefined ? p.members_per_100_households : p.party_members_per_100_households);
      if (v === null && num(p.households) && num(p.party_members) !== null) v = 100 * p.party_members / p.households;
      return v;
    },
    open_incidents: function (p) { return num(p.open_incidents !== undefined ? p.open_incidents : p.incidents_open); },
    on_time_rate: function (p) { return num(p.on_time_rate !== undefined ? p.on_time_rate : p.on_time_closure_rate); },
    density: function (p, feature) {
      if (num(p.party_members) === null) return null;
      // Tile features carry the geodesic area; only GeoJSON features can be measured here.
      var km2 = num(p.area_km2) || (feature && feature.geometry ? areaKm2(feature) : null);
      return km2 ? p.party_members / km2 : null;
    },
  };

  gg.cityPage = function (cfg) {
    var setup = gg.setup(cfg), map = setup.map, groups = setup.groups, s = gg.s;
    var state = { metric: "households", areaLayers: {}, loaded: {}, selected: null, breaks: null };

    LEVELS.forEach(function (level, i) {
      map.createPane("gg-" + level).style.zIndex = 401 + i;
    });
    map.createPane("gg-orgs").style.zIndex = 640;

    // Fit to the container's real size (the side panel narrows it), so the first data
    // requests are for the final view rather than a provisional one.
    map.invalidateSize(false);
    if (cfg.bounds) {
      // Not animated: an animated fit would leave the first tile and data requests at the
      // provisional zoom (wasted work that delays the real first view on a big city).
      // ``?area=<code>`` (a secretary's "my area", web/home.py) fits that area instead.
      var fit = cfg.focus ? cfg.focus.bounds : cfg.bounds;
      map.fitBounds([[fit[1], fit[0]], [fit[3], fit[2]]], { animate: false });
    } else if (cfg.empty) {
      gg.section("area").innerHTML = "<b>" + gg.esc(cfg.empty.title) + "</b><p>" + gg.esc(cfg.empty.body) + "</p>";
      return;
    }

    // ---- boundaries -------------------------------------------------------------------------
    function areaStyle(level, feature) {
      var style = Object.assign({}, AREA_STYLE[level], { className: "gg-area gg-area-" + level, pane: "gg-" + level });
      if (level === "grid" && state.metric !== "none" && state.breaks) {
        var value = METRICS[state.metric](feature.properties || {}, feature);
        style.fillColor = value === null ? "#e0e0e0" : CLASS_COLOURS[classOf(value)];
        style.fillOpacity = 0.7;
      }
      if (state.selected && feature.properties && state.selected === feature.properties.code) {
        style.weight = 4; style.color = "#ffd600";
      }
      return style;
    }
    function labelRange(level) {
      return { street: [11, 13], community: [13, 15], grid: [15, 21], building: [18, 21] }[level];
    }
    function drawLevel(level, features) {
      var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
        pane: "gg-" + level,
        style: function (f) { return areaStyle(level, f); },
        onEachFeature: function (feature, l) {
          var p = feature.properties || {};
          if (p.name) {
            l.bindTooltip(gg.esc(p.name) + (level === "building" && p.households !== undefined ? " · " + gg.esc(p.households) : ""), {
              permanent: true, direction: "center", className: "gg-label gg-label-" + level, interactive: false,
            });
          }
          l.on("click", function (e) { L.DomEvent.stopPropagation(e); showArea(level, feature); });
          // The code on the drawn element lets tests and assistive tools find an area's shape.
          l.on("add", function () { var el = l.getElement && l.getElement(); if (el) el.setAttribute("data-code", p.code); });
        },
      });
      if (state.areaLayers[level]) groups["area_" + level].removeLayer(state.areaLayers[level]);
      state.areaLayers[level] = layer;
      groups["area_" + level].addLayer(layer);
      if (level === "grid") { mergeRates(); recomputeBreaks(); }
    }
    function updateLabelClasses() {
      var z = map.getZoom(), c = map.getContainer();
      LEVELS.forEach(function (level) {
        var r = labelRange(level);
        c.classList.toggle("gg-labels-" + level, z >= r[0] && z < r[1]);
      });
    }

    // ---- boundaries from vector tiles --------------------------------------------------------
    // With the OGC tiles service routed, every level is a VectorGrid of cached MVT tiles (SVG, so
    // each drawn piece is a <path> with the area's code); a shape split over tiles is one area
    // with several pieces. Labels, search and the thematic classes come from the features of the
    // tiles loaded, so the page sends no GeoJSON request for boundaries at all.
    var tiled = !!(cfg.services.tiles && L.vectorGrid);
    // Tiles below a collection's TileJSON minzoom are not served; streets start at z8.
    var TILE_MIN_ZOOM = { street: 8, community: 12, grid: 13, building: 16 };
    var tileLayers = {}, tileIndex = {}, labelGroups = {};
    function tileFeatures(level, fn) {
      var layer = tileLayers[level];
      if (!layer || !layer._vectorTiles || !map.hasLayer(layer)) return;
      Object.keys(layer._vectorTiles).forEach(function (key) {
        var tile = layer._vectorTiles[key], features = tile._features || {};
        Object.keys(features).forEach(function (id) { fn(features[id].feature, tile, id); });
      });
    }
    function pathStyle(style) { return L.extend({}, L.Path.prototype.options, style); }
    function restyleTiles(level, onlyCode, extra) {
      tileFeatures(level, function (feat, tile, id) {
        if (onlyCode && id !== onlyCode) return;
        var style = areaStyle(level, feat);
        if (extra) style = L.extend(style, extra(style));
        feat.updateStyle(tile, pathStyle(style));
      });
    }
    // Per level: code → {properties, bounds (union of the pieces' pixel bounds, as lat/lon)}.
    function indexTiles(level) {
      var index = {};
      tileFeatures(level, function (feat, tile, id) {
        var entry = index[id] || (index[id] = { properties: feat.properties, bounds: null });
        var px = feat._pxBounds, c = tile.getCoord();
        if (!px) return;
        // No overzoom (tiles exist up to z22), so tiles are 256 px at their own zoom c.z.
        var origin = L.point(c.x * 256, c.y * 256);
        var b = L.latLngBounds(map.unproject(origin.add(px.min), c.z), map.unproject(origin.add(px.max), c.z));
        if (entry.bounds) entry.bounds.extend(b); else entry.bounds = b;
      });
      tileIndex[level] = index;
      return index;
    }
    // Labels are permanent tooltips; placing one forces a layout, so they are diffed by code
    // (kept while the area stays in view) instead of being rebuilt on every tile load.
    var labelsShown = {};
    function renderLabels() {
      var z = map.getZoom(), view = map.getBounds();
      LEVELS.forEach(function (level) {
        var group = labelGroups[level], shown = labelsShown[level] || (labelsShown[level] = {});
        if (!group) return;
        var r = labelRange(level), index = tileIndex[level] || {}, keep = {};
        if (z >= r[0] && z < r[1]) {
          Object.keys(index).forEach(function (code) {
            var e = index[code], p = e.properties;
            if (!p.name || !e.bounds || !view.contains(e.bounds.getCenter())) return;
            keep[code] = true;
            var text = gg.esc(p.name) + (level === "building" && p.households !== undefined ? " · " + gg.esc(p.households) : "");
            var old = shown[code];
            if (old && old.gridgovText === text && old.getLatLng().equals(e.bounds.getCenter())) return;
            if (old) group.removeLayer(old);
            var label = L.tooltip({ permanent: true, direction: "center", className: "gg-label gg-label-" + level, interactive: false })
              .setLatLng(e.bounds.getCenter()).setContent(text);
            label.gridgovText = text;
            shown[code] = label;
            group.addLayer(label);
          });
        }
        Object.keys(shown).forEach(function (code) {
          if (!keep[code]) { group.removeLayer(shown[code]); delete shown[code]; }
        });
      });
    }
    var reindex = gg.debounce(function () {
      LEVELS.forEach(indexTiles);
      mergeRates(); recomputeBreaks(); renderLabels();
    }, 150);
    function makeTileLayer(level) {
      var styles = {};
      styles[gg.collectionOfLevel(level)] = function (properties) { return areaStyle(level, { properties: properties }); };
      var layer = L.vectorGrid.protobuf("/ogc/collections/" + gg.collectionOfLevel(level) + "/tiles/WebMercatorQuad/{z}/{x}/{y}", {
        pane: "gg-" + level, interactive: true, rendererFactory: L.svg.tile,
        minZoom: Math.max(AREA_MIN_ZOOM[level], TILE_MIN_ZOOM[level]), maxNativeZoom: 22,
        vectorTileLayerStyles: styles,
        getFeatureId: function (f) { return f.properties.code; },
      });
      layer.on("click", function (e) {
        L.DomEvent.stopPropagation(e);
        showArea(level, { properties: e.layer.properties });
      });
      // Hover: every piece of the area (it may be split over tiles) drawn a little heavier.
      layer.on("mouseover", function (e) {
        restyleTiles(level, e.layer.properties.code, function (st) { return { weight: st.weight + 2, fillOpacity: Math.min(1, (st.fillOpacity || 0) + 0.15) }; });
      });
      layer.on("mouseout", function (e) { restyleTiles(level, e.layer.properties.code); });
      layer.on("tileload", function (e) {
        var tile = layer._vectorTiles[layer._tileCoordsToKey(e.coords)], features = (tile && tile._features) || {};
        var ids = Object.keys(features);
        // The code on the drawn element lets tests and assistive tools find an area's shape.
        ids.forEach(function (id) { var path = features[id].feature._path; if (path) path.setAttribute("data-code", id); });
        if (level === "grid" && ids.length && !window.gridgovTiming) window.gridgovTiming = { firstGrid: performance.now() };
        reindex();
      });
      layer.on("tileunload", reindex);
      return layer;
    }
    if (tiled) {
      LEVELS.forEach(function (level) {
        tileLayers[level] = state.areaLayers[level] = makeTileLayer(level);
        labelGroups[level] = L.layerGroup();
        groups["area_" + level].addLayer(tileLayers[level]).addLayer(labelGroups[level]);
      });
    }

    // One request in flight per level: a newer view aborts the older request, and a response
    // that arrives after the user zoomed out of the level's range is dropped, not drawn.
    var inFlight = {};
    function wanted(level) { return map.hasLayer(groups["area_" + level]) && map.getZoom() >= AREA_MIN_ZOOM[level]; }
    function loadAreas() {
      var view = map.getBounds();
      LEVELS.forEach(function (level) {
        var group = groups["area_" + level];
        if (tiled) return;
        if (!wanted(level)) {
          if (inFlight[level]) { inFlight[level].abort(); inFlight[level] = null; }
          if (state.areaLayers[level]) { group.removeLayer(state.areaLayers[level]); state.areaLayers[level] = null; state.loaded[level] = null; }
          return;
        }
        if (state.loaded[level] && state.loaded[level].contains(view)) return;
        if (inFlight[level]) inFlight[level].abort();
        var request = inFlight[level] = window.AbortController ? new AbortController() : { abort: function () {}, signal: undefined };
        var padded = view.pad(0.5);
        var go = level === "building" ? Promise.resolve(false) : Promise.resolve(true);
        go.then(function (fallback) {
          if (!fallback) return;
          return gg.loadCollection(cfg, gg.collectionOfLevel(level), padded, 5000, request.signal).then(function (features) {
            if (features === null || inFlight[level] !== request || !wanted(level)) return;
            inFlight[level] = null;
            state.loaded[level] = padded;
            drawLevel(level, features);
          });
        }).catch(function (err) { if (!err || err.name !== "AbortError") console.warn("gridgov: " + level, err); });
      });
    }

    // ---- thematic map -----------------------------------------------------------------------
    function gridValues() {
      var layer = state.areaLayers.grid, values = [];
      if (!layer || state.metric === "none") return values;
      if (tiled) {
        var index = tileIndex.grid || {};
        Object.keys(index).forEach(function (code) {
          var v = METRICS[state.metric](index[code].properties, index[code]);
          if (v !== null) values.push(v);
        });
        return values.sort(function (a, b) { return a - b; });
      }
      layer.eachLayer(function (l) {
        var v = METRICS[state.metric](l.feature.properties || {}, l.feature);
        if (v !== null) values.push(v);
      });
      return values.sort(function (a, b) { return a - b; });
    }
    function recomputeBreaks() {
      var values = gridValues();
      state.breaks = values.length ? [0.2, 0.4, 0.6, 0.8].map(function (q) { return values[Math.floor(q * (values.length - 1))]; }) : null;
      restyle("grid");
      renderLegend();
    }
    function classOf(value) {
      var i = 0;
      while (i < state.breaks.length && value > state.breaks[i]) i++;
      return i;
    }
    // Grid features carry households and open incidents; the on-time closure rate comes from the
    // incident metrics (last 365 days) and is merged into the features' properties once.
    var rates = null;
    function loadRates() {
      if (rates || !cfg.services.metrics) return Promise.resolve();
      var end = new Date(), start = new Date(end.getTime() - 365 * 86400000);
      return gg.fetchJSON("/api/v1/incidents/metrics?level=grid&start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString()))
        .then(function (json) {
          rates = {};
          // The metrics API answers {level, start, end, rows: [{area_code, on_time_rate, …}]}.
          (json.rows || []).forEach(function (r) { rates[r.area_code] = r; });
        }).catch(function (err) { rates = {}; console.warn("gridgov: metrics", err); });
    }
    function restyle(level) {
      if (tiled) restyleTiles(level);
      else if (state.areaLayers[level]) state.areaLayers[level].setStyle(function (f) { return areaStyle(level, f); });
    }
    function mergeRates() {
      if (!rates || !state.areaLayers.grid) return;
      if (tiled) {
        tileFeatures("grid", function (feat) {
          var p = feat.properties, r = rates[p.code];
          if (r && p.on_time_rate === undefined) p.on_time_rate = r.on_time_rate;
        });
        return;
      }
      state.areaLayers.grid.eachLayer(function (l) {
        var p = l.feature.properties, r = rates[p.code];
        if (r && p.on_time_rate === undefined) p.on_time_rate = r.on_time_rate;
      });
    }
    cfg.metrics.concat(["none"]).forEach(function (metric) {
      var group = groups["choropleth_" + metric];
      group.on("add", function () {
        state.metric = metric;
        if (metric === "on_time_rate") loadRates().then(function () { mergeRates(); recomputeBreaks(); });
        else recomputeBreaks();
      });
    });

    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "gg-legend leaflet-control");
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    legend.addTo(map);
    function renderLegend() {
      var div = legend.getContainer();
      var html = "<h3>" + gg.esc(s("legend")) + "</h3><ul class='gg-legend-orgs'>";
      Object.keys(ORG_ICON).forEach(function (level) {
        html += "<li><span class='gg-org gg-org-" + level + "'><i class='fa-solid " + ORG_ICON[level] + "'></i></span>" + gg.esc(s("level." + level)) + "</li>";
      });
      html += "<li><span class='gg-facility'><i class='fa-solid fa-hand-holding-heart'></i></span>" + gg.esc(s("facility")) + "</li></ul>";
      if (state.metric !== "none") {
        var label = state.metric === "density" ? s("stat.density") : s("stat." + state.metric);
        html += "<h4 data-metric='" + state.metric + "'>" + gg.esc(label) + "</h4>";
        if (!state.breaks) {
          html += "<p class='gg-note'>" + gg.esc(s("choropleth.no_data")) + "</p>";
        } else {
          var b = state.breaks, fmt = gg.fmtNumber;
          var edges = ["≤ " + fmt(b[0]), fmt(b[0]) + "–" + fmt(b[1]), fmt(b[1]) + "–" + fmt(b[2]), fmt(b[2]) + "–" + fmt(b[3]), "> " + fmt(b[3])];
          html += "<ul class='gg-legend-classes'>" + edges.map(function (e, i) {
            return "<li><i style='background:" + CLASS_COLOURS[i] + "'></i>" + gg.esc(e) + "</li>";
          }).join("") + "</ul>";
        }
      }
      div.innerHTML = html;
    }
    renderLegend();

    // ---- area details -----------------------------------------------------------------------
    var STAT_KEYS = ["households", "residents", "party_members", "party_members_per_100_households", "buildings", "grids",
      "service_facilities", "open_incidents", "overdue_incidents", "on_time_rate", "closure_rate"];
    function statRows(stats) {
      var html = "";
      var keys = STAT_KEYS.filter(function (k) { return stats[k] !== undefined; })
        .concat(Object.keys(stats).filter(function (k) { return STAT_KEYS.indexOf(k) < 0 && typeof stats[k] === "number"; }));
      keys.forEach(function (k) {
        var label = k === "party_members_per_100_households" ? s("stat.members_per_100") : k === "service_facilities" ? s("stat.facilities") : s("stat." + k);
        html += "<tr data-stat='" + gg.esc(k) + "'><th>" + gg.esc(label === "stat." + k ? k : label) + "</th><td class='gg-value'>" + gg.esc(gg.fmtNumber(stats[k])) + "</td></tr>";
      });
      var orgs = stats.party_orgs || stats.orgs_by_level || stats.party_orgs_by_level;
      if (orgs && typeof orgs === "object") {
        Object.keys(orgs).forEach(function (level) {
          html += "<tr data-stat='party_orgs." + gg.esc(level) + "'><th>" + gg.esc(s("stat.party_orgs") + " · " + s("level." + level)) + "</th><td class='gg-value'>" + gg.esc(orgs[level]) + "</td></tr>";
        });
      }
      return html;
    }
    // The party organisation serving an area, from the party_orgs layer already on the page.
    var orgsByArea = {};
    function partyOrgOf(code) { return orgsByArea[code] || null; }
    function showArea(level, feature) {
      var p = feature.properties || {};
      state.selected = p.code;
      LEVELS.forEach(restyle);
      var body = gg.section("area");
      document.body.classList.remove("gg-panel-closed");
      var head = "<div class='gg-area-head' data-code='" + gg.esc(p.code) + "'><b class='gg-area-name'>" + gg.esc(p.name) + "</b> <small>" + gg.esc(s("level." + level)) + " · " + gg.esc(p.code) + "</small></div>";
      var link = level === "grid" ? "<p><a class='gg-grid-link' href='/grid/" + encodeURIComponent(p.code) + "'>" + gg.esc(s("open_page")) + " →</a></p>" : "";
      if (!cfg.services.area || level === "building") {
        body.innerHTML = head + "<table class='gg-stats'>" + statRows(p) + "</table>" + link + (cfg.services.area ? "" : "<p class='gg-note'>" + gg.esc(s("no_stats")) + "</p>");
        return;
      }
      body.innerHTML = head + "<p>" + gg.esc(s("loading")) + "</p>";
      gg.fetchJSON("/api/v1/areas/" + encodeURIComponent(p.code)).then(function (json) {
        if (state.selected !== p.code) return;
        var stats = json.statistics || {};
        // A grid's chief, workers and branch come with the area (masked by the API for this
        // viewer); a street's or community's own organisation from the party_orgs layer.
        var staff = json.staff || {};
        var branch = json.party_branch || partyOrgOf(p.code);
        var html = head + "<table class='gg-stats'>" + statRows(stats) + "</table>";
        if (staff.chief) html += "<p data-field='chief'>" + gg.esc(s("chief")) + "：" + gg.personHtml(staff.chief) + "</p>";
        if (staff.workers && staff.workers.length) {
          html += "<p data-field='workers'>" + gg.esc(s("workers")) + "：" + staff.workers.map(gg.personHtml).join("、") + "</p>";
        }
        if (branch) html += "<p data-field='party_branch'>" + gg.esc(s("party_branch")) + "：" + gg.branchHtml(branch) + "</p>";
        body.innerHTML = html + link;
        partyPanel(p.code, body);
      }).catch(function (err) {
        body.innerHTML = head + "<p class='gg-note'>" + gg.esc(s("unavailable")) + " (" + gg.esc(err.status || "") + ")</p>" + link;
      });
    }

    // ---- party organisations, facilities ----------------------------------------------------
    var orgState = { loaded: null };
    function orgMarker(feature) {
      var p = feature.properties || {}, level = p.level || "community", latlng = gg.point(feature);
      if (!latlng || !ORG_ICON[level]) return null;
      return L.marker(latlng, {
        pane: "gg-orgs",
        icon: L.divIcon({ className: "gg-org gg-org-" + level, html: "<i class='fa-solid " + ORG_ICON[level] + "'></i>", iconSize: [24, 24], iconAnchor: [12, 12] }),
        title: p.name, keyboard: false,
      }).bindPopup("<b>" + gg.esc(p.name) + "</b><br>" + gg.esc(p.org_type || "") + (p.members !== undefined ? "<br>" + gg.esc(s("stat.party_members")) + "：" + gg.esc(p.members) : ""));
    }
    function loadOrgs() {
      if (!cfg.services.items) return;
      var view = map.getBounds(), zoom = map.getZoom();
      var key = zoom >= 17 ? 17 : zoom >= 16 ? 16 : zoom >= 14 ? 14 : zoom >= 12 ? 12 : 0;
      if (orgState.loaded && orgState.key === key && orgState.loaded.contains(view)) return;
      var padded = view.pad(0.3);
      // Only the levels drawn at this zoom: at city scale the household-level 党员中心户 alone
      // are megabytes of GeoJSON that would never be shown.
      var levels = Object.keys(ORG_MIN_ZOOM).filter(function (level) { return zoom >= ORG_MIN_ZOOM[level]; });
      Promise.all(levels.map(function (level) {
        return gg.loadCollection(cfg, "party_orgs", padded, 5000, undefined, { level: level });
      })).then(function (lists) {
        var features = [].concat.apply([], lists.map(function (l) { return l || []; }));
        orgState.loaded = padded; orgState.key = key;
        window.gridgovOrgBounds = [padded.getWest(), padded.getSouth(), padded.getEast(), padded.getNorth()];
        Object.keys(ORG_ICON).forEach(function (level) { groups["org_" + level].clearLayers(); });
        features.forEach(function (f) {
          var level = (f.properties || {}).level;
          if (f.properties && f.properties.area_code && ["street", "community", "grid"].indexOf(level) >= 0) orgsByArea[f.properties.area_code] = f.properties;
          if (!ORG_ICON[level] || zoom < ORG_MIN_ZOOM[level]) return;
          var m = orgMarker(f);
          if (m) groups["org_" + level].addLayer(m);
        });
      }).catch(function (err) { console.warn("gridgov: party_orgs", err); });
    }
    // Below this zoom only the 党群服务中心 (and their circles) are shown: at city scale the
    // thousands of service stations are clutter, and as DOM markers they made zooming slow.
    var FACILITY_MIN_ZOOM = 14, facilitiesLoaded = null, facilitiesAll = null;
    function loadFacilities() {
      if (!cfg.services.items) return;
      var view = map.getBounds(), all = map.getZoom() >= FACILITY_MIN_ZOOM;
      if (facilitiesLoaded && facilitiesAll === all && facilitiesLoaded.contains(view)) return;
      var padded = view.pad(0.5);
      gg.loadCollection(cfg, "service_facilities", padded, 2000, undefined, all ? {} : { kind: "党群服务中心" }).then(function (features) {
        facilitiesLoaded = padded; facilitiesAll = all;
        groups.facilities.clearLayers(); groups.circle15.clearLayers();
        (features || []).forEach(function (f) {
          var p = f.properties || {}, latlng = gg.point(f);
          if (!latlng) return;
          var centre = p.kind === "党群服务中心";
          groups.facilities.addLayer(L.marker(latlng, {
            icon: L.divIcon({ className: "gg-facility" + (centre ? " gg-facility-centre" : ""), html: "<i class='fa-solid fa-hand-holding-heart'></i>", iconSize: [22, 22], iconAnchor: [11, 11] }),
            title: p.name,
          }).bindPopup("<b>" + gg.esc(p.name) + "</b><br>" + gg.esc(p.kind) + "<br>" + gg.esc(s("address")) + "：" + gg.esc(p.address || "") + "<br>" + gg.esc(s("opening_hours")) + "：" + gg.esc(p.opening_hours || "")));
          // 15 minutes on foot at about 67 m per minute: a 1 km circle around each centre.
          if (centre) groups.circle15.addLayer(L.circle(latlng, { radius: 1000, className: "gg-circle15", color: "#c62828", weight: 1, fillOpacity: 0.06, interactive: false }));
        });
      }).catch(function (err) { console.warn("gridgov: facilities", err); });
    }

    // ---- regional party building (区域化党建) --------------------------------------------------
    // Units on four layers (驻区单位, 共建单位, 两新组织, 红色物业), bbox-limited; one request for
    // all four, each feature drawn on every layer it belongs to (properties.layers).
    var REGIONAL_ICON = { resident: "fa-building", joint: "fa-handshake", two_new: "fa-store", red_property: "fa-house-flag" };
    var REGIONAL_MIN_ZOOM = 13, regionalLoaded = null;
    function loadRegional() {
      if (!cfg.services.regional_units) return;
      if (map.getZoom() < REGIONAL_MIN_ZOOM) { cfg.regionalLayers.forEach(function (k) { groups["regional_" + k].clearLayers(); }); regionalLoaded = null; return; }
      var view = map.getBounds();
      if (regionalLoaded && regionalLoaded.contains(view)) return;
      var padded = view.pad(0.3);
      gg.fetchJSON("/api/v1/regional/units?bbox=" + gg.bbox(padded)).then(function (json) {
        regionalLoaded = padded;
        cfg.regionalLayers.forEach(function (k) { groups["regional_" + k].clearLayers(); });
        (json.features || []).forEach(function (f) {
          var p = f.properties || {}, latlng = gg.point(f);
          if (!latlng) return;
          (p.layers || []).forEach(function (k) {
            if (!groups["regional_" + k]) return;
            groups["regional_" + k].addLayer(L.marker(latlng, {
              icon: L.divIcon({ className: "gg-regional gg-regional-" + k, html: "<i class='fa-solid " + REGIONAL_ICON[k] + "'></i>", iconSize: [20, 20], iconAnchor: [10, 10] }),
              title: p.name, keyboard: false,
            }).bindPopup("<b>" + gg.esc(p.name) + "</b><br>" + gg.esc(p.kind) + (p.party_org_name ? "<br>" + gg.esc(p.party_org_name) : "") + "<br>" + gg.esc(p.address || "")));
          });
        });
      }).catch(function (err) { console.warn("gridgov: regional units", err); });
    }
    // The party-building panel of an area (members by type, 双报到 coverage, 三会一课
    // completeness): for the party-work roles, in their scope; the API says 401/403 otherwise.
    var PARTY_ROWS = [
      ["members", "members"], ["members", "full_members"], ["members", "probationary"], ["members", "in_service"],
      ["members", "not_in_service"], ["members", "coverage"], ["dual", "reported_units"], ["dual", "hours"],
      ["org_life", "rate"], ["org_life", "complete_branches"],
    ];
    function partyPanel(code, body) {
      if (!cfg.services.party_panel || !cfg.viewer.username) return;
      gg.fetchJSON("/api/v1/regional/areas/" + encodeURIComponent(code) + "/panel").then(function (json) {
        if (state.selected !== code) return;
        var html = "<h4>" + gg.esc(s("party_panel")) + "</h4><table class='gg-stats gg-party-panel' data-code='" + gg.esc(code) + "'>";
        PARTY_ROWS.forEach(function (r) {
          var v = json[r[0]][r[1]], label = r[0] === "org_life" && r[1] === "rate" ? s("party.orglife_rate") : s("party." + r[1]);
          var shown = v === null || v === undefined ? "—" : (r[1] === "coverage" || r[1] === "rate") ? (100 * v).toFixed(1) + "%" : gg.fmtNumber(v);
          html += "<tr data-stat='" + gg.esc(r[0] + "." + r[1]) + "'><th>" + gg.esc(label) + "</th><td class='gg-value'>" + gg.esc(shown) + "</td></tr>";
        });
        var div = document.createElement("div"); div.className = "gg-party"; div.innerHTML = html + "</table>";
        body.appendChild(div);
      }).catch(function () { /* not a party-work role, or outside the scope: no panel */ });
    }

    // ---- incidents --------------------------------------------------------------------------
    var clusters = L.markerClusterGroup ? L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 }) : L.layerGroup();
    groups.incident_clusters.addLayer(clusters);
    var heat = L.heatLayer ? L.heatLayer([], { radius: 22, blur: 18, maxZoom: 17 }) : null;
    if (heat) groups.incident_heat.addLayer(heat);
    var filterForm = document.querySelector(".gg-filter-form");
    var incidentNote = document.getElementById("gg-incident-note");
    function filters() {
      var data = new FormData(filterForm);
      var since = new Date(Date.now() - (+data.get("since") || 7) * 86400000);
      return { status: data.get("status"), category: data.get("category"), since: since.toISOString() };
    }
    function loadIncidents() {
      var f = filters(), bbox = gg.bbox(map.getBounds().pad(0.3));
      var q = gg.incidentQuery({ bbox: bbox, status: f.status, category: f.category, start: f.since, end: new Date().toISOString() });
      if (gg.mayReadIncidents(cfg)) {
        gg.fetchJSON("/api/v1/incidents?" + q + "&limit=" + cfg.incidentPageLimit).then(function (json) {
          var items = gg.featuresOf(json).map(gg.incident).filter(function (i) { return i.latlng; });
          clusters.clearLayers();
          clusters.addLayers ? clusters.addLayers(items.map(marker)) : items.forEach(function (i) { clusters.addLayer(marker(i)); });
          if (heat) heat.setLatLngs(items.map(function (i) { return [i.latlng.lat, i.latlng.lng, 1]; }));
        }).catch(function (err) { console.warn("gridgov: incidents", err); });
      } else if (cfg.services.aggregates) {
        // The public sees counts per grid or hexagon, never single cases.
        incidentNote.hidden = false; incidentNote.textContent = s("incidents_hidden");
        gg.fetchJSON("/api/v1/incidents/aggregates?by=hex&zoom=" + map.getZoom() + "&" + q.replace(/(^|&)overdue=true/, "")).then(function (json) {
          var cells = gg.featuresOf(json);
          if (heat) heat.setLatLngs(cells.map(function (c) {
            var p = gg.props(c), ll = gg.point(c) || (c.geometry ? L.geoJSON(c).getBounds().getCenter() : null);
            return ll ? [ll.lat, ll.lng, +(p.count || p.total || 1)] : null;
          }).filter(Boolean));
        }).catch(function (err) { console.warn("gridgov: aggregates", err); });
      } else {
        incidentNote.hidden = false; incidentNote.textContent = s("incidents_hidden");
      }
    }
    function marker(inc) {
      return L.circleMarker(inc.latlng, { radius: 6, className: "gg-incident" + (inc.overdue ? " gg-overdue" : ""), color: inc.overdue ? "#d50000" : "#ff6f00", weight: 2, fillOpacity: 0.8 })
        .bindPopup(gg.incidentPopup(inc));
    }
    if (filterForm) filterForm.addEventListener("change", loadIncidents);

    // ---- search -----------------------------------------------------------------------------
    var input = document.getElementById("gg-search-input"), results = document.getElementById("gg-search-results");
    function localSearch(q) {
      var found = [];
      LEVELS.forEach(function (level) {
        var layer = state.areaLayers[level];
        if (!layer) return;
        if (tiled) {
          var index = tileIndex[level] || {};
          Object.keys(index).forEach(function (code) {
            var p = index[code].properties;
            if ((p.name && p.name.indexOf(q) >= 0) || code.indexOf(q) === 0) {
              found.push({ name: p.name, code: code, level: level, bounds: index[code].bounds, feature: { properties: p } });
            }
          });
          return;
        }
        layer.eachLayer(function (l) {
          var p = l.feature.properties || {};
          if ((p.name && p.name.indexOf(q) >= 0) || (p.code && String(p.code).indexOf(q) === 0)) {
            found.push({ name: p.name, code: p.code, level: level, bounds: l.getBounds(), feature: l.feature });
          }
        });
      });
      return Promise.resolve(found.slice(0, 20));
    }
    function remoteSearch(q) {
      return gg.fetchJSON("/api/v1/search?q=" + encodeURIComponent(q) + "&limit=20").then(function (json) {
        return gg.featuresOf(json).map(function (r) {
          var p = gg.props(r), b = p.bbox || r.bbox;
          return {
            name: p.name || p.label, code: p.code, level: p.subtype || p.level || p.type, address: p.address,
            bounds: b ? L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]) : null, point: gg.point(r),
            feature: r.type === "Feature" ? r : { properties: p },
          };
        });
      });
    }
    var runSearch = gg.debounce(function () {
      var q = input.value.trim();
      if (!q) { results.hidden = true; return; }
      (cfg.services.search ? remoteSearch(q) : localSearch(q)).then(function (found) {
        results.innerHTML = found.length ? "" : "<li class='gg-note'>" + gg.esc(s("search_none")) + "</li>";
        found.forEach(function (r) {
          var li = document.createElement("li");
          li.innerHTML = "<b>" + gg.esc(r.name) + "</b> <small>" + gg.esc(s("level." + r.level) !== "level." + r.level ? s("level." + r.level) : (r.level || "")) + " " + gg.esc(r.code || r.address || "") + "</small>";
          li.tabIndex = 0;
          li.addEventListener("click", function () {
            results.hidden = true;
            if (r.bounds) map.flyToBounds(r.bounds, { maxZoom: 18 });
            else if (r.point) map.flyTo(r.point, 17);
            if (["street", "community", "grid"].indexOf(r.level) >= 0 && r.feature) showArea(r.level, r.feature);
          });
          results.appendChild(li);
        });
        results.hidden = false;
      }).catch(function (err) { console.warn("gridgov: search", err); });
    }, 250);
    if (input) input.addEventListener("input", runSearch);

    // ---- wiring -----------------------------------------------------------------------------
    var missing = ["items", "area", "search", "incidents"].filter(function (k) { return !cfg.services[k]; });
    if (missing.length) gg.note(s("unavailable") + "：" + missing.join(", "));
    function refresh() { updateLabelClasses(); if (tiled) renderLabels(); loadAreas(); loadOrgs(); loadRegional(); loadFacilities(); loadIncidents(); }
    map.on("moveend", gg.debounce(refresh, 200));
    // First view: boundaries first. Markers and incident aggregates wait until the first tile
    // layer has loaded (or 1.5 s), so on a single-worker server they do not compete with it.
    var firstView = true;
    function afterBoundaries(fn) {
      if (!tiled || !firstView) { fn(); return; }
      var done = false, go = function () { if (!done) { done = true; firstView = false; fn(); } };
      LEVELS.forEach(function (level) { tileLayers[level].once("load", go); });
      setTimeout(go, 1500);
    }
    LEVELS.forEach(function (level) { groups["area_" + level].on("add", function () { state.loaded[level] = null; loadAreas(); }); });
    updateLabelClasses(); loadAreas();
    afterBoundaries(function () { loadOrgs(); loadRegional(); loadFacilities(); loadIncidents(); });
    if (cfg.focus) showArea(cfg.focus.level, { properties: { code: cfg.focus.code, name: cfg.focus.name } });
    gg.city = { state: state, showArea: showArea, refresh: refresh };
  };
})();
