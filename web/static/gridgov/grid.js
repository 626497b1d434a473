/* 网格工作台 /grid/{code}: one grid on a phone — statistics, staff, cases to act on, a new report,
 * households and residents (masked; unmasked only with a stated purpose, audited by the API),
 * buildings and the grid's party organisations; printable as an A4 landscape wall map.
 * Statuses, steps, special groups and purposes come from the server (cfg), never a copy here. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});

  gg.gridPage = function (cfg) {
    var setup = gg.setup(cfg), map = setup.map, groups = setup.groups, s = gg.s, grid = cfg.grid;
    var wb = cfg.workbench || {}, vocab = gg.vocabulary;
    var b = grid.bounds, bounds = L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]);
    var around = bounds.pad(0.05);
    // The workbench is the panel: on a phone it opens as the bottom sheet under the map.
    document.body.classList.remove("gg-panel-closed");
    map.invalidateSize(false);
    function fitGrid() { map.fitBounds(bounds, { padding: [16, 16], animate: false }); }
    fitGrid();

    function list(id, items, render) {
      var body = gg.section(id);
      body.innerHTML = items.length ? "<ol class='gg-list'>" + items.map(render).join("") + "</ol>" : "<p class='gg-note'>" + gg.esc(s("none")) + "</p>";
    }
    function unavailable(id) { var el = gg.section(id); if (el) el.innerHTML = "<p class='gg-note'>" + gg.esc(s("unavailable")) + "</p>"; }
    function errorText(err) {
      return err && err.problem && err.problem.detail ? err.problem.detail : s("grid.failed") + (err && err.status ? " (" + err.status + ")" : "");
    }
    /* fetch that keeps the problem+json body of a refusal, so the page can say what to fix. */
    function send(url, method, body, headers) {
      return fetch(url, {
        method: method, credentials: "same-origin",
        headers: Object.assign({ "Content-Type": "application/json", Accept: "application/json" }, headers || {}),
        body: JSON.stringify(body),
      }).then(function (r) {
        return r.json().catch(function () { return null; }).then(function (json) {
          if (!r.ok) { var e = new Error(url + " -> " + r.status); e.status = r.status; e.problem = json; throw e; }
          return json;
        });
      });
    }

    // ---- map furniture: legend and north arrow (the scale bar is Leaflet's) ----------------------
    var north = L.control({ position: "bottomright" });
    north.onAdd = function () {
      var div = L.DomUtil.create("div", "gg-north");
      div.setAttribute("aria-label", s("grid.north"));
      div.innerHTML = "<span class='gg-north-arrow'>▲</span><span>" + gg.esc(s("grid.north")) + "</span>";
      return div;
    };
    north.addTo(map);
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "gg-legend gg-grid-legend");
      div.innerHTML = "<h3>" + gg.esc(s("legend")) + "</h3><ul>" +
        "<li><i class='gg-key gg-key-grid'></i>" + gg.esc(grid.name) + "</li>" +
        "<li><i class='gg-key gg-key-building'></i>" + gg.esc(s("buildings")) + "（" + gg.esc(s("stat.households")) + "）</li>" +
        ["grid", "building", "household"].map(function (lv) {
          return "<li><i class='gg-swatch gg-org-" + lv + "'></i>" + gg.esc(s("grid.org." + lv)) + "</li>";
        }).join("") +
        "<li><i class='gg-key gg-key-case'></i>" + gg.esc(s("open_cases")) + "</li>" +
        "<li><i class='gg-key gg-key-overdue'></i>" + gg.esc(s("overdue")) + "</li></ul>";
      return div;
    };
    legend.addTo(map);
    // Printing re-lays the page (gridgov.css): fit the grid into the printed map box.
    function relayout() { map.invalidateSize({ animate: false }); fitGrid(); }
    window.addEventListener("beforeprint", relayout);
    window.addEventListener("afterprint", relayout);
    if (window.matchMedia) {
      var printing = window.matchMedia("print");
      if (printing.addEventListener) printing.addEventListener("change", relayout);
    }

    // ---- the grid and its neighbours ------------------------------------------------------------
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

    // ---- buildings (households per building) and the grid's own party organisations -------------
    var residents = null;  // the residents section's controller, set below when signed in
    if (cfg.services.items) {
      // By ownership, filtered by the server: buildings of this grid, organisations whose area
      // is this grid (a grid branch, or the building / household it serves lies in the grid).
      var items = function (collection, filter) {
        return gg.fetchJSON("/ogc/collections/" + collection + "/items?f=json&limit=1000&" + filter,
          { headers: { Accept: "application/geo+json, application/json" } }).then(gg.featuresOf);
      };
      items("buildings", "grid_code=" + encodeURIComponent(grid.code)).then(function (features) {
        features.sort(function (x, y) { return String(x.properties.code).localeCompare(String(y.properties.code)); });
        features.forEach(function (f) {
          var p = f.properties || {};
          groups.buildings.addLayer(L.geoJSON(f, { style: { color: "#455a64", weight: 1, fillColor: "#b0bec5", fillOpacity: 0.6, className: "gg-area gg-area-building" } })
            .bindTooltip(gg.esc(p.households !== undefined ? p.households : ""), { permanent: true, direction: "center", className: "gg-label gg-label-building-count" }));
        });
        list("buildings", features, function (f) {
          var p = f.properties || {};
          return "<li data-code='" + gg.esc(p.code) + "'><button type='button' class='gg-link gg-building'" + (residents ? "" : " disabled") + " data-code='" + gg.esc(p.code) + "' data-name='" + gg.esc(p.name) + "'>" + gg.esc(p.name) +
            "</button> <span class='gg-count'>" + gg.esc(p.households !== undefined ? p.households : "–") + "</span> " + gg.esc(s("stat.households")) + "</li>";
        });
        gg.section("buildings").addEventListener("click", function (e) {
          var btn = e.target.closest("button.gg-building");
          if (btn && residents) residents.byBuilding(btn.dataset.code, btn.dataset.name);
        });
      }).catch(function () { unavailable("buildings"); });
      items("party_orgs", "area_code=" + encodeURIComponent(grid.code)).then(function (features) {
        var order = { grid: 0, building: 1, household: 2 };
        features.sort(function (x, y) { return (order[x.properties.level] || 9) - (order[y.properties.level] || 9) || String(x.properties.code).localeCompare(String(y.properties.code)); });
        features.forEach(function (f) {
          var p = f.properties;
          var icon = ({ grid: "fa-people-group", building: "fa-building-flag", household: "fa-house-flag" })[p.level] || "fa-flag";
          groups.orgs.addLayer(L.marker(gg.point(f), {
            icon: L.divIcon({ className: "gg-org gg-org-" + p.level, html: "<i class='fa-solid " + icon + "'></i>", iconSize: [24, 24], iconAnchor: [12, 12] }),
            title: p.name,
          }).bindPopup(gg.esc(p.name)));
        });
        list("orgs", features, function (f) {
          var p = f.properties;
          return "<li data-code='" + gg.esc(p.code) + "' data-level='" + gg.esc(p.level) + "'><i class='gg-swatch gg-org-" + gg.esc(p.level) + "'></i>" + gg.esc(p.name) +
            " <small>" + gg.esc(p.org_type || "") + (p.members !== undefined ? " · " + gg.esc(p.members) + " " + gg.esc(s("stat.party_members")) : "") + "</small></li>";
        });
      }).catch(function () { unavailable("orgs"); });
    } else {
      unavailable("buildings"); unavailable("orgs");
    }

    // ---- statistics and staff -------------------------------------------------------------------
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

    // ---- cases: the grid's open cases and the steps this viewer may take -------------------------
    var casesBody = gg.section("incidents"), cases = [], openForm = null, casesNote = "";
    // The workflow's steps (from the server) by status and action, and what each asks for. This
    // phone form takes a note (or a reason) and photos; a step that needs more (a target, a new
    // deadline) is taken on /command.
    var stepOf = {};
    (wb.steps || []).forEach(function (st) { stepOf[st.from + ">" + st.action] = st; });
    var FORM_FIELDS = ["note", "reason", "photos"];
    function onThisPage(status, action) {
      var st = stepOf[status + ">" + action];
      return !!st && st.fields.every(function (f) { return FORM_FIELDS.indexOf(f) >= 0; });
    }
    function noteRequired(status, action) {
      var st = stepOf[status + ">" + action];
      return !!st && (action === "report_back" || st.fields.indexOf("reason") >= 0);
    }
    function caseRow(c) {
      var inc = gg.incident(c), mine = wb.personId && c.assignee && c.assignee.id === wb.personId;
      var steps = (c.allowed_transitions || []).filter(function (action) { return onThisPage(c.status, action); }).map(function (action) {
        return "<button type='button' class='gg-action' data-id='" + gg.esc(c.id) + "' data-action='" + gg.esc(action) + "' data-from='" + gg.esc(c.status) + "'>" + gg.esc(gg.actionLabel(action)) + "</button>";
      }).join("");
      var form = openForm && openForm.id === c.id ?
        "<form class='gg-action-form' data-id='" + gg.esc(c.id) + "' data-action='" + gg.esc(openForm.action) + "'><h3>" + gg.esc(gg.actionLabel(openForm.action)) + "</h3>" +
        "<label>" + gg.esc(s("grid.feedback_note")) + "<textarea name='note' rows='3' maxlength='2000'" + (noteRequired(c.status, openForm.action) ? " required" : "") + "></textarea></label>" +
        "<label>" + gg.esc(s("grid.public_note")) + "<input name='public_note' maxlength='2000'></label>" +
        // Photos of the step (uploaded as chosen, attached internally by id: photos.js).
        gg.photoPickerHtml("media") +
        "<div class='gg-actions'><button type='submit' class='gg-action'>" + gg.esc(s("form.submit")) + "</button><button type='button' class='gg-cancel'>" + gg.esc(s("form.cancel")) + "</button></div></form>" : "";
      return "<li class='gg-case-row" + (inc.overdue ? " gg-overdue-row" : "") + "' data-id='" + gg.esc(c.id) + "' data-code='" + gg.esc(c.code) + "' data-status='" + gg.esc(c.status) + "'>" +
        "<b>" + gg.esc(c.code) + "</b> " + gg.esc(c.category) + " · <span class='gg-case-status'>" + gg.esc(s("status." + c.status)) + "</span>" +
        (mine ? " <span class='gg-badge gg-mine'>" + gg.esc(s("grid.mine")) + "</span>" : "") +
        (inc.overdue ? " <span class='gg-badge-overdue'>" + gg.esc(s("overdue")) + "</span>" : "") +
        "<br><small>" + gg.esc(c.description || "") + "</small>" +
        "<br><small>" + gg.esc(s("due")) + " " + gg.esc(gg.fmtTime(c.due_at)) + (c.assignee ? " · " + gg.esc(s("case.assignee")) + " " + gg.esc(c.assignee.name || "") : "") + "</small>" +
        queuedSteps(c.id).map(function (e) { return "<br><span class='gg-badge gg-step-queued'>" + gg.esc(s("field.step_queued").replace("{step}", e.label)) + "</span>"; }).join("") +
        (steps ? "<div class='gg-actions'>" + steps + "</div>" : "") + form + "</li>";
    }
    function renderCases() {
      var mineFirst = cases.slice().sort(function (x, y) {
        var mx = wb.personId && x.assignee && x.assignee.id === wb.personId ? 0 : 1, my = wb.personId && y.assignee && y.assignee.id === wb.personId ? 0 : 1;
        return mx - my || String(x.due_at || "~").localeCompare(String(y.due_at || "~"));
      });
      casesBody.innerHTML = (casesNote ? "<p class='gg-flash gg-case-note' role='status'>" + gg.esc(casesNote) + "</p>" : "") +
        (mineFirst.length ? "<ol class='gg-list gg-cases'>" + mineFirst.map(caseRow).join("") + "</ol>" : "<p class='gg-note'>" + gg.esc(s("none")) + "</p>");
      var form = casesBody.querySelector("form.gg-action-form textarea");
      if (form) form.focus();
    }
    function loadCases() {
      if (!gg.mayReadIncidents(cfg)) {
        casesBody.innerHTML = "<p class='gg-note'>" + gg.esc(cfg.services.incidents ? s("incidents_hidden") : s("unavailable")) + "</p>";
        return Promise.resolve();
      }
      return gg.fetchJSON("/api/v1/incidents?within=" + encodeURIComponent(grid.code) + "&" + gg.incidentQuery({ status: "open" }) + "&limit=500").then(function (json) {
        cases = gg.featuresOf(json).map(function (raw) { return Object.assign({ id: raw.id }, gg.props(raw)); });
        groups.incidents.clearLayers();
        cases.forEach(function (c) {
          var i = gg.incident(c);
          if (i.latlng) groups.incidents.addLayer(L.circleMarker(i.latlng, { radius: 7, className: "gg-incident" + (i.overdue ? " gg-overdue" : ""), color: i.overdue ? "#d50000" : "#ff6f00" }).bindPopup(gg.incidentPopup(i)));
        });
        renderCases();
      }).catch(function () { unavailable("incidents"); });
    }
    casesBody.addEventListener("click", function (e) {
      var btn = e.target.closest("button.gg-action[data-action]");
      if (btn && !btn.closest("form")) { openForm = { id: +btn.dataset.id, action: btn.dataset.action }; casesNote = ""; renderCases(); return; }
      if (e.target.closest("button.gg-cancel")) { openForm = null; renderCases(); }
    });
    casesBody.addEventListener("submit", function (e) {
      e.preventDefault();
      var form = e.target, data = new FormData(form), body = { action: form.dataset.action };
      ["note", "public_note"].forEach(function (k) { var v = String(data.get(k) || "").trim(); if (v) body[k] = v; });
      var photos = gg.photoIds(data, "media");
      if (photos.length) body.media = photos;
      form.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
      // Through the outbox with its own Idempotency-Key: offline (or when the network drops) the
      // step waits on the phone and is replayed once, in order, when it is back online.
      var id = +form.dataset.id, action = form.dataset.action;
      var sent = gg.outbox.send("POST", "/api/v1/incidents/" + encodeURIComponent(id) + "/transitions", body,
        { key: gg.outbox.newKey("step"), label: gg.actionLabel(action) });
      openForm = null;
      if (navigator.onLine === false) {
        // Show the case as the step will leave it, so the next step (处置反馈 after 签收) can
        // be queued too; the server decides each when it arrives.
        var c = cases.filter(function (x) { return x.id === id; })[0], st = c && stepOf[c.status + ">" + action];
        if (st) {
          c.status = st.to;
          c.allowed_transitions = (wb.steps || []).filter(function (x) { return x.from === st.to && (wb.roleActions || []).indexOf(x.action) >= 0; })
            .map(function (x) { return x.action; });
        }
        casesNote = gg.actionLabel(action) + " · " + s("field.queued");
        renderCases();
      }
      sent.then(function (c) {
        casesNote = c.code + " · " + s("case.done") + " · " + s("status." + c.status);
        return loadCases();
      }).catch(function (err) {
        // Someone else moved the case (409) or the step needs more (4xx): say so, show the case as it is now.
        casesNote = s("case.conflict") + "：" + (err.message || errorText(err));
        return loadCases();
      });
    });
    // Steps still waiting in the outbox, shown on their case.
    function queuedSteps(id) {
      var url = "/api/v1/incidents/" + encodeURIComponent(id) + "/transitions";
      return gg.outbox.pending().filter(function (e) { return e.url === url; });
    }
    loadCases();
    // When the outbox has sent what waited, the list shows the cases as they are now.
    var waiting = 0;
    gg.outbox.onChange(function (n) { if (n < waiting && cases.length) loadCases(); waiting = n; });

    // ---- recent patrol findings of this grid with their photos (field-work scope) ----------------
    var findingsBody = gg.section("findings");
    if (findingsBody) {
      gg.fetchJSON("/api/v1/field/patrols?tracks=true&area=" + encodeURIComponent(grid.code)).then(function (page) {
        var recent = [];
        page.items.forEach(function (p) {
          p.finding_list.forEach(function (f) {
            recent.push(f);
            groups.incidents.addLayer(L.circleMarker([f.lat, f.lon], { radius: 5, color: "#6a1b9a", className: "gg-finding-marker" })
              .bindPopup(gg.esc(f.description) + gg.stepPhotosHtml({ photos: f.photos || [] })));
          });
        });
        recent.sort(function (x, y) { return String(y.at).localeCompare(String(x.at)); });
        findingsBody.innerHTML = gg.findingListHtml(recent.slice(0, 20));
      }).catch(function (err) {
        findingsBody.innerHTML = "<p class='gg-note'>" + gg.esc(err && err.status === 403 ? s("incidents_hidden") : s("unavailable")) + "</p>";
      });
    }

    // ---- a new report at the phone's position or a tapped point ---------------------------------
    var reportBody = gg.section("report");
    if (reportBody && cfg.services.incident_create) {
      var position = null, tapping = false, marker = null, idempotencyKey = null;
      var options = vocab.kinds.map(function (kind) {
        return "<optgroup label='" + gg.esc(vocab.kind_labels_zh[kind] || kind) + "'>" + vocab.categories[kind].map(function (c) { return "<option>" + gg.esc(c) + "</option>"; }).join("") + "</optgroup>";
      }).join("");
      reportBody.innerHTML = "<form class='gg-report-form'>" +
        "<div class='gg-actions'><button type='button' class='gg-action gg-use-gps'>" + gg.esc(s("grid.use_gps")) + "</button>" +
        "<button type='button' class='gg-action gg-tap-map'>" + gg.esc(s("grid.tap_map")) + "</button></div>" +
        "<p class='gg-note gg-position' aria-live='polite'>" + gg.esc(s("grid.no_position")) + "</p>" +
        "<label>" + gg.esc(s("filter.category")) + "<select name='category' required>" + options + "</select></label>" +
        "<label>" + gg.esc(s("grid.description")) + "<textarea name='description' rows='3' maxlength='4000' required></textarea></label>" +
        gg.photoPickerHtml("media") +
        "<button type='submit' class='gg-action'>" + gg.esc(s("grid.report")) + "</button>" +
        "<p class='gg-report-result' role='status'></p></form>";
      var form = reportBody.querySelector("form"), posNote = form.querySelector(".gg-position"), result = form.querySelector(".gg-report-result");
      var setPosition = function (latlng, accuracy, how) {
        position = { lat: latlng.lat, lon: latlng.lng };
        if (marker) groups.report.removeLayer(marker);
        marker = L.marker(latlng, { title: s("grid.report") });
        groups.report.clearLayers();
        groups.report.addLayer(marker);
        if (accuracy) groups.report.addLayer(L.circle(latlng, { radius: accuracy, weight: 1, fillOpacity: 0.1 }));
        posNote.textContent = how + " · " + latlng.lat.toFixed(6) + ", " + latlng.lng.toFixed(6) + (accuracy ? " · " + s("grid.accuracy") + " " + Math.round(accuracy) + " m" : "") +
          (bounds.contains(latlng) ? "" : " · " + s("grid.outside"));
        posNote.dataset.lat = String(latlng.lat); posNote.dataset.lon = String(latlng.lng);
        idempotencyKey = null;
      };
      form.querySelector(".gg-use-gps").addEventListener("click", function () {
        if (!navigator.geolocation) { posNote.textContent = s("grid.gps_failed"); return; }
        posNote.textContent = s("loading");
        navigator.geolocation.getCurrentPosition(function (pos) {
          var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
          setPosition(ll, pos.coords.accuracy, s("grid.located"));
          map.setView(ll, Math.max(map.getZoom(), 17));
        }, function () { posNote.textContent = s("grid.gps_failed"); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
      });
      form.querySelector(".gg-tap-map").addEventListener("click", function () {
        tapping = true;
        map.getContainer().classList.add("gg-tapping");
        posNote.textContent = s("grid.tap_hint");
      });
      map.on("click", function (e) {
        if (!tapping) return;
        tapping = false;
        map.getContainer().classList.remove("gg-tapping");
        setPosition(e.latlng, null, s("grid.tapped"));
      });
      form.addEventListener("input", function () { idempotencyKey = null; });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!position) { result.textContent = s("grid.no_position"); return; }
        var data = new FormData(form);
        // One key per report as filled in: a retry after a lost answer cannot file it twice.
        idempotencyKey = idempotencyKey || (window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
        var submit = form.querySelector("button[type=submit]");
        submit.disabled = true;
        var report = {
          category: data.get("category"), description: String(data.get("description") || "").trim(),
          geometry: { type: "Point", coordinates: [position.lon, position.lat] }, source: wb.reportSource,
        };
        var photos = gg.photoIds(data, "media");
        if (photos.length) report.media = photos;
        // Offline (or the network drops on the way), the report waits in the outbox with its
        // key and is filed once the phone is back online (outbox.js).
        var queue = function () {
          result.className = "gg-report-result gg-case-queued";
          result.textContent = s("field.queued");
          return gg.outbox.send("POST", "/api/v1/incidents", report, { key: idempotencyKey, label: s("grid.report") });
        };
        var filed = navigator.onLine === false || gg.photosQueued(photos) ? queue() : send("/api/v1/incidents", "POST", report, { "Idempotency-Key": idempotencyKey })
          .catch(function (err) { if (err instanceof TypeError) return queue(); throw err; });
        if (navigator.onLine === false) { form.querySelector("textarea").value = ""; idempotencyKey = null; submit.disabled = false; }
        filed.then(function (json) {
          var c = json.incident || {};
          result.className = "gg-report-result gg-case-ok";
          result.dataset.code = c.code || "";
          result.textContent = s("grid.reported_ok") + " " + (c.code || "") + (c.grid && c.grid.name ? " · " + s("grid.grid_of") + " " + c.grid.name : "");
          form.querySelector("textarea").value = ""; idempotencyKey = null;
          form.querySelectorAll(".gg-photo-list li").forEach(function (li) { li.remove(); });
          return loadCases();
        }).catch(function (err) {
          result.className = "gg-report-result gg-case-error";
          result.textContent = errorText(err);
        }).then(function () { submit.disabled = false; });
      });
    }

    // ---- households and residents: masked; full details only with a purpose (audited) ---------
    var resBody = gg.section("residents");
    if (resBody) {
      var rs = { purpose: null, q: "", group: "", building: null, buildingName: "", offset: 0, items: [], total: 0, open: null };
      var groupLabel = {};
      (wb.specialGroups || []).forEach(function (g) { groupLabel[g.key] = g.label; });
      resBody.innerHTML = "<form class='gg-residents-form' role='search'>" +
        "<input type='search' name='q' maxlength='50' placeholder='" + gg.esc(s("grid.search")) + "' aria-label='" + gg.esc(s("grid.search")) + "'>" +
        "<select name='group' aria-label='" + gg.esc(s("grid.groups")) + "'><option value=''>" + gg.esc(s("grid.group_all")) + "</option>" +
        (wb.specialGroups || []).map(function (g) { return "<option value='" + gg.esc(g.key) + "'>" + gg.esc(g.label) + "</option>"; }).join("") + "</select>" +
        "</form><div class='gg-disclosure'></div><div class='gg-households'></div>";
      var rform = resBody.querySelector("form"), disclosure = resBody.querySelector(".gg-disclosure"), hhBody = resBody.querySelector(".gg-households");
      var renderDisclosure = function () {
        if (!wb.mayUnmask) { disclosure.innerHTML = "<p class='gg-note'>" + gg.esc(s("grid.masked_role")) + "</p>"; return; }
        if (rs.purpose) {
          disclosure.innerHTML = "<p class='gg-flash gg-unmasked-note'>" + gg.esc(s("grid.unmasked")) + "：" + gg.esc(rs.purpose) +
            " <button type='button' class='gg-link gg-remask'>" + gg.esc(s("grid.remask")) + "</button></p>";
        } else if (rs.asking) {
          disclosure.innerHTML = "<form class='gg-purpose-form'><p class='gg-note'>" + gg.esc(s("grid.purpose_hint")) + "</p>" +
            "<label>" + gg.esc(s("grid.purpose")) + "<input name='purpose' list='gg-purposes' minlength='2' maxlength='200' required></label>" +
            "<datalist id='gg-purposes'>" + (wb.purposes || []).map(function (p) { return "<option value='" + gg.esc(p) + "'>"; }).join("") + "</datalist>" +
            "<div class='gg-actions'>" + (wb.purposes || []).map(function (p) { return "<button type='button' class='gg-chip gg-purpose-choice'>" + gg.esc(p) + "</button>"; }).join("") + "</div>" +
            "<div class='gg-actions'><button type='submit' class='gg-action'>" + gg.esc(s("grid.unmask")) + "</button><button type='button' class='gg-cancel'>" + gg.esc(s("form.cancel")) + "</button></div></form>";
          disclosure.querySelector("input").focus();
        } else {
          disclosure.innerHTML = "<p class='gg-note'>" + gg.esc(s("grid.masked")) + " <button type='button' class='gg-action gg-unmask'>" + gg.esc(s("grid.unmask")) + "</button></p>";
        }
      };
      var purposeQuery = function () { return rs.purpose ? "&purpose=" + encodeURIComponent(rs.purpose) : ""; };
      var renderHouseholds = function () {
        var filterNote = rs.building ? "<p class='gg-note gg-building-filter'>" + gg.esc(rs.buildingName) + " <button type='button' class='gg-link gg-clear-building'>✕</button></p>" : "";
        hhBody.innerHTML = filterNote + "<p class='gg-note gg-total'>" + gg.esc(s("queue.of")) + " " + gg.esc(rs.total) + " " + gg.esc(s("stat.households")) + "</p>" +
          "<ol class='gg-list gg-household-list'>" + rs.items.map(function (h) {
            var chips = (h.special_groups || []).map(function (g) { return "<span class='gg-chip gg-group' data-group='" + gg.esc(g) + "'>" + gg.esc(groupLabel[g] || g) + "</span>"; }).join("");
            var open = rs.open && rs.open.code === h.code ? rs.open : null;
            return "<li class='gg-household" + (h.masked ? " gg-masked" : "") + "' data-code='" + gg.esc(h.code) + "'>" +
              "<button type='button' class='gg-link gg-household-open' data-code='" + gg.esc(h.code) + "'>" + gg.esc(h.address) + "</button>" +
              "<br><small><span class='gg-head-name'>" + gg.esc(h.head_name || "") + "</span> · " + gg.esc(h.residents) + " " + gg.esc(s("grid.people")) + "</small> " + chips +
              (open ? residentsTable(open) : "") + "</li>";
          }).join("") + "</ol>" +
          (rs.items.length < rs.total ? "<button type='button' class='gg-action gg-more'>" + gg.esc(s("grid.more")) + "</button>" : "");
      };
      var residentsTable = function (h) {
        if (h.loading) return "<p class='gg-note'>" + gg.esc(s("loading")) + "</p>";
        if (h.error) return "<p class='gg-case-error'>" + gg.esc(h.error) + "</p>";
        return "<table class='gg-stats gg-residents'>" + h.residents.map(function (r) {
          return "<tr class='gg-resident" + (h.masked ? " gg-masked" : "") + "'><th>" + gg.esc(r.relation) + "</th><td><span class='gg-resident-name'>" + gg.esc(r.name) + "</span>" +
            (r.party_member ? " <span class='gg-badge'>" + gg.esc(s("stat.party_members")) + "</span>" : "") +
            (r.special_groups || []).map(function (g) { return " <span class='gg-chip gg-group' data-group='" + gg.esc(g) + "'>" + gg.esc(groupLabel[g] || g) + "</span>"; }).join("") +
            (r.phone ? "<br><small class='gg-resident-phone'>" + (h.masked ? gg.esc(r.phone) : "<a href='tel:" + gg.esc(r.phone) + "'>" + gg.esc(r.phone) + "</a>") + "</small>" : "") +
            (r.id_number ? "<br><small class='gg-resident-id'>" + gg.esc(r.id_number) + "</small>" : "") + "</td></tr>";
        }).join("") + "</table>";
      };
      var loadHouseholds = function (append) {
        if (!append) { rs.offset = 0; rs.items = []; rs.open = null; }
        var url = "/api/v1/households?within=" + encodeURIComponent(grid.code) + "&limit=" + (wb.householdPage || 30) + "&offset=" + rs.offset +
          (rs.q ? "&q=" + encodeURIComponent(rs.q) : "") + (rs.group ? "&group=" + encodeURIComponent(rs.group) : "") +
          (rs.building ? "&building=" + encodeURIComponent(rs.building) : "") + purposeQuery();
        hhBody.setAttribute("aria-busy", "true");
        return gg.fetchJSON(url).then(function (page) {
          rs.items = rs.items.concat(page.items); rs.total = page.total; rs.offset = rs.items.length;
          renderHouseholds();
        }).catch(function (err) {
          hhBody.innerHTML = "<p class='gg-note'>" + gg.esc(err.status === 403 ? s("grid.masked_role") : s("unavailable")) + "</p>";
        }).then(function () { hhBody.removeAttribute("aria-busy"); });
      };
      var openHousehold = function (code) {
        if (rs.open && rs.open.code === code) { rs.open = null; renderHouseholds(); return; }
        rs.open = { code: code, loading: true };
        renderHouseholds();
        gg.fetchJSON("/api/v1/households/" + encodeURIComponent(code) + purposeQuery().replace("&", "?")).then(function (h) {
          if (rs.open && rs.open.code === code) { rs.open = h; renderHouseholds(); }
        }).catch(function (err) {
          if (rs.open && rs.open.code === code) { rs.open = { code: code, error: s("unavailable") + " (" + err.status + ")" }; renderHouseholds(); }
        });
      };
      var search = gg.debounce(function () { loadHouseholds(false); }, 350);
      rform.addEventListener("submit", function (e) { e.preventDefault(); rs.q = rform.q.value.trim(); loadHouseholds(false); });
      rform.q.addEventListener("input", function () { rs.q = rform.q.value.trim(); search(); });
      rform.group.addEventListener("change", function () { rs.group = rform.group.value; loadHouseholds(false); });
      disclosure.addEventListener("click", function (e) {
        if (e.target.closest(".gg-unmask")) { rs.asking = true; renderDisclosure(); }
        else if (e.target.closest(".gg-remask")) { rs.purpose = null; renderDisclosure(); loadHouseholds(false); }
        else if (e.target.closest(".gg-cancel")) { rs.asking = false; renderDisclosure(); }
        else if (e.target.closest(".gg-purpose-choice")) { disclosure.querySelector("input[name=purpose]").value = e.target.textContent; }
      });
      disclosure.addEventListener("submit", function (e) {
        e.preventDefault();
        var purpose = String(new FormData(e.target).get("purpose") || "").trim();
        if (purpose.length < 2) return;
        rs.purpose = purpose; rs.asking = false;
        renderDisclosure(); loadHouseholds(false);
      });
      hhBody.addEventListener("click", function (e) {
        var open = e.target.closest(".gg-household-open");
        if (open) { openHousehold(open.dataset.code); return; }
        if (e.target.closest(".gg-more")) { loadHouseholds(true); return; }
        if (e.target.closest(".gg-clear-building")) { rs.building = null; loadHouseholds(false); }
      });
      residents = {
        byBuilding: function (code, name) {
          rs.building = code; rs.buildingName = name;
          loadHouseholds(false);
          document.getElementById("gg-residents").scrollIntoView({ behavior: "smooth" });
        },
      };
      renderDisclosure();
      loadHouseholds(false);
    }
    gg.grid = { bounds: bounds, map: map, reloadCases: loadCases };
  };
})();
