/* 网格长工作图: one grid with its buildings, party groups, open incidents and staff. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});

  gg.gridPage = function (cfg) {
    var setup = gg.setup(cfg), map = setup.map, groups = setup.groups, s = gg.s, grid = cfg.grid;
    var b = grid.bounds, bounds = L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]);
    map.fitBounds(bounds, { padding: [20, 20] });
    var around = bounds.pad(0.05);

    function list(id, items, render) {
      var body = gg.section(id);
      body.innerHTML = items.length ? "<ol class='gg-list'>" + items.map(render).join("") + "</ol>" : "<p class='gg-note'>" + gg.esc(s("none")) + "</p>";
    }
    function unavailable(id) { gg.section(id).innerHTML = "<p class='gg-note'>" + gg.esc(s("unavailable")) + "</p>"; }
    function inGrid(p) { return p.grid_code === undefined || p.grid_code === grid.code; }

    gg.loadCollection(cfg, "grids", around, 200).then(function (features) {
      (features || []).forEach(function (f) {
        var mine = f.properties && f.properties.code === grid.code;
        groups.grid.addLayer(L.geoJSON(f, {
          style: mine ? { color: "#1565c0", weight: 3, fillOpacity: 0.05, className: "gg-area gg-area-grid gg-this-grid" }
            : { color: "#90a4ae", weight: 1, fillOpacity: 0, dashArray: "4 4", className: "gg-area gg-area-grid" },
          interactive: false,
        }));
      });
    }).catch(function (err) { console.warn("gridgov: grid", err); });

    if (cfg.services.items) {
      gg.loadCollection(cfg, "buildings", around, 2000).then(function (features) {
        var mine = (features || []).filter(function (f) { return inGrid(f.properties || {}); });
        mine.forEach(function (f) {
          var p = f.properties || {};
          groups.buildings.addLayer(L.geoJSON(f, { style: { color: "#455a64", weight: 1, fillColor: "#b0bec5", fillOpacity: 0.6, className: "gg-area gg-area-building" } })
            .bindTooltip(gg.esc(p.name) + (p.households !== undefined ? "<br>" + gg.esc(p.households) + " " + gg.esc(s("stat.households")) : ""), { permanent: true, direction: "center", className: "gg-label gg-label-building-count" }));
        });
        list("buildings", mine, function (f) {
          var p = f.properties || {};
          return "<li data-code='" + gg.esc(p.code) + "'>" + gg.esc(p.name) + " <span class='gg-count'>" + gg.esc(p.households !== undefined ? p.households : "–") + "</span> " + gg.esc(s("stat.households")) + "</li>";
        });
      }).catch(function () { unavailable("buildings"); });
      gg.loadCollection(cfg, "party_orgs", around, 2000).then(function (features) {
        var mine = (features || []).filter(function (f) {
          var p = f.properties || {};
          return ["grid", "building", "household"].indexOf(p.level) >= 0 && inGrid(p) && bounds.contains(gg.point(f));
        });
        mine.forEach(function (f) {
          var p = f.properties;
          groups.orgs.addLayer(L.marker(gg.point(f), {
            icon: L.divIcon({ className: "gg-org gg-org-" + p.level, html: "<i class='fa-solid " + ({ grid: "fa-people-group", building: "fa-building-flag", household: "fa-house-flag" })[p.level] + "'></i>", iconSize: [24, 24], iconAnchor: [12, 12] }),
            title: p.name,
          }).bindPopup(gg.esc(p.name)));
        });
        list("orgs", mine, function (f) { return "<li>" + gg.esc(f.properties.name) + " <small>" + gg.esc(f.properties.org_type || "") + "</small></li>"; });
      }).catch(function () { unavailable("orgs"); });
    } else {
      unavailable("buildings"); unavailable("orgs");
    }

    if (gg.mayReadIncidents(cfg)) {
      gg.fetchJSON("/api/v1/incidents?within=" + encodeURIComponent(grid.code) + "&" + gg.incidentQuery({ status: "open" }) + "&limit=500").then(function (json) {
        var items = gg.featuresOf(json).map(gg.incident).filter(function (i) { return i.open; })
          .sort(function (a, c) { return String(a.dueAt).localeCompare(String(c.dueAt)); });
        items.forEach(function (i) {
          if (i.latlng) groups.incidents.addLayer(L.circleMarker(i.latlng, { radius: 7, className: "gg-incident" + (i.overdue ? " gg-overdue" : ""), color: i.overdue ? "#d50000" : "#ff6f00" }).bindPopup(gg.incidentPopup(i)));
        });
        list("incidents", items, function (i) {
          return "<li class='" + (i.overdue ? "gg-overdue-row" : "") + "'><b>" + gg.esc(i.code) + "</b> " + gg.esc(i.category) + " · " + gg.esc(s("status." + i.status)) +
            "<br><small>" + gg.esc(s("due")) + " " + gg.esc(gg.fmtTime(i.dueAt)) + (i.overdue ? " · " + gg.esc(s("overdue")) : "") + "</small></li>";
        });
      }).catch(function () { unavailable("incidents"); });
    } else {
      gg.section("incidents").innerHTML = "<p class='gg-note'>" + gg.esc(cfg.services.incidents ? s("incidents_hidden") : s("unavailable")) + "</p>";
    }

    if (cfg.services.area) {
      gg.fetchJSON("/api/v1/areas/" + encodeURIComponent(grid.code)).then(function (json) {
        var stats = json.statistics || {};
        var keys = ["households", "residents", "party_members", "buildings", "open_incidents", "overdue_incidents"];
        gg.section("summary").innerHTML = "<p>" + gg.esc(grid.communityName || "") + "</p><table class='gg-stats'>" + keys.filter(function (k) { return stats[k] !== undefined; })
          .map(function (k) { return "<tr data-stat='" + k + "'><th>" + gg.esc(s("stat." + k)) + "</th><td class='gg-value'>" + gg.esc(gg.fmtNumber(stats[k])) + "</td></tr>"; }).join("") + "</table>" +
          (json.party_branch ? "<p data-field='party_branch'>" + gg.esc(s("party_branch")) + "：" + gg.branchHtml(json.party_branch) + "</p>" : "");
        var label = { chief: s("chief"), worker: s("workers"), instructor: s("instructor") };
        list("staff", gg.staffOf(json.staff), function (p) {
          return "<li data-role='" + gg.esc(p.role) + "'>" + gg.esc(label[p.role] || p.role) + "：" + gg.personHtml(p) + (p.title ? " <small>" + gg.esc(p.title) + "</small>" : "") + "</li>";
        });
      }).catch(function () { unavailable("staff"); });
    } else {
      gg.section("summary").innerHTML = "<p>" + gg.esc(grid.communityName || "") + "</p>";
      unavailable("staff");
    }
    gg.grid = { bounds: bounds };
  };
})();
