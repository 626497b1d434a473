/* 指挥中心: the work queue, the case panel with the steps this viewer may take, live cases (SSE)
 * and the KPIs of the metrics API. The vocabulary (statuses, categories, sources) comes
 * from the server in cfg.incidents, the workflow's steps and the queue's contract in cfg.steps
 * and cfg.queue; docs/command-centre.md describes the page. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});

  /* A JSON request whose error keeps the problem+json body (its detail is shown to the user). */
  function request(method, url, body, headers) {
    var options = { method: method, credentials: "same-origin", headers: Object.assign({ Accept: "application/json" }, headers || {}) };
    if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (raw) {
        var json = null;
        try { json = raw ? JSON.parse(raw) : null; } catch (e) { json = null; }
        if (!response.ok) {
          var error = new Error((json && (json.detail || json.title)) || url + " -> " + response.status);
          error.status = response.status; error.problem = json;
          throw error;
        }
        return json;
      });
    });
  }
  function query(params) {
    return Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== undefined && params[k] !== ""; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
  }
  /* "2天3小时5分" style durations for the deadline clock (units from the catalogue). */
  function duration(ms) {
    var s = gg.s, minutes = Math.max(0, Math.round(Math.abs(ms) / 60000));
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    return (d ? d + s("unit.days") : "") + (d || h ? h + s("unit.hours") : "") + m + s("unit.minutes");
  }

  /* The page and the API share one contract: a response missing a field the page reads is
   * reported as a console error (which the browser tests fail on), not silently shown as "–". */
  function checkContract(name, object, fields) {
    var missing = fields.filter(function (f) { return !object || !(f in object); });
    if (missing.length) console.error("gridgov: " + name + " lacks " + missing.join(", "));
    return !missing.length;
  }
  // A case outside the viewer's scope has the public fields only.
  var CASE_FIELDS = ["id", "code", "status", "category", "lon", "lat", "due_at", "reported_at", "in_scope", "history",
    "grid_code", "street_code", "community_code"];
  var CASE_SCOPED_FIELDS = ["overdue", "allowed_transitions", "reporter", "assignee", "source", "escalation_level"];

  gg.commandPage = function (cfg) {
    // The wider command-centre panel (gridgov.css) hangs on this class.
    document.body.classList.add("gg-command");
    var setup = gg.setup(cfg), map = setup.map, groups = setup.groups, s = gg.s;
    // The incident vocabulary every page receives (cfg.incidents, gis/incidents/vocabulary.py);
    // the workflow's steps and the queue's contract come with this page's own data.
    var iv = cfg.incidents, areas = cfg.areas || [];
    var vocab = {
      statuses: iv.statuses, open: iv.open_statuses, closed: iv.closed_statuses, late: iv.late_statuses,
      categories: iv.categories, sources: iv.sources, entered: iv.entered_sources, resolutions: iv.reject_resolutions,
      steps: cfg.steps, queue: cfg.queue
    };
    var areaName = {};
    areas.forEach(function (a) { areaName[a.code] = a.name; });
    map.invalidateSize(false);
    if (cfg.bounds) map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], { animate: false });
    var live = gg.section("live");

    // Boundaries from the cached vector tiles: streets from z8, grids from z13. Without the tiles
    // service, the grids in view as GeoJSON.
    if (cfg.services.tiles && L.vectorGrid) {
      [["streets", "street", 8, 2], ["grids", "grid", 13, 1]].forEach(function (spec) {
        var styles = {};
        styles[spec[0]] = { color: "#78909c", weight: spec[3], fill: false, className: "gg-area gg-area-" + spec[1] };
        groups.grids.addLayer(L.vectorGrid.protobuf("/ogc/collections/" + spec[0] + "/tiles/WebMercatorQuad/{z}/{x}/{y}", {
          rendererFactory: L.svg.tile, interactive: false, minZoom: spec[2], maxNativeZoom: 22, vectorTileLayerStyles: styles,
        }));
      });
    } else {
      gg.loadCollection(cfg, "grids", map.getBounds().pad(0.2), 5000).then(function (features) {
        if (features) groups.grids.addLayer(L.geoJSON({ type: "FeatureCollection", features: features }, {
          style: { color: "#78909c", weight: 1, fillOpacity: 0, className: "gg-area gg-area-grid" }, interactive: false,
        }));
      }).catch(function (err) { console.warn("gridgov: grids", err); });
    }

    var state = { page: 0, tray: "all", items: [], total: 0, selected: null, caseData: null, kpi: null,
      // 综合展示: the wall display (?view=wall or the button): map with every open case up to the
      // API's largest page, the most urgent cases and the KPIs in large type, no forms.
      wall: new URLSearchParams(location.search).get("view") === "wall" };
    gg.command = state;
    if (!gg.mayReadIncidents(cfg)) {
      live.innerHTML = "<p class='gg-note'>" + gg.esc(cfg.services.incidents ? s("incidents_hidden") : s("unavailable")) + "</p>";
      return;
    }

    // ---- the queue ----------------------------------------------------------------------------
    var queueBody = gg.section("queue");
    function option(value, label, selected) {
      return "<option value='" + gg.esc(value) + "'" + (selected ? " selected" : "") + ">" + gg.esc(label) + "</option>";
    }
    function areaOptions(allLabel) {
      return (allLabel ? option("", allLabel) : "") + areas.map(function (a) {
        var indent = a.level === "community" ? "\u3000\u3000" : a.level === "street" ? "\u3000" : "";
        return option(a.code, indent + a.name);
      }).join("");
    }
    var statusOptions = option(vocab.open.join(","), s("filter.open"), true) + option(vocab.closed.join(","), s("filter.closed")) +
      option(vocab.statuses.join(","), s("filter.all")) + vocab.statuses.map(function (st) { return option(st, s("status." + st)); }).join("");
    var allCategories = [].concat.apply([], Object.keys(vocab.categories).map(function (k) { return vocab.categories[k]; }));
    queueBody.innerHTML =
      "<form id='gg-queue-form' class='gg-queue-form' autocomplete='off'>" +
      "<input type='search' name='code' placeholder='" + gg.esc(s("queue.code")) + "' aria-label='" + gg.esc(s("queue.code")) + "'>" +
      "<label>" + gg.esc(s("filter.status")) + "<select name='status'>" + statusOptions + "</select></label>" +
      "<label>" + gg.esc(s("filter.category")) + "<select name='category'>" + option("", s("filter.all")) +
        allCategories.map(function (c) { return option(c, c); }).join("") + "</select></label>" +
      "<label>" + gg.esc(s("queue.source")) + "<select name='source'>" + option("", s("filter.all")) +
        vocab.sources.map(function (c) { return option(c, s("source." + c)); }).join("") + "</select></label>" +
      "<label>" + gg.esc(s("queue.area")) + "<select name='within'>" + areaOptions(s("queue.all_areas")) + "</select></label>" +
      "<label>" + gg.esc(s("filter.since")) + "<select name='since'>" + option("", s("filter.all")) +
        ["1", "7", "30", "365"].map(function (d) { return option(d, s("since." + d)); }).join("") + "</select></label>" +
      "<label>" + gg.esc(s("queue.assignee")) + "<input type='number' name='assignee' min='1'></label>" +
      "<label>" + gg.esc(s("queue.sort")) + "<select name='sort'>" + vocab.queue.sorts.map(function (k) { return option(k, s("queue.sort." + k)); }).join("") + "</select></label>" +
      "</form>" +
      "<div class='gg-trays' role='tablist'>" + ["all", "overdue"].concat(vocab.queue.trays).map(function (tray) {
        return "<button type='button' role='tab' class='gg-tray" + (tray === "all" ? " gg-active" : "") + "' data-tray='" + tray + "'>" +
          gg.esc(s("queue.tray." + tray)) + " <span class='gg-tray-count'>–</span></button>";
      }).join("") + "</div>" +
      "<ol class='gg-list gg-queue' aria-live='polite'></ol>" +
      "<div class='gg-pager'><button type='button' data-page='prev'>" + gg.esc(s("queue.prev")) + "</button>" +
      "<span class='gg-pager-range'></span><button type='button' data-page='next'>" + gg.esc(s("queue.next")) + "</button></div>";
    var form = document.getElementById("gg-queue-form");
    var list = queueBody.querySelector("ol.gg-queue");

    function queueParams() {
      var data = new FormData(form), days = +data.get("since");
      var params = {
        status: data.get("status"), category: data.get("category"), source: data.get("source"), within: data.get("within"),
        code: (data.get("code") || "").trim(), assignee: data.get("assignee"), sort: data.get("sort"),
        start: days ? new Date(Date.now() - days * 86400000).toISOString() : "",
        limit: state.wall ? vocab.queue.max_page : vocab.queue.page, offset: state.wall ? 0 : state.page * vocab.queue.page,
      };
      if (state.tray === "overdue") params.overdue = "true";
      else if (state.tray !== "all") params.tray = state.tray;
      return params;
    }
    var queueSeq = 0;
    function loadQueue() {
      var seq = ++queueSeq;
      return request("GET", "/api/v1/incidents/queue?" + query(queueParams())).then(function (json) {
        if (seq !== queueSeq) return;
        checkContract("queue", json, ["items", "total", "offset", "counts", "facets"]);
        if (json.items.length) checkContract("queue item", json.items[0], vocab.queue.fields);
        state.items = json.items; state.total = json.total;
        // Cases fall overdue as time passes, with no event: a rise in the overdue count is
        // signalled like a live alert.
        if (state.overdueCount !== undefined && json.counts.overdue > state.overdueCount) {
          signal(s("queue.overdue_alert") + " +" + (json.counts.overdue - state.overdueCount), true);
        }
        state.overdueCount = json.counts.overdue;
        renderQueue(json);
      }).catch(function (err) {
        if (seq !== queueSeq) return;
        list.innerHTML = "<li class='gg-note'>" + gg.esc(s("unavailable")) + " (" + gg.esc(err.message) + ")</li>";
      });
    }
    function renderQueue(json) {
      queueBody.querySelectorAll(".gg-tray").forEach(function (b) {
        var tray = b.getAttribute("data-tray");
        b.querySelector(".gg-tray-count").textContent = String(json.counts[tray === "all" ? "all" : tray]);
        b.classList.toggle("gg-active", tray === state.tray);
        b.setAttribute("aria-selected", String(tray === state.tray));
      });
      list.innerHTML = json.items.length ? json.items.map(function (i) {
        var place = i.grid_name || (i.unassigned ? s("case.outside_grid") : "") ;
        return "<li tabindex='0' data-id='" + gg.esc(i.id) + "' data-code='" + gg.esc(i.code) + "' data-status='" + gg.esc(i.status) + "' class='" +
          (i.overdue ? "gg-overdue-row " : "") + (state.selected === i.id ? "gg-selected" : "") + "'>" +
          "<b>" + gg.esc(i.code) + "</b> " + gg.esc(i.category) + " · " + gg.esc(s("status." + i.status)) +
          (i.escalated ? " <span class='gg-badge'>" + gg.esc(s("queue.tray.escalated")) + "</span>" : "") +
          (i.unassigned ? " <span class='gg-badge'>" + gg.esc(s("queue.tray.unassigned")) + "</span>" : "") +
          "<br><small>" + gg.esc(place) + " · " + gg.esc(s("due")) + " " + gg.esc(gg.fmtTime(i.due_at) || "–") +
          (i.overdue ? " · <span class='gg-badge-overdue'>" + gg.esc(s("overdue")) + "</span>" : "") + "</small>" +
          (i.summary ? "<br><small class='gg-summary'>" + gg.esc(i.summary) + "</small>" : "") + "</li>";
      }).join("") : "<li class='gg-note'>" + gg.esc(s("queue.empty")) + "</li>";
      var from = json.total ? json.offset + 1 : 0, to = json.offset + json.items.length;
      queueBody.querySelector(".gg-pager-range").textContent = from + "–" + to + " / " + s("queue.of") + " " + json.total;
      queueBody.querySelector("[data-page=prev]").disabled = json.offset === 0;
      queueBody.querySelector("[data-page=next]").disabled = to >= json.total;
      drawQueueMarkers(json.items);
    }
    var markers = {};
    function drawQueueMarkers(items) {
      groups.incidents.clearLayers();
      markers = {};
      items.forEach(function (i) {
        if (i.lat === null || i.lon === null) return;
        var m = L.circleMarker([i.lat, i.lon], {
          radius: i.overdue ? 9 : 6, color: i.overdue ? "#d50000" : "#ff6f00", weight: 2, fillOpacity: 0.85,
          className: "gg-incident" + (i.overdue ? " gg-overdue" : "") + (state.selected === i.id ? " gg-selected" : ""),
        }).bindTooltip(gg.esc(i.code) + " " + gg.esc(i.category));
        // While a report is being registered a click on the map picks its place, not a case.
        m.on("click", function () { if (!intake) openCase(i.id); });
        markers[i.id] = m;
        groups.incidents.addLayer(m);
      });
      drawSelected();
    }
    var selectedMarker = null;
    function drawSelected() {
      if (selectedMarker) { map.removeLayer(selectedMarker); selectedMarker = null; }
      var c = state.caseData;
      if (!c || c.lat === null || c.lat === undefined) return;
      selectedMarker = L.circleMarker([c.lat, c.lon], { radius: 14, color: "#1565c0", weight: 4, fill: false, className: "gg-case-marker", interactive: false }).addTo(map);
    }

    // A new filter is a new baseline for the overdue signal.
    form.addEventListener("change", function () { state.page = 0; state.overdueCount = undefined; loadQueue(); });
    form.querySelector("[name=code]").addEventListener("input", gg.debounce(function () { state.page = 0; state.overdueCount = undefined; loadQueue(); }, 300));
    queueBody.querySelectorAll(".gg-tray").forEach(function (b) {
      b.addEventListener("click", function () { state.tray = b.getAttribute("data-tray"); state.page = 0; loadQueue(); });
    });
    queueBody.querySelector("[data-page=prev]").addEventListener("click", function () { if (state.page > 0) { state.page--; loadQueue(); } });
    queueBody.querySelector("[data-page=next]").addEventListener("click", function () { state.page++; loadQueue(); });
    list.addEventListener("click", function (e) {
      var li = e.target.closest("li[data-id]");
      if (li) openCase(+li.getAttribute("data-id"));
    });
    list.addEventListener("keydown", function (e) {
      var li = e.target.closest("li[data-id]");
      if (!li) return;
      if (e.key === "Enter") { e.preventDefault(); openCase(+li.getAttribute("data-id")); }
      else if (e.key === "ArrowDown" && li.nextElementSibling) { e.preventDefault(); li.nextElementSibling.focus(); }
      else if (e.key === "ArrowUp" && li.previousElementSibling) { e.preventDefault(); li.previousElementSibling.focus(); }
    });
    // "/" jumps to the case-code search, Escape closes the case panel.
    document.addEventListener("keydown", function (e) {
      var typing = /INPUT|TEXTAREA|SELECT/.test((e.target && e.target.tagName) || "");
      if (e.key === "/" && !typing) { e.preventDefault(); form.querySelector("[name=code]").focus(); }
      else if (e.key === "Escape" && state.selected !== null) closeCase();
    });

    // ---- the case panel -----------------------------------------------------------------------
    var caseBody = gg.section("case");
    // The workflow's steps by (status, action): what each takes and where it goes. A case's
    // allowed_transitions are action names (the API applies the role and the case's facts).
    var stepOf = {};
    vocab.steps.forEach(function (st) { stepOf[st.from + ">" + st.action] = st; });
    function takes(step, field) { return !!step && step.fields.indexOf(field) >= 0; }
    /* A datetime-local value (the browser's local time) from an ISO instant, and back. */
    function localValue(iso) {
      if (!iso) return "";
      var d = new Date(iso), pad = function (n) { return (n < 10 ? "0" : "") + n; };
      return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
    }
    var notice = null;
    function openCase(id, keepNotice) {
      state.selected = id;
      if (!keepNotice) notice = null;
      document.body.classList.add("gg-case-open");
      list.querySelectorAll("li.gg-selected").forEach(function (li) { li.classList.remove("gg-selected"); });
      var li = list.querySelector("li[data-id='" + id + "']");
      if (li) li.classList.add("gg-selected");
      if (!state.caseData || state.caseData.id !== id) caseBody.innerHTML = "<p>" + gg.esc(s("loading")) + "</p>";
      return Promise.all([
        request("GET", "/api/v1/incidents/" + id),
        request("GET", "/api/v1/incidents/" + id + "/duplicate-candidates").catch(function () { return { items: [] }; }),
      ]).then(function (parts) {
        if (state.selected !== id) return;
        checkContract("case", parts[0], parts[0].in_scope ? CASE_FIELDS.concat(CASE_SCOPED_FIELDS) : CASE_FIELDS);
        state.caseData = parts[0];
        renderCase(parts[0], parts[1].items || []);
        drawSelected();
        if (parts[0].lat !== null && parts[0].lat !== undefined) {
          map.setView([parts[0].lat, parts[0].lon], Math.max(map.getZoom(), 16), { animate: false });
        }
      }).catch(function (err) {
        caseBody.innerHTML = "<p class='gg-note gg-case-error'>" + gg.esc(err.message) + "</p>";
      });
    }
    function closeCase() {
      state.selected = null; state.caseData = null; notice = null;
      caseBody.innerHTML = "";
      document.body.classList.remove("gg-case-open");
      drawSelected();
      var li = list.querySelector("li.gg-selected");
      if (li) { li.classList.remove("gg-selected"); li.focus(); }
    }
    function clock(c) {
      // The clock runs only where a deadline is running (not while a case waits for verification
      // or is suspended: vocabulary LATE_STATUSES).
      if (!c.due_at || vocab.late.indexOf(c.status) < 0) return "";
      var left = new Date(c.due_at).getTime() - Date.now();
      return "<p class='gg-clock" + (left < 0 ? " gg-overdue-row" : "") + "' data-due='" + gg.esc(c.due_at) + "'>" + gg.esc(s("due")) + " " +
        gg.esc(gg.fmtTime(c.due_at)) + " · " + gg.esc(left < 0 ? s("case.overdue_by") : s("case.remaining")) + " <b>" + gg.esc(duration(left)) + "</b></p>";
    }
    function row(key, value) {
      return value === null || value === undefined || value === "" ? "" :
        "<tr data-field='" + key + "'><th>" + gg.esc(s(key.indexOf(".") >= 0 ? key : "case." + key)) + "</th><td>" + value + "</td></tr>";
    }
    function person(p) {
      if (!p) return "";
      return "<span class='gg-person'>" + gg.esc(p.name || "") + "</span> " + gg.esc(p.phone || "");
    }
    function renderCase(c, candidates) {
      var area = c.grid_code ? (c.grid_name || c.grid_code) : s("case.outside_grid");
      var areaLine = [c.street_name || areaName[c.street_code], c.community_name || areaName[c.community_code], area].filter(Boolean).map(gg.esc).join(" › ");
      var html = "<div class='gg-case' data-id='" + gg.esc(c.id) + "' data-status='" + gg.esc(c.status) + "' data-code='" + gg.esc(c.code) + "'>" +
        "<div class='gg-case-head'><button type='button' class='gg-case-back'>← " + gg.esc(s("case.back")) + "</button>" +
        "<b class='gg-case-code'>" + gg.esc(c.code) + "</b> <span class='gg-case-status'>" + gg.esc(s("status." + c.status)) + "</span>" +
        (c.overdue ? " <span class='gg-badge-overdue'>" + gg.esc(s("overdue")) + "</span>" : "") + "</div>";
      if (notice) html += "<p class='" + (notice.ok ? "gg-case-ok" : "gg-case-error") + "' role='alert'>" + gg.esc(notice.text) + "</p>";
      html += clock(c) + "<p class='gg-case-desc'>" + gg.esc(c.category) + " · " + gg.esc(c.description || "") + "</p>" +
        (c.media_url ? "<p><a href='" + gg.esc(c.media_url) + "' target='_blank' rel='noopener'>" + gg.esc(s("case.photo")) + "</a></p>" : "") +
        "<table class='gg-stats gg-case-fields'>" +
        row("area", areaLine) + row("address", gg.esc(c.address || "")) + row("reported", gg.esc(gg.fmtTime(c.reported_at))) +
        row("source", c.source ? gg.esc(s("source." + c.source)) : "") + row("reporter", c.reporter ? person(c.reporter) : "") +
        row("assignee", c.assignee ? person(c.assignee) : "") + row("dispatched_to", gg.esc(c.dispatched_to || "")) +
        row("escalation", c.escalation_level && c.escalation_level !== "grid" ? gg.esc(s("level." + c.escalation_level)) : "") +
        row("rework_count", c.rework_count ? gg.esc(c.rework_count) : "") + "</table>";
      html += actionsHtml(c, candidates);
      if (candidates.length) {
        var refusal = refusalOf(c);
        html += "<h3>" + gg.esc(s("case.duplicates")) + "</h3><ul class='gg-list gg-candidates'>" + candidates.map(function (d) {
          return "<li data-id='" + gg.esc(d.id) + "'><b>" + gg.esc(d.code) + "</b> " + gg.esc(s("status." + d.status)) + " · " + gg.esc(d.distance_m) + " m" +
            (d.summary ? "<br><small>" + gg.esc(d.summary) + "</small>" : "") +
            (refusal ? " <button type='button' class='gg-link-duplicate' data-action='" + gg.esc(refusal) + "' data-of='" + gg.esc(d.id) + "'>" + gg.esc(s("case.link_duplicate")) + "</button>" : "") + "</li>";
        }).join("") + "</ul>";
      }
      if (c.duplicates && c.duplicates.length) {
        html += "<p class='gg-note'>" + gg.esc(s("case.linked")) + "：" + c.duplicates.map(gg.esc).join("、") + "</p>";
      }
      html += "<h3>" + gg.esc(s("case.history")) + "</h3><ol class='gg-timeline'>" + (c.history || []).map(function (h) {
        return "<li data-to='" + gg.esc(h.to) + "'" + (h.action ? " data-action='" + gg.esc(h.action) + "'" : "") + "><time>" + gg.esc(gg.fmtTime(h.at)) + "</time> " +
          gg.esc(h.action ? s("action." + h.action) : s("status." + h.to)) +
          (h.actor ? " · " + gg.esc(h.actor) : "") + (h.note ? "<br><small>" + gg.esc(h.note) + "</small>" : "") +
          gg.stepPhotosHtml(h) + "</li>";
      }).join("") + (c.escalations || []).map(function (e) {
        return "<li class='gg-escalation'><time>" + gg.esc(gg.fmtTime(e.at)) + "</time> " + gg.esc(s("queue.tray.escalated")) + " → " + gg.esc(s("level." + e.to)) + "</li>";
      }).join("") + "</ol></div>";
      caseBody.innerHTML = html;
    }
    /* The refusal step this case offers (不予受理 or 不予立案), if any: a duplicate is one. */
    function refusalOf(c) {
      return (c.allowed_transitions || []).filter(function (a) { return takes(stepOf[c.status + ">" + a], "resolution"); })[0] || null;
    }
    function actionsHtml(c, candidates) {
      var allowed = c.allowed_transitions || [];
      var pending = (c.extensions || []).filter(function (x) { return !x.decision; })[0];
      var html = "";
      if (c.status === "suspended" && c.suspended_at) {
        html += "<p class='gg-note gg-suspended'>" + gg.esc(s("case.suspended_since")) + " " + gg.esc(gg.fmtTime(c.suspended_at)) + "</p>";
      }
      if (pending) {
        html += "<p class='gg-note gg-extension-pending'>" + gg.esc(s("case.extension_pending")) + "：" + gg.esc(gg.fmtTime(pending.requested_due_at)) +
          " · " + gg.esc(pending.reason) + " · " + gg.esc(pending.requested_by) + "</p>";
      }
      if (c.verified_by && vocab.open.indexOf(c.status) >= 0) {
        html += "<p class='gg-note gg-verifier'>" + gg.esc(s("case.verified_by")) + "：" + gg.esc(s("verifier." + c.verified_by)) + "</p>";
      }
      if (!allowed.length) return html + "<p class='gg-note gg-no-actions'>" + gg.esc(s("case.no_actions")) + "</p>";
      return html + "<div class='gg-actions'>" + allowed.map(function (action) {
        var step = stepOf[c.status + ">" + action];
        return "<button type='button' class='gg-action' data-action='" + gg.esc(action) + "' data-to='" + gg.esc(step ? step.to : "") + "'>" +
          gg.esc(s("action." + action)) + "</button>";
      }).join("") + "</div><div class='gg-action-slot'></div>";
    }
    /* The form of one step: only the fields that step takes (cfg.steps[].fields, from
     * gis/incidents/transitions.STEP_FIELDS). */
    function actionForm(c, action, candidates) {
      var step = stepOf[c.status + ">" + action], fields = "";
      if (takes(step, "resolution")) {
        fields += "<label>" + gg.esc(s("form.resolution")) + "<select name='resolution' required>" +
          vocab.resolutions.map(function (r) { return option(r, s("resolution." + r)); }).join("") + "</select></label>" +
          "<label class='gg-duplicate-of'>" + gg.esc(s("form.duplicate_of")) + "<select name='duplicate_of'>" +
          candidates.map(function (d) { return option(d.id, d.code + " · " + d.distance_m + " m"); }).join("") + "</select></label>";
      }
      if (takes(step, "target")) {
        var offices = areas.filter(function (a) { return a.level === "community" || a.level === "street"; });
        fields += "<label>" + gg.esc(s("form.grid")) + "<input name='grid_code' inputmode='numeric' pattern='[0-9]{15}' value='" + gg.esc(c.grid_code || "") + "'></label>" +
          "<label>" + gg.esc(s("form.area_office")) + "<select name='area_code'>" + option("", s("form.no_area_office")) + offices.map(function (a) {
            return option(a.code, (a.level === "street" ? "" : "· ") + a.name);
          }).join("") + "</select></label>" +
          "<label>" + gg.esc(s("form.department")) + "<input name='dispatched_to' maxlength='200' value='" + gg.esc(c.dispatched_to || "") + "'></label>";
      }
      if (takes(step, "due_at")) {
        // A dispatch may shorten the category's limit (dispatch_due_at, the latest allowed); an
        // extension asks for a deadline after the current one.
        var extension = action === "request_extension";
        var bound = extension ? c.due_at : c.dispatch_due_at;
        fields += "<label>" + gg.esc(s(extension ? "form.extension_due" : "form.due_at")) + "<input type='datetime-local' name='due_at' required value='" +
          gg.esc(extension ? "" : localValue(bound)) + "'" + (bound ? (extension ? " min='" : " max='") + gg.esc(localValue(bound)) + "'" : "") + "></label>" +
          (extension ? "" : "<p class='gg-note'>" + gg.esc(s("form.deadline_note")) + "</p>");
      }
      // 处置反馈 takes photos: uploaded as they are chosen, attached by id (photos.js).
      if (takes(step, "photos")) fields += gg.photoPickerHtml("media");
      if (takes(step, "rating")) {
        fields += "<label>" + gg.esc(s("form.rating")) + "<select name='rating'>" + [5, 4, 3, 2, 1].map(function (n) { return option(n, "★".repeat(n)); }).join("") + "</select></label>";
      }
      var reason = takes(step, "reason");
      fields += "<label>" + gg.esc(s(reason ? "form.reason" : "form.note")) + "<textarea name='note' rows='2' maxlength='2000'" + (reason ? " required" : "") + "></textarea></label>";
      return "<form class='gg-action-form' data-action='" + gg.esc(action) + "' data-to='" + gg.esc(step ? step.to : "") + "'><h3>" + gg.esc(s("action." + action)) + "</h3>" + fields +
        "<button type='submit'>" + gg.esc(s("form.submit")) + "</button> <button type='button' class='gg-action-cancel'>" + gg.esc(s("form.cancel")) + "</button></form>";
    }
    function bodyOf(formEl) {
      var data = new FormData(formEl), body = { action: formEl.getAttribute("data-action") };
      var note = (data.get("note") || "").trim();
      if (note) body.note = note;
      if (data.has("resolution")) {
        body.resolution = data.get("resolution");
        if (body.resolution === "duplicate" && data.get("duplicate_of")) body.duplicate_of = +data.get("duplicate_of");
      }
      if (data.has("grid_code")) {
        var grid = (data.get("grid_code") || "").trim(), office = data.get("area_code") || "", dept = (data.get("dispatched_to") || "").trim();
        // An office chosen sends the case there instead of to a grid.
        if (office) body.area_code = office;
        else if (grid) body.grid_code = grid;
        if (dept) body.dispatched_to = dept;
      }
      if (data.get("due_at")) body.due_at = new Date(data.get("due_at")).toISOString();
      if (data.has("media")) body.media = gg.photoIds(data, "media");
      if (data.has("rating")) body.rating = +data.get("rating");
      return body;
    }
    /* Take one step; a 409 (someone else was faster) or any refusal shows the reason and the
     * case as it now is. */
    function submitStep(id, body) {
      caseBody.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      return request("POST", "/api/v1/incidents/" + id + "/transitions", body).then(function () {
        notice = { ok: true, text: s("case.done") + "：" + s("action." + body.action) };
      }).catch(function (err) {
        notice = { ok: false, status: err.status, text: s("case.conflict") + "（" + (err.status || "") + "）：" + err.message + (err.status === 409 ? " " + s("case.refreshed") : "") };
      }).then(function () {
        loadQueue();
        return openCase(id, true);
      });
    }
    caseBody.addEventListener("click", function (e) {
      var c = state.caseData;
      if (!c) return;
      if (e.target.closest(".gg-case-back")) { closeCase(); return; }
      var action = e.target.closest("button.gg-action");
      if (action) {
        caseBody.querySelector(".gg-action-slot").innerHTML = actionForm(c, action.getAttribute("data-action"), candidatesOf());
        var first = caseBody.querySelector(".gg-action-form select, .gg-action-form input, .gg-action-form textarea");
        if (first) first.focus();
        return;
      }
      if (e.target.closest(".gg-action-cancel")) { caseBody.querySelector(".gg-action-slot").innerHTML = ""; return; }
      var link = e.target.closest(".gg-link-duplicate");
      if (link) submitStep(c.id, { action: link.getAttribute("data-action"), resolution: "duplicate", duplicate_of: +link.getAttribute("data-of") });
    });
    function candidatesOf() {
      return Array.prototype.map.call(caseBody.querySelectorAll(".gg-candidates li[data-id]"), function (li) {
        return { id: +li.getAttribute("data-id"), code: li.querySelector("b").textContent, distance_m: (li.textContent.match(/([0-9.]+) m/) || [])[1] };
      });
    }
    caseBody.addEventListener("submit", function (e) {
      var formEl = e.target.closest("form.gg-action-form");
      if (!formEl || !state.caseData) return;
      e.preventDefault();
      submitStep(state.caseData.id, bodyOf(formEl));
    });

    // ---- 登记: a report taken by the centre (a hotline call, a walk-in), on the map ----------------
    // The one intake (POST /api/v1/incidents, gis/incidents/intake.py) with an Idempotency-Key,
    // so a retry after a lost answer cannot file the case twice; the new case then opens here.
    var intakeLayer = L.layerGroup().addTo(map), intake = null;
    var newCase = document.createElement("button");
    newCase.type = "button";
    newCase.className = "gg-action gg-new-case";
    newCase.textContent = s("intake.new");
    queueBody.insertBefore(newCase, queueBody.firstChild);
    function openIntake() {
      closeCase();
      document.body.classList.add("gg-case-open");
      intake = { point: null, tapping: false, key: null };
      caseBody.innerHTML = "<form class='gg-intake-form'><h3>" + gg.esc(s("intake.title")) + "</h3>" +
        "<label>" + gg.esc(s("queue.source")) + "<select name='source'>" + vocab.entered.map(function (c) { return option(c, s("source." + c), c === "hotline"); }).join("") + "</select></label>" +
        "<label>" + gg.esc(s("filter.category")) + "<select name='category' required>" + allCategories.map(function (c) { return option(c, c); }).join("") + "</select></label>" +
        "<label>" + gg.esc(s("intake.description")) + "<textarea name='description' rows='3' maxlength='4000' required></textarea></label>" +
        "<label>" + gg.esc(s("intake.reporter_name")) + "<input name='reporter_name' maxlength='50' autocomplete='off'></label>" +
        "<label>" + gg.esc(s("intake.reporter_phone")) + "<input name='reporter_phone' maxlength='20' inputmode='tel' autocomplete='off'></label>" +
        "<p><button type='button' class='gg-intake-tap'>" + gg.esc(s("intake.tap")) + "</button> <span class='gg-intake-point' aria-live='polite'>" + gg.esc(s("intake.no_point")) + "</span></p>" +
        gg.photoPickerHtml("media") +
        "<button type='submit'>" + gg.esc(s("intake.submit")) + "</button> <button type='button' class='gg-intake-cancel'>" + gg.esc(s("form.cancel")) + "</button>" +
        "<p class='gg-intake-result' role='status'></p></form>";
      var formEl = caseBody.querySelector("form.gg-intake-form");
      formEl.querySelector("textarea").focus();
      formEl.addEventListener("input", function () { intake.key = null; });
      formEl.querySelector(".gg-intake-tap").addEventListener("click", function () {
        intake.tapping = true;
        map.getContainer().classList.add("gg-tapping");
        formEl.querySelector(".gg-intake-point").textContent = s("intake.tap_hint");
      });
      formEl.querySelector(".gg-intake-cancel").addEventListener("click", closeIntake);
      formEl.addEventListener("submit", function (e) {
        e.preventDefault();
        var result = formEl.querySelector(".gg-intake-result");
        if (!intake.point) { result.textContent = s("intake.no_point"); return; }
        var data = new FormData(formEl), body = {
          source: data.get("source"), category: data.get("category"),
          description: String(data.get("description") || "").trim(),
          geometry: { type: "Point", coordinates: [intake.point.lng, intake.point.lat] },
        };
        ["reporter_name", "reporter_phone"].forEach(function (k) { var v = String(data.get(k) || "").trim(); if (v) body[k] = v; });
        var photos = gg.photoIds(data, "media");
        if (photos.length) body.media = photos;
        intake.key = intake.key || (window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
        formEl.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        request("POST", "/api/v1/incidents", body, { "Idempotency-Key": intake.key }).then(function (json) {
          closeIntake();
          notice = { ok: true, text: s("intake.done") + "：" + json.incident.code };
          loadQueue();
          return openCase(json.incident.id, true);
        }).catch(function (err) {
          result.className = "gg-intake-result gg-case-error";
          result.textContent = err.message;
          formEl.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
        });
      });
    }
    function closeIntake() {
      intake = null;
      intakeLayer.clearLayers();
      map.getContainer().classList.remove("gg-tapping");
      caseBody.innerHTML = "";
      document.body.classList.remove("gg-case-open");
    }
    map.on("click", function (e) {
      if (!intake || !intake.tapping) return;
      intake.tapping = false; intake.point = e.latlng; intake.key = null;
      map.getContainer().classList.remove("gg-tapping");
      intakeLayer.clearLayers();
      intakeLayer.addLayer(L.marker(e.latlng, { title: s("intake.title") }));
      var note = caseBody.querySelector(".gg-intake-point");
      if (note) { note.textContent = e.latlng.lat.toFixed(6) + ", " + e.latlng.lng.toFixed(6); note.dataset.lat = String(e.latlng.lat); }
    });
    newCase.addEventListener("click", openIntake);

    // ---- live ---------------------------------------------------------------------------------
    var arrivals = document.createElement("ul");
    arrivals.className = "gg-list gg-arrivals";
    arrivals.setAttribute("aria-label", s("queue.arrivals"));
    var reloadQueueSoon = gg.debounce(loadQueue, 800);
    function signal(text, urgent) {
      var flash = document.createElement("div");
      flash.className = "gg-flash" + (urgent ? " gg-alert-overdue" : "");
      flash.setAttribute("role", urgent ? "alert" : "status");
      flash.textContent = text;
      live.insertBefore(flash, arrivals);
      setTimeout(function () { flash.remove(); }, urgent ? 20000 : 8000);
    }
    function onEvent(event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      // A stream event is the case's public summary; "change" says what happened.
      var id = data.incident_id, escalated = data.change === "escalated";
      var overdue = vocab.late.indexOf(data.status) >= 0 && !!data.due_at && new Date(data.due_at).getTime() < Date.now();
      var item = document.createElement("li");
      item.setAttribute("data-id", id);
      item.setAttribute("data-code", data.code || "");
      item.tabIndex = 0;
      item.className = overdue ? "gg-overdue-row" : "";
      item.innerHTML = "<b>" + gg.esc(data.code || "") + "</b> " + gg.esc(data.category || "") + " · " + gg.esc(s("status." + data.status));
      item.addEventListener("click", function () { openCase(id); });
      arrivals.insertBefore(item, arrivals.firstChild);
      while (arrivals.children.length > 8) arrivals.removeChild(arrivals.lastChild);
      signal((escalated ? s("queue.tray.escalated") : overdue ? s("queue.overdue_alert") : data.change === "created" ? s("new_incident") : s("status." + data.status)) + " " + (data.code || ""), overdue || escalated);
      reloadQueueSoon();
      if (state.selected === id) {
        // Someone changed the case being worked on. A half-filled form is not thrown away: the
        // operator is told, and a submit that no longer fits gets the 409 and the fresh case.
        var slot = caseBody.querySelector(".gg-action-slot");
        if (slot && slot.querySelector("form")) {
          if (!caseBody.querySelector(".gg-case-stale")) {
            var stale = document.createElement("p");
            stale.className = "gg-case-stale";
            stale.setAttribute("role", "alert");
            stale.textContent = s("case.stale");
            slot.insertBefore(stale, slot.firstChild);
          }
        } else openCase(id, true);
      }
    }
    if (cfg.services.stream && window.EventSource) {
      // EventSource reconnects by itself (after a server restart too) and resends the last
      // event id as Last-Event-ID, so the stream resumes where it stopped.
      var source = new EventSource("/api/v1/incidents/stream");
      var status = document.createElement("p");
      status.className = "gg-live-status";
      live.appendChild(status);
      source.onopen = function () { status.textContent = "● " + s("live"); status.classList.remove("gg-offline"); };
      source.onerror = function () { status.textContent = s("offline"); status.classList.add("gg-offline"); };
      source.addEventListener("incident", onEvent);
    }
    live.appendChild(arrivals);
    var wallButton = document.createElement("button");
    wallButton.type = "button";
    wallButton.className = "gg-wall-toggle";
    live.insertBefore(wallButton, live.firstChild);
    function applyWall() {
      document.body.classList.toggle("gg-wall", state.wall);
      wallButton.textContent = state.wall ? s("wall.leave") : s("wall.enter");
      wallButton.setAttribute("aria-pressed", String(state.wall));
      if (state.wall && state.selected !== null) closeCase();
      setTimeout(function () { map.invalidateSize(); Object.keys(charts).forEach(function (k) { charts[k].resize(); }); }, 50);
    }
    wallButton.addEventListener("click", function () {
      state.wall = !state.wall;
      var url = new URL(location.href);
      if (state.wall) url.searchParams.set("view", "wall"); else url.searchParams.delete("view");
      history.replaceState(null, "", url);
      applyWall();
      state.page = 0;
      loadQueue();
    });
    // Deadlines pass without any event: the clock and the queue's overdue marks are refreshed.
    setInterval(function () {
      if (state.caseData) {
        var clockEl = caseBody.querySelector(".gg-clock");
        if (clockEl) clockEl.outerHTML = clock(state.caseData);
      }
    }, 30000);
    setInterval(loadQueue, 60000);

    // ---- KPIs ---------------------------------------------------------------------------------
    var kpiBody = gg.section("kpi");
    // The filter the tiles show is written on the section (data-start, data-end, data-level,
    // data-within), so anyone can ask the metrics API the same question.
    var kpiSection = document.getElementById("gg-kpi");
    // The tiles, in order (the metrics API's field names, from the page data).
    var KPI_KEYS = cfg.kpis, METRIC_FIELDS = ["area_code", "period_start"].concat(KPI_KEYS);
    var RATE = { closure_rate: 1, on_time_rate: 1, rework_rate: 1 };
    var districts = areas.filter(function (a) { return a.level === "district"; });
    kpiBody.innerHTML = "<form id='gg-kpi-form' class='gg-kpi-form'>" +
      "<label>" + gg.esc(s("kpi.area")) + "<select name='area'>" + areas.map(function (a) {
        var indent = a.level === "community" ? "\u3000\u3000" : a.level === "street" ? "\u3000" : "";
        return option(a.code, indent + a.name, districts.length && a.code === districts[0].code);
      }).join("") + "</select></label>" +
      "<label>" + gg.esc(s("kpi.period")) + "<select name='days'>" + ["7", "30", "90", "365"].map(function (d) { return option(d, s("since." + d), d === "30"); }).join("") + "</select></label></form>" +
      "<div class='gg-kpi-tiles'>" + KPI_KEYS.map(function (k) {
        var label = RATE[k] && k !== "rework_rate" ? s("stat." + k) : s("kpi." + k);
        return "<div class='gg-kpi-tile' data-kpi='" + k + "'><span class='gg-kpi-value'>–</span><span class='gg-kpi-label'>" + gg.esc(label) + "</span></div>";
      }).join("") + "</div>" +
      "<h3>" + gg.esc(s("kpi.trend")) + "</h3><div class='gg-chart'><canvas id='gg-chart-trend'></canvas></div>" +
      "<h3>" + gg.esc(s("kpi.by_category")) + "</h3><div class='gg-chart'><canvas id='gg-chart-category'></canvas></div>" +
      "<h3>" + gg.esc(s("kpi.by_source")) + "</h3><div class='gg-chart gg-chart-small'><canvas id='gg-chart-source'></canvas></div>";
    var kpiForm = document.getElementById("gg-kpi-form");
    var charts = {};
    function chart(id, config) {
      if (!window.Chart) return;
      if (charts[id]) charts[id].destroy();
      config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: config.type !== "bar" } } }, config.options || {});
      charts[id] = new window.Chart(document.getElementById(id), config);
    }
    function fmtKpi(key, value) {
      if (value === null || value === undefined) return "–";
      if (RATE[key]) return (100 * value).toFixed(1) + "%";
      if (key === "avg_handling_hours") return value.toFixed(1);
      return String(value);
    }
    var kpiSeq = 0;
    function loadKpis() {
      if (!cfg.services.metrics) return;
      var data = new FormData(kpiForm), code = data.get("area"), days = +data.get("days");
      var area = areas.filter(function (a) { return a.code === code; })[0];
      if (!area) return;
      var end = new Date(), start = new Date(end.getTime() - days * 86400000);
      var base = { level: area.level, within: area.code, start: start.toISOString(), end: end.toISOString() };
      var period = days <= 30 ? "day" : days <= 90 ? "week" : "month";
      var seq = ++kpiSeq;
      kpiSection.setAttribute("data-loading", "true");
      Promise.all([
        request("GET", "/api/v1/incidents/metrics?" + query(base)),
        request("GET", "/api/v1/incidents/metrics?" + query(Object.assign({ period: period }, base))),
        request("GET", "/api/v1/incidents/queue?" + query({ status: vocab.statuses.join(","), within: area.code, start: base.start, end: base.end, limit: 0 })).catch(function () { return null; }),
      ]).then(function (parts) {
        if (seq !== kpiSeq) return;
        checkContract("metrics", parts[0], ["rows"]);
        parts[0].rows.concat(parts[1].rows).slice(0, 1).forEach(function (r) { checkContract("metrics row", r, METRIC_FIELDS); });
        // One row: the selected area's own (level = its level, within = its code).
        var rowOf = parts[0].rows.filter(function (r) { return r.area_code === area.code; })[0] || null;
        state.kpi = { params: base, row: rowOf };
        kpiSection.setAttribute("data-start", base.start);
        kpiSection.setAttribute("data-end", base.end);
        kpiSection.setAttribute("data-level", base.level);
        kpiSection.setAttribute("data-within", base.within);
        KPI_KEYS.forEach(function (k) {
          var tile = kpiBody.querySelector("[data-kpi='" + k + "']"), value = rowOf ? rowOf[k] : k in RATE || k === "avg_handling_hours" ? null : 0;
          tile.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
          tile.querySelector(".gg-kpi-value").textContent = fmtKpi(k, value);
          tile.classList.toggle("gg-kpi-alert", k === "overdue" && value > 0);
        });
        var series = parts[1].rows.filter(function (r) { return r.area_code === area.code; });
        chart("gg-chart-trend", { type: "line", data: {
          labels: series.map(function (r) { return String(r.period_start).slice(0, 10); }),
          datasets: [
            { label: s("kpi.reported"), data: series.map(function (r) { return r.reported; }), borderColor: "#ff6f00", backgroundColor: "#ff6f00" },
            { label: s("kpi.closed"), data: series.map(function (r) { return r.closed; }), borderColor: "#2e7d32", backgroundColor: "#2e7d32" },
            { label: s("kpi.overdue"), data: series.map(function (r) { return r.overdue; }), borderColor: "#d50000", backgroundColor: "#d50000" },
          ] } });
        var facets = (parts[2] && parts[2].facets) || { category: {}, source: {} };
        var cats = allCategories.filter(function (c) { return facets.category[c]; });
        chart("gg-chart-category", { type: "bar", data: { labels: cats, datasets: [{ label: s("stat.incidents"), data: cats.map(function (c) { return facets.category[c]; }), backgroundColor: "#c62828" }] },
          options: { indexAxis: "y" } });
        var srcs = vocab.sources.filter(function (c) { return facets.source[c]; });
        chart("gg-chart-source", { type: "doughnut", data: { labels: srcs.map(function (c) { return s("source." + c); }),
          datasets: [{ data: srcs.map(function (c) { return facets.source[c]; }), backgroundColor: ["#c62828", "#ff6f00", "#1565c0", "#2e7d32", "#6a1b9a", "#546e7a"] }] },
          options: { plugins: { legend: { position: "right" } } } });
        kpiSection.removeAttribute("data-loading");
      }).catch(function (err) { console.warn("gridgov: metrics", err); });
    }
    kpiForm.addEventListener("change", loadKpis);

    applyWall();
    loadQueue();
    loadKpis();
  };
})();
