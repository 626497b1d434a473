/* Shared helpers of gridgov's map pages: setup, fetching, data sources, formatting. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});

  gg.esc = function (value) {
    return String(value === undefined || value === null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };

  gg.fetchJSON = function (url, options) {
    return fetch(url, Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options || {}))
      .then(function (response) {
        if (!response.ok) {
          var error = new Error(url + " -> " + response.status);
          error.status = response.status;
          throw error;
        }
        return response.json();
      });
  };

  gg.bbox = function (bounds) {
    return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map(function (v) { return v.toFixed(6); }).join(",");
  };

  gg.debounce = function (fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  };

  /* Features of a response in any of the shapes the API uses (GeoJSON, {items}, arrays). */
  gg.featuresOf = function (json) {
    if (!json) return [];
    if (Array.isArray(json)) return json;
    return json.features || json.items || json.results || json.data || [];
  };

  gg.point = function (item) {
    if (item && item.geometry && item.geometry.type === "Point") {
      return L.latLng(item.geometry.coordinates[1], item.geometry.coordinates[0]);
    }
    var p = (item && item.properties) || item || {};
    var lon = p.lon !== undefined ? p.lon : p.lng !== undefined ? p.lng : p.longitude;
    var lat = p.lat !== undefined ? p.lat : p.latitude;
    if (lon === undefined && Array.isArray(p.location)) { lon = p.location[0]; lat = p.location[1]; }
    if (lon === undefined && p.location && p.location.coordinates) {
      lon = p.location.coordinates[0]; lat = p.location.coordinates[1];
    }
    return lon === undefined || lat === undefined ? null : L.latLng(+lat, +lon);
  };

  gg.props = function (item) {
    return Object.assign({}, item && item.properties ? item.properties : item, item && item.id !== undefined && item.properties ? { id: item.id } : {});
  };

  var COLLECTION_OF_LEVEL = { street: "streets", community: "communities", grid: "grids", building: "buildings" };

  /* GeoJSON of one collection in a bbox (optionally filtered by queryables): OGC items when routed, else the page's own boundary
   * fallback for street/community/grid, else null (the caller leaves the layer empty). */
  gg.loadCollection = function (cfg, collection, bounds, limit, signal, filter) {
    var bbox = gg.bbox(bounds);
    if (cfg.services.items) {
      var url = "/ogc/collections/" + collection + "/items?f=json&bbox=" + bbox + "&limit=" + (limit || 1000);
      // Queryables as exact matches (OGC API – Features Part 1 `name=value`).
      Object.keys(filter || {}).forEach(function (k) { url += "&" + encodeURIComponent(k) + "=" + encodeURIComponent(filter[k]); });
      return gg.fetchJSON(url, { headers: { Accept: "application/geo+json, application/json" }, signal: signal })
        .then(function (json) { return gg.featuresOf(json); });
    }
    var level = Object.keys(COLLECTION_OF_LEVEL).filter(function (k) { return COLLECTION_OF_LEVEL[k] === collection; })[0];
    if (level && (cfg.fallbackLevels || ["street", "community", "grid"]).indexOf(level) >= 0) {
      return gg.fetchJSON("/map/layers/" + level + ".geojson?bbox=" + bbox, { signal: signal }).then(gg.featuresOf);
    }
    return Promise.resolve(null);
  };
  gg.collectionOfLevel = function (level) { return COLLECTION_OF_LEVEL[level]; };

  gg.addBasemap = function (map, basemap) {
    var container = map.getContainer();
    container.classList.add("gg-basemap-" + basemap.kind);
    if (!basemap.url) return null;
    var options = { attribution: basemap.attribution, maxZoom: 20, maxNativeZoom: basemap.maxZoom };
    if (basemap.subdomains) options.subdomains = basemap.subdomains;
    var Layer = basemap.frame === "gcj02" ? L.TileLayer.Gcj02 : L.TileLayer;
    var layer = new Layer(basemap.url, options).addTo(map);
    if (basemap.labelUrl) new Layer(basemap.labelUrl, options).addTo(map);
    layer.bringToBack();
    return layer;
  };

  /* Common page start: the folium map and groups by variable name, basemap, side panel. */
  gg.setup = function (cfg) {
    var map = window[cfg.map];
    var groups = {};
    Object.keys(cfg.groups).forEach(function (key) { groups[key] = window[cfg.groups[key]]; });
    // Marker clusters and the heat layer need a maximum zoom; folium leaves it to the tiles.
    if (map.options.maxZoom === undefined) map.setMaxZoom(20);
    gg.gcj02.configure(cfg.gcj02);
    gg.addBasemap(map, cfg.basemap);
    // No inline handlers (the app's CSP forbids them): forms never submit, print prints.
    document.querySelectorAll("form.gg-search, form.gg-filter-form").forEach(function (form) {
      form.addEventListener("submit", function (e) { e.preventDefault(); });
    });
    var printButton = document.querySelector(".gg-print");
    if (printButton) printButton.addEventListener("click", function () { window.print(); });
    gg.s = function (key) { return cfg.strings[key] || key; };
    // The incident vocabulary comes from the server (gis/incidents/vocabulary.py), never a copy.
    gg.vocabulary = cfg.incidents;
    document.body.classList.add("gg-page");
    if (cfg.bodyClass) document.body.classList.add(cfg.bodyClass);
    // The page bar's menu (web/navigation.py) folds behind one button on a phone.
    var menuButton = document.querySelector(".gg-menu-toggle");
    var bar = document.querySelector(".gg-bar");
    if (menuButton && bar) {
      var setMenu = function (open) {
        bar.classList.toggle("gg-nav-open", open);
        menuButton.setAttribute("aria-expanded", String(open));
      };
      menuButton.addEventListener("click", function () { setMenu(!bar.classList.contains("gg-nav-open")); });
      document.addEventListener("keydown", function (e) { if (e.key === "Escape") setMenu(false); });
      document.addEventListener("click", function (e) { if (!bar.contains(e.target)) setMenu(false); });
    }
    var toggle = document.querySelector(".gg-panel-toggle");
    if (window.matchMedia("(max-width: 700px)").matches) document.body.classList.add("gg-panel-closed");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var closed = document.body.classList.toggle("gg-panel-closed");
        toggle.setAttribute("aria-expanded", String(!closed));
        setTimeout(function () { map.invalidateSize(); }, 250);
      });
    }
    setTimeout(function () { map.invalidateSize(); }, 0);
    window.gridgovPage = { cfg: cfg, map: map, groups: groups };
    // Installable phone pages: the service worker, and the outbox of writes made offline.
    if (cfg.worker) {
      gg.installable(cfg.worker);
      gg.outbox.start(cfg.viewer.username);
      gg.outboxBadge();
    }
    return { map: map, groups: groups };
  };

  gg.section = function (id) {
    return document.querySelector("#gg-" + id + " .gg-section-body");
  };

  gg.note = function (text) {
    var panel = document.getElementById("gg-panel");
    if (!panel) return;
    var p = document.createElement("p");
    p.className = "gg-note gg-unavailable";
    p.textContent = text;
    panel.appendChild(p);
  };

  gg.fmtTime = function (value) {
    if (!value) return "";
    var d = new Date(value);
    if (isNaN(d)) return String(value);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  };

  gg.fmtNumber = function (value) {
    if (value === null || value === undefined || value === "") return "–";
    if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(value < 1 ? 3 : 1);
    return String(value);
  };

  /* One incident as the pages use it, from a GeoJSON feature or a plain JSON object. */
  gg.incident = function (raw) {
    var p = gg.props(raw);
    var status = p.status || "reported";
    var open = gg.vocabulary.open_statuses.indexOf(status) >= 0;
    var due = p.due_at ? new Date(p.due_at) : null;
    return {
      id: p.id !== undefined ? p.id : p.code,
      code: p.code || p.id,
      status: status,
      category: p.category,
      description: p.description,
      address: p.address,
      gridCode: p.grid_code || (p.grid && p.grid.code),
      communityCode: p.community_code || (p.community && p.community.code) || (p.grid_code ? String(p.grid_code).slice(0, 12) : null),
      streetCode: p.street_code || (p.street && p.street.code) || (p.grid_code ? String(p.grid_code).slice(0, 9) + "000" : null),
      reportedAt: p.reported_at,
      dueAt: p.due_at,
      open: open,
      overdue: p.overdue !== undefined ? !!p.overdue && open : !!(open && due && due.getTime() < Date.now()),
      latlng: gg.point(raw),
    };
  };

  gg.incidentPopup = function (inc) {
    var s = gg.s;
    return "<b>" + gg.esc(inc.code) + "</b> " + gg.esc(inc.category || "") +
      "<br>" + gg.esc(s("status." + inc.status)) +
      (inc.description ? "<br>" + gg.esc(inc.description) : "") +
      (inc.dueAt ? "<br>" + gg.esc(s("due")) + ": " + gg.esc(gg.fmtTime(inc.dueAt)) : "") +
      (inc.overdue ? ' <span class="gg-badge-overdue">' + gg.esc(s("overdue")) + "</span>" : "");
  };

  /* Query string of the incidents API for the filter choices (status: open, overdue, closed). */
  gg.incidentQuery = function (filter) {
    var q = [];
    if (filter.bbox) q.push("bbox=" + filter.bbox);
    if (filter.status === "open") q.push("status=" + gg.vocabulary.open_statuses.join(","));
    else if (filter.status === "overdue") q.push("overdue=true");
    else if (filter.status === "closed") q.push("status=" + gg.vocabulary.closed_statuses.join(","));
    if (filter.category) q.push("category=" + encodeURIComponent(filter.category));
    if (filter.start) q.push("start=" + encodeURIComponent(filter.start));
    if (filter.end) q.push("end=" + encodeURIComponent(filter.end));
    return q.join("&");
  };

  /* A grid's people from /api/v1/areas/{code} (``staff``: chief, workers, instructors) as one
   * list of {role, name, phone, masked, title}; the API has already masked them for the viewer. */
  gg.staffOf = function (staff) {
    if (!staff) return [];
    var tag = function (role) { return function (p) { return Object.assign({ role: role }, p); }; };
    return [].concat(staff.chief ? [tag("chief")(staff.chief)] : [], (staff.workers || []).map(tag("worker")),
      (staff.instructors || []).map(tag("instructor")));
  };
  /* A person's name, and the phone only when it is not masked (a masked number is no use). */
  gg.personHtml = function (p) {
    if (!p) return "";
    var phone = p.phone && !p.masked ? " <a class='gg-phone' href='tel:" + gg.esc(p.phone) + "'>" + gg.esc(p.phone) + "</a>" : "";
    return "<span class='gg-person" + (p.masked ? " gg-masked" : "") + "'>" + gg.esc(p.name || "") + "</span>" + phone;
  };
  gg.branchHtml = function (branch) {
    if (!branch) return "";
    return gg.esc(branch.name) + (branch.secretary ? "（" + gg.esc(gg.s("secretary")) + " " + gg.personHtml(branch.secretary) + "）" : "");
  };

  /* The label of a workflow step, by its action name (a case's allowed_transitions). */
  gg.actionLabel = function (action) { return gg.s("action." + action); };

  gg.mayReadIncidents = function (cfg) {
    return cfg.services.incidents && cfg.viewer.role !== "public";
  };
})();
