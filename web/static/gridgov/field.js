/* 巡查走访 (docs/field-work.md): a worker's patrol with its live track from the phone's
 * geolocation (sampled, with accuracy, sent in batches with the phone's own point ids so a
 * re-sent batch is harmless), findings that become cases in one tap, household visits; the
 * chief's view of tracks, visit coverage and per-worker KPIs. Distances come from the server. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});
  var API = "/api/v1/field";

  function request(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        if (!response.ok) { var e = new Error((json && json.detail) || String(response.status)); e.status = response.status; throw e; }
        return json;
      });
    });
  }

  gg.fieldPage = function (cfg) {
    var setup = gg.setup(cfg), map = setup.map, groups = setup.groups, s = gg.s, field = cfg.field;
    if (field.area && field.area.bounds) {
      var b = field.area.bounds;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10] });
    }
    if (!field.records && !field.oversees) {
      gg.section("signin").innerHTML = "<p><a class='gg-button' href='/login?next=/field'>" + gg.esc(s("field.sign_in")) + "</a></p>";
      return;
    }
    var state = { patrol: null, watch: null, last: null, seq: 0, line: null };
    // Every write goes through the outbox (outbox.js): stored first, sent with its
    // Idempotency-Key, queued while offline and sent once the phone is back online.
    function send(method, url, body, options) { return gg.outbox.send(method, url, body, options); }

    function patrolPanel() {
      var body = gg.section("patrol");
      body.innerHTML =
        "<p class='gg-field-status' role='status'></p>" +
        "<button type='button' class='gg-button gg-field-toggle'></button>" +
        "<dl class='gg-field-stats'><dt>" + gg.esc(s("field.points")) + "</dt><dd class='gg-field-points'>0</dd>" +
        "<dt>" + gg.esc(s("field.distance")) + "</dt><dd class='gg-field-distance'>0</dd>" +
        "<dt>" + gg.esc(s("field.accuracy")) + "</dt><dd class='gg-field-accuracy'>–</dd></dl>" +
        "<form class='gg-field-finding' hidden><label>" + gg.esc(s("field.finding")) +
        "<textarea name='description' required maxlength='4000' rows='2'></textarea></label>" +
        gg.photoPickerHtml("media") +
        "<button type='submit' class='gg-button'>" + gg.esc(s("field.add_finding")) + "</button></form>" +
        "<ol class='gg-list gg-field-findings'></ol>";
      body.querySelector(".gg-field-toggle").addEventListener("click", function () { state.patrol ? stop() : start(); });
      body.querySelector(".gg-field-finding").addEventListener("submit", function (ev) {
        ev.preventDefault();
        var form = ev.target, data = new FormData(form), here = state.last;
        if (!state.patrol || !here) { status(s("field.no_position")); return; }
        var key = gg.outbox.newKey("finding"), description = data.get("description");
        // Photos taken offline are named by their outbox reference; the outbox resolves them.
        var sent = send("POST", patrolUrl(state.patrol) + "/findings", {
          description: description, lon: here.lon, lat: here.lat, media: gg.photoIds(data, "media"),
          at: new Date().toISOString(),
        }, { key: key, label: s("field.finding") });
        form.reset(); form.querySelectorAll(".gg-photo-list li").forEach(function (i) { i.remove(); });
        var waiting = document.createElement("li");
        waiting.className = "gg-field-queued"; waiting.dataset.key = key;
        waiting.textContent = description + " · " + s("field.queued");
        gg.section("patrol").querySelector(".gg-field-findings").appendChild(waiting);
        sent.then(function (finding) { waiting.remove(); addFinding(finding); })
          .catch(function (e) { waiting.remove(); status(s("field.failed") + ": " + e.message); });
      });
      render();
    }

    // A patrol started offline has no server id yet: its URLs name it by its outbox key, which
    // the outbox replaces by the id once the start has been sent (outbox.js).
    function patrolUrl(p) { return API + "/patrols/" + (p.id || gg.outbox.idOf(p.key) || gg.outbox.ref(p.key)); }

    function status(text) { var el = document.querySelector("#gg-patrol .gg-field-status"); if (el) el.textContent = text; }

    function render() {
      var body = gg.section("patrol"), on = !!state.patrol;
      body.querySelector(".gg-field-toggle").textContent = s(on ? "field.stop" : "field.start");
      body.querySelector(".gg-field-finding").hidden = !on;
      status(s(on ? "field.on_patrol" : "field.idle"));
      if (on) {
        body.querySelector(".gg-field-points").textContent = state.patrol.points;
        body.querySelector(".gg-field-distance").textContent = Math.round(state.patrol.distance_m);
      }
    }

    function addFinding(f) {
      var list = gg.section("patrol").querySelector(".gg-field-findings"), li = document.createElement("li");
      li.dataset.finding = f.id;
      li.innerHTML = gg.esc(f.description) + " " + gg.stepPhotosHtml({ photos: f.photos || [] }) + (f.incident_code
        ? "<span class='gg-field-case'>" + gg.esc(s("field.case_made")) + " " + gg.esc(f.incident_code) + "</span>"
        : "<select name='category' aria-label='" + gg.esc(s("field.category")) + "'>" + gg.vocabulary.categories.event.concat(gg.vocabulary.categories.component)
            .map(function (c) { return "<option>" + gg.esc(c) + "</option>"; }).join("") + "</select>" +
          "<button type='button' class='gg-button gg-field-to-case'>" + gg.esc(s("field.to_case")) + "</button>");
      var button = li.querySelector(".gg-field-to-case");
      if (button) button.addEventListener("click", function () {
        button.disabled = true;
        send("POST", API + "/findings/" + f.id + "/case", { category: li.querySelector("select").value },
          { key: "case-" + f.id, label: s("field.to_case") })
          .then(addFinding)
          .catch(function (e) { button.disabled = false; status(s("field.failed") + ": " + e.message); });
      });
      var existing = list.querySelector("[data-finding='" + f.id + "']");
      if (existing) existing.replaceWith(li); else list.appendChild(li);
      L.circleMarker([f.lat, f.lon], { radius: 7, color: "#c62828", className: "gg-field-finding-marker" }).addTo(groups.me);
    }

    function onPosition(pos) {
      var c = pos.coords, here = { lon: c.longitude, lat: c.latitude, accuracy: c.accuracy, t: pos.timestamp || Date.now() };
      document.querySelector("#gg-patrol .gg-field-accuracy").textContent = Math.round(c.accuracy);
      var prev = state.last;
      if (prev && here.t - prev.t < field.sampleSeconds * 1000 &&
          map.distance([prev.lat, prev.lon], [here.lat, here.lon]) < field.sampleMetres) return;
      state.last = here;
      state.seq += 1;
      var patrol = state.patrol, point = { id: patrol.key + "-" + here.t + "-" + state.seq, lon: here.lon, lat: here.lat,
        at: new Date(here.t).toISOString(), accuracy_m: c.accuracy };
      send("POST", patrolUrl(patrol) + "/points", point,
        { key: point.id, batch: "points-" + patrol.key, label: s("field.points") })
        .then(function (summary) {
          if (state.patrol && (state.patrol.id || gg.outbox.idOf(state.patrol.key)) === summary.id) {
            state.patrol.points = summary.points; state.patrol.distance_m = summary.distance_m; render();
          }
        }).catch(function () {});
      if (!state.line) state.line = L.polyline([], { color: "#1565c0", weight: 4, className: "gg-field-my-track" }).addTo(groups.me);
      state.line.addLatLng([here.lat, here.lon]);
      map.panTo([here.lat, here.lon]);
    }

    function watch() {
      if (!navigator.geolocation) { status(s("field.no_position")); return; }
      state.watch = navigator.geolocation.watchPosition(onPosition, function () { status(s("field.no_position")); },
        { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    }

    // The phone names the patrol (its outbox key) and starts it at once, online or not: the start
    // is queued like every write and the server answers the same patrol to a repeat.
    function start() {
      var begin = function (here) {
        var key = gg.outbox.newKey("patrol"), body = { started_at: new Date().toISOString() };
        if (here) { body.lon = here.coords.longitude; body.lat = here.coords.latitude; }
        state.patrol = { id: null, key: key, points: 0, distance_m: 0 }; state.last = null; state.seq = 0;
        render(); watch();
        if (navigator.onLine === false) status(s("field.on_patrol") + " · " + s("field.queued"));
        send("POST", API + "/patrols", body, { key: key, remember: true, label: s("field.start") })
          .then(function (p) { if (state.patrol && state.patrol.key === key) { state.patrol.id = p.id; render(); } })
          .catch(function (e) {
            if (state.patrol && state.patrol.key === key) { stopWatching(); state.patrol = null; state.line = null; render(); }
            status(s("field.failed") + ": " + e.message);
          });
      };
      if (navigator.geolocation) navigator.geolocation.getCurrentPosition(begin, function () { begin(null); }, { timeout: 10000 });
      else begin(null);
    }

    function stopWatching() {
      if (state.watch !== null) navigator.geolocation.clearWatch(state.watch);
      state.watch = null;
    }

    function stop() {
      stopWatching();
      // Queued behind the patrol's points, so it reaches the server after them; the phone's
      // time, as it may be sent much later.
      var ended = send("POST", patrolUrl(state.patrol) + "/end", { ended_at: new Date().toISOString() },
        { key: "end-" + state.patrol.key, label: s("field.stop") });
      state.patrol = null; state.line = null; render();
      if (navigator.onLine === false) status(s("field.idle") + " · " + s("field.queued"));
      ended.then(function (p) { status(s("field.idle") + " · " + Math.round(p.distance_m) + " m"); loadTracks(); })
        .catch(function (e) { status(s("field.failed") + ": " + e.message); });
    }

    // Households of a building, masked as the API masks them for this role (no purpose given).
    function householdLabel(h) {
      var where = h.room ? h.room : [h.unit, h.floor].filter(function (x) { return x !== null && x !== undefined; }).join("-");
      return [h.code, where, h.head_name].filter(function (x) { return x; }).join(" · ");
    }

    function loadHouseholds(form, buildingCode) {
      var select = form.querySelector("select[name=household_code]");
      select.innerHTML = "<option value=''>" + gg.esc(s("field.whole_building")) + "</option>";
      if (!buildingCode) return Promise.resolve();
      return request("GET", "/api/v1/households?limit=500&building=" + encodeURIComponent(buildingCode)).then(function (page) {
        if (form.querySelector("select[name=building_id]").selectedOptions[0].dataset.code !== buildingCode) return;
        page.items.forEach(function (h) {
          var option = document.createElement("option");
          option.value = h.code; option.textContent = householdLabel(h);
          select.appendChild(option);
        });
      }).catch(function () {});
    }

    function visitPanel(buildings) {
      var body = gg.section("visit");
      body.innerHTML = "<form class='gg-field-visit'><label>" + gg.esc(s("field.building")) + "<select name='building_id' required>" +
        buildings.map(function (f) { var p = f.properties; return "<option value='" + p.building_id + "' data-code='" + gg.esc(p.code) + "'>" + gg.esc(p.name) + "</option>"; }).join("") +
        "</select></label><label>" + gg.esc(s("field.household")) + "<select name='household_code'></select></label>" +
        "<label>" + gg.esc(s("field.purpose")) + "<select name='purpose'>" +
        field.purposes.map(function (p) { return "<option>" + gg.esc(p) + "</option>"; }).join("") + "</select></label>" +
        "<label>" + gg.esc(s("field.notes")) + "<textarea name='notes' maxlength='4000' rows='3'></textarea></label>" +
        "<label>" + gg.esc(s("field.people_met")) + "<input name='people_met' maxlength='500'></label>" +
        "<button type='submit' class='gg-button'>" + gg.esc(s("field.save_visit")) + "</button><p class='gg-note' role='status'></p></form>";
      var form = body.querySelector("form"), buildingSelect = form.querySelector("select[name=building_id]");
      var pickBuilding = function () { var o = buildingSelect.selectedOptions[0]; return loadHouseholds(form, o ? o.dataset.code : null); };
      buildingSelect.addEventListener("change", pickBuilding);
      pickBuilding();
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var data = new FormData(form), here = state.last, note = form.querySelector("[role=status]");
        var key = gg.outbox.newKey("visit");
        var visit = { building_id: Number(data.get("building_id")), purpose: data.get("purpose"), notes: data.get("notes"),
          people_met: data.get("people_met"), client_id: key };
        if (data.get("household_code")) visit.household_code = data.get("household_code");
        if (here) { visit.lon = here.lon; visit.lat = here.lat; visit.accuracy_m = here.accuracy; }
        var sent = send("POST", API + "/visits", visit, { key: key, label: s("field.visit") });
        form.querySelector("textarea[name=notes]").value = "";
        form.querySelector("input[name=people_met]").value = "";
        note.textContent = navigator.onLine === false ? s("field.queued") : "";
        sent.then(function () { note.textContent = s("field.saved"); loadCoverage(); })
          .catch(function (e) { note.textContent = s("field.failed") + ": " + e.message; });
      });
    }

    var COLORS = { visited: "#2e7d32", earlier: "#f9a825", never: "#c62828" };
    function loadCoverage() {
      return request("GET", API + "/coverage?period=month").then(function (fc) {
        groups.coverage.clearLayers();
        fc.features.forEach(function (f) {
          var p = f.properties, c = f.geometry.coordinates;
          L.circleMarker([c[1], c[0]], { radius: 6, color: COLORS[p.status], fillOpacity: 0.8, className: "gg-field-cover gg-field-cover-" + p.status })
            .bindTooltip(gg.esc(p.name) + " · " + gg.esc(s("field." + p.status))).addTo(groups.coverage);
        });
        if (field.oversees) {
          gg.section("coverage").innerHTML = "<ul class='gg-list gg-field-counts'>" + ["visited", "earlier", "never"].map(function (k) {
            return "<li><span style='color:" + COLORS[k] + "'>●</span> " + gg.esc(s("field." + k)) + " <b data-count='" + k + "'>" + fc.counts[k] + "</b></li>";
          }).join("") + "</ul>";
        }
        if (field.records && !document.querySelector(".gg-field-visit")) visitPanel(fc.features);
      });
    }

    function loadTracks() {
      return request("GET", API + "/patrols?tracks=true").then(function (page) {
        // Recent findings with their photos (the worker's own, or his area's for a chief).
        var recent = [];
        page.items.forEach(function (p) { p.finding_list.forEach(function (f) { recent.push(f); }); });
        recent.sort(function (x, y) { return String(y.at).localeCompare(String(x.at)); });
        gg.section("findings").innerHTML = gg.findingListHtml(recent.slice(0, 20));
        if (!field.oversees) return;
        groups.tracks.clearLayers();
        page.items.forEach(function (p) {
          if (p.track.coordinates.length < 2) return;
          L.polyline(p.track.coordinates.map(function (c) { return [c[1], c[0]]; }),
            { color: "#6a1b9a", weight: 3, opacity: 0.8, className: "gg-field-track", attribution: "" })
            .bindTooltip(gg.esc(p.worker) + " · " + Math.round(p.distance_m) + " m").addTo(groups.tracks);
          p.finding_list.forEach(function (f) {
            L.circleMarker([f.lat, f.lon], { radius: 5, color: "#c62828" }).bindTooltip(gg.esc(f.description))
              .bindPopup(gg.esc(f.description) + gg.stepPhotosHtml({ photos: f.photos || [] })).addTo(groups.tracks);
          });
        });
      });
    }

    function loadKpis() {
      return request("GET", API + "/kpis").then(function (k) {
        var cols = [["worker", "field.worker"], ["patrol_hours", "field.hours"], ["distance_m", "field.distance"], ["visits", "field.visits"], ["findings", "field.findings"], ["findings_to_cases", "field.cases"]];
        gg.section("kpis").innerHTML = "<div class='gg-table-wrap'><table class='gg-table gg-field-kpis'><thead><tr>" +
          cols.map(function (c) { return "<th>" + gg.esc(s(c[1])) + "</th>"; }).join("") + "</tr></thead><tbody>" +
          k.workers.map(function (w) { return "<tr data-worker='" + gg.esc(w.worker) + "'>" + cols.map(function (c) { return "<td>" + gg.esc(w[c[0]]) + "</td>"; }).join("") + "</tr>"; }).join("") +
          "</tbody></table></div>";
      });
    }

    if (field.records) {
      patrolPanel();
      // An open patrol survives a reload: resume it.
      // A patrol started offline whose start (and no end) is still queued resumes from the outbox.
      var queued = gg.outbox.pending(), started = queued.filter(function (e) { return e.method === "POST" && e.url === API + "/patrols"; }).filter(function (e) {
        return !queued.some(function (x) { return x.key === "end-" + e.key; });
      })[0];
      if (started) { state.patrol = { id: null, key: started.key, points: 0, distance_m: 0 }; render(); watch(); }
      else request("GET", API + "/patrols?tracks=true").then(function (page) {
        var open = page.items.filter(function (p) { return !p.ended_at && p.worker === cfg.viewer.username; })[0];
        if (open && !state.patrol) { open.key = "p" + open.id; state.patrol = open; open.finding_list.forEach(addFinding); render(); watch(); }
      }).catch(function () {});
    }
    loadCoverage().catch(function () {});
    loadTracks().catch(function () { gg.section("findings").innerHTML = ""; });
    if (field.oversees) loadKpis().catch(function () {});
  };
})();
