/* 指挥中心: the live incident map (SSE), overdue cases flagged, a queue, KPIs per area. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});

  gg.commandPage = function (cfg) {
    var setup = gg.setup(cfg), map = setup.map, groups = setup.groups, s = gg.s;
    // Fit to the container's real size, not animated, so the first tile requests are for the
    // final view rather than a provisional one (as on the city map).
    map.invalidateSize(false);
    if (cfg.bounds) map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], { animate: false });
    var incidents = {}, markers = {};
    var live = gg.section("live");

    // Boundaries from the cached vector tiles, as on the city map: streets from z8, grids from
    // z13 (the grids' tiles start there). The whole city's grids as GeoJSON were 1–4 MB on a
    // city of 2,800 grids and delayed the first drawing past 2 s (bench/RESULTS.md, case 5).
    // Without the tiles service, the grids in view as GeoJSON.
    var boundaryLayers = [];
    if (cfg.services.tiles && L.vectorGrid) {
      [["streets", "street", 8, 2], ["grids", "grid", 13, 1]].forEach(function (spec) {
        var styles = {};
        styles[spec[0]] = { color: "#78909c", weight: spec[3], fill: false, className: "gg-area gg-area-" + spec[1] };
        var layer = L.vectorGrid.protobuf("/ogc/collections/" + spec[0] + "/tiles/WebMercatorQuad/{z}/{x}/{y}", {
          rendererFactory: L.svg.tile, interactive: false, minZoom: spec[2], maxNativeZoom: 22, vectorTileLayerStyles: styles,
        });
        boundaryLayers.push(layer);
        groups.grids.addLayer(layer);
      });
    } else {
      gg.loadCollection(cfg, "grids", map.getBounds().pad(0.2), 5000).then(function (features) {
        if (features) groups.grids.addLayer(L.geoJSON({ type: "FeatureCollection", features: features }, {
          style: { color: "#78909c", weight: 1, fillOpacity: 0, className: "gg-area gg-area-grid" }, interactive: false,
        }));
      }).catch(function (err) { console.warn("gridgov: grids", err); });
    }

    function style(inc) {
      return { radius: inc.overdue ? 9 : 6, color: inc.overdue ? "#d50000" : "#ff6f00", weight: 2, fillOpacity: 0.85,
        className: "gg-incident" + (inc.overdue ? " gg-overdue" : "") };
    }
    function upsert(inc, fresh) {
      if (inc.id === undefined || inc.id === null) return;
      var key = String(inc.id);
      if (markers[key]) { groups.incidents.removeLayer(markers[key]); delete markers[key]; }
      if (!inc.open) { delete incidents[key]; return; }
      incidents[key] = inc;
      if (inc.latlng) {
        var m = L.circleMarker(inc.latlng, style(inc)).bindPopup(gg.incidentPopup(inc));
        m.incidentId = key;
        markers[key] = m;
        groups.incidents.addLayer(m);
        if (fresh && m.getElement()) m.getElement().classList.add("gg-fresh");
      }
    }
    function renderQueue() {
      var items = Object.keys(incidents).map(function (k) { return incidents[k]; }).sort(function (a, b) {
        if (a.overdue !== b.overdue) return a.overdue ? -1 : 1;
        return String(a.dueAt || "9999").localeCompare(String(b.dueAt || "9999"));
      });
      var body = gg.section("queue");
      body.innerHTML = "<p class='gg-count-line'><span data-count='open'>" + items.length + "</span> " + gg.esc(s("filter.open")) +
        " · <span data-count='overdue'>" + items.filter(function (i) { return i.overdue; }).length + "</span> " + gg.esc(s("filter.overdue")) + "</p>" +
        "<ol class='gg-list gg-queue'>" + items.slice(0, 300).map(function (i) {
          return "<li data-id='" + gg.esc(i.id) + "' data-code='" + gg.esc(i.code) + "' class='" + (i.overdue ? "gg-overdue-row" : "") + "' tabindex='0'><b>" + gg.esc(i.code) + "</b> " +
            gg.esc(i.category || "") + " · " + gg.esc(s("status." + i.status)) + "<br><small>" + gg.esc(s("due")) + " " + gg.esc(gg.fmtTime(i.dueAt)) +
            (i.overdue ? " · " + gg.esc(s("overdue")) : "") + "</small></li>";
        }).join("") + "</ol>";
      renderLocalKpis(items);
    }
    var kpiFromApi = false;
    function renderLocalKpis(items) {
      if (kpiFromApi) return;
      var rows = {};
      items.forEach(function (i) {
        [["street", i.streetCode], ["community", i.communityCode]].forEach(function (pair) {
          if (!pair[1]) return;
          var r = rows[pair[1]] || (rows[pair[1]] = { level: pair[0], code: pair[1], open: 0, overdue: 0 });
          r.open++; if (i.overdue) r.overdue++;
        });
      });
      renderKpiRows(Object.keys(rows).sort().map(function (k) { return rows[k]; }));
    }
    function renderKpiRows(rows) {
      gg.section("kpi").innerHTML = "<table class='gg-stats gg-kpi'><tr><th></th><th>" + gg.esc(s("filter.open")) + "</th><th>" + gg.esc(s("filter.overdue")) + "</th><th>" + gg.esc(s("stat.on_time_rate")) + "</th></tr>" +
        rows.map(function (r) {
          var rate = r.on_time_rate !== undefined ? r.on_time_rate : r.on_time_closure_rate;
          return "<tr class='gg-kpi-" + gg.esc(r.level) + "' data-code='" + gg.esc(r.code) + "'><th>" + gg.esc(r.name || r.code) + "</th><td>" + gg.esc(r.open !== undefined ? r.open : r.open_incidents) + "</td><td>" +
            gg.esc(r.overdue !== undefined ? r.overdue : r.overdue_incidents) + "</td><td>" + (rate === undefined || rate === null ? "–" : gg.esc((100 * rate).toFixed(1) + "%")) + "</td></tr>";
        }).join("") + "</table>";
    }
    function loadKpis() {
      if (!cfg.services.metrics) return;
      Promise.all(["street", "community"].map(function (level) {
        var end = new Date(), start = new Date(end.getTime() - 30 * 86400000);
        return gg.fetchJSON("/api/v1/incidents/metrics?level=" + level + "&start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString())).then(function (json) {
          return gg.featuresOf(json.groups || json).map(function (r) { return Object.assign({ level: level }, gg.props(r)); });
        });
      })).then(function (parts) { kpiFromApi = true; renderKpiRows(parts[0].concat(parts[1])); })
        .catch(function (err) { console.warn("gridgov: metrics", err); });
    }

    if (!gg.mayReadIncidents(cfg)) {
      live.innerHTML = "<p class='gg-note'>" + gg.esc(cfg.services.incidents ? s("incidents_hidden") : s("unavailable")) + "</p>";
      gg.command = { incidents: incidents };
      return;
    }
    // Boundaries first: the open cases (up to 1,000, the largest response of the page) and the
    // KPIs are requested once the first boundary tiles have loaded (or after 1.5 s), so they do
    // not hold up the first drawing, as on the city map.
    function afterBoundaries(fn) {
      if (!boundaryLayers.length) { fn(); return; }
      var done = false, go = function () { if (!done) { done = true; fn(); } };
      boundaryLayers.forEach(function (layer) { layer.once("load", go); });
      setTimeout(go, 1500);
    }
    afterBoundaries(function () {
      gg.fetchJSON("/api/v1/incidents?" + gg.incidentQuery({ status: "open" }) + "&limit=1000").then(function (json) {
        gg.featuresOf(json).forEach(function (raw) { upsert(gg.incident(raw), false); });
        renderQueue();
      }).catch(function (err) { console.warn("gridgov: incidents", err); });
      loadKpis();
    });

    function onEvent(event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      // A stream event is the case's public summary: its id travels as incident_id (the
      // event's own id is event_id), its point as lon/lat (see docs/incidents.md).
      var inc = gg.incident(Object.assign({}, data, { id: data.incident_id }));
      upsert(inc, true);
      renderQueue();
      var flash = document.createElement("div");
      flash.className = "gg-flash";
      flash.textContent = s("new_incident") + " " + (inc.code || "");
      live.appendChild(flash);
      setTimeout(function () { flash.remove(); }, 8000);
    }
    if (cfg.services.stream && window.EventSource) {
      // EventSource reconnects by itself and resends Last-Event-ID, so no event is lost.
      var source = new EventSource("/api/v1/incidents/stream");
      var status = document.createElement("p");
      status.className = "gg-live-status";
      live.appendChild(status);
      source.onopen = function () { status.textContent = "● " + s("live"); status.classList.remove("gg-offline"); };
      source.onerror = function () { status.textContent = s("offline"); status.classList.add("gg-offline"); };
      source.addEventListener("incident", onEvent);
    }
    // A case becomes overdue as time passes, without any event.
    setInterval(function () {
      Object.keys(incidents).forEach(function (k) {
        var i = incidents[k], due = i.dueAt ? new Date(i.dueAt) : null;
        if (!i.overdue && due && due.getTime() < Date.now()) { i.overdue = true; upsert(i, false); }
      });
      renderQueue();
    }, 30000);
    gg.command = { incidents: incidents, markers: markers };
  };
})();
