// The planner's editor. Every edit goes to the draft API; the server validates and answers with
// the draft's grids, counts and findings, which are redrawn here. Each gesture is one mode: in
// split mode the map only draws (a click never selects a grid), in merge mode clicks select, in
// reshape mode vertices drag, in transfer mode buildings are picked and then the receiving grid,
// in create mode buildings are picked and a new grid is drawn around them.
// Texts come from the page's catalogue (cfg.strings, web/i18n.py); Geoman speaks its own locale.
(function () {
  "use strict";
  const cfg = window.gridgovPlan;
  const map = window[cfg.map];
  const S = cfg.strings;
  const [NORM_MIN, NORM_MAX] = cfg.norm;
  const $ = (id) => document.getElementById(id);
  let draft = null;
  let overview = null;
  let mode = "select";
  let staff = [];
  let impact = null;
  let areaLayer = null;
  let gridLayer = null;
  let buildingLayer = null;
  const findingLayer = L.layerGroup().addTo(map);
  const caseLayer = L.layerGroup().addTo(map); // open cases whose grid the draft changes
  const selected = new Set(); // grids picked for a merge
  const picked = new Set(); // buildings picked for a transfer
  let busy = 0; // requests under way (the page's tests wait for 0)
  window.gridgovPlanState = () => ({ draft, mode, busy, selected: [...selected], picked: [...picked] });

  map.pm.setLang(cfg.geoman_lang);
  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
  // The panel is a column beside the map: tell Leaflet the map's real size.
  setTimeout(() => map.invalidateSize(), 0);

  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, key) => {
      const v = values ? values[key] : undefined;
      return Array.isArray(v) ? v.join("、") : v ?? "";
    });
  }
  function findingText(f) {
    const template = S[`finding.${f.code}`];
    if (!template) return f.message;
    return fmt(template, {
      grids: f.grids, subject: f.subject,
      area: f.area_m2 == null ? "" : Number(f.area_m2).toFixed(1),
      value: f.value == null ? "" : f.value,
    });
  }
  // A problem+json body in the page's language: its key and values, else the server's detail.
  function problemText(p) {
    if (p.key === "findings" && p.findings) {
      const first = p.findings.find((f) => f.severity === "error") || p.findings[0];
      return fmt(S["err.findings"], { first: first ? findingText(first) : p.detail });
    }
    if (p.key === "choices" && p.values && p.values.problems) {
      return S["err.choices"] + "\n" + p.values.problems.map((x) =>
        "• " + (S[`err.${x.key}`] ? fmt(S[`err.${x.key}`], x) : p.detail)).join("\n");
    }
    if (p.key && S[`err.${p.key}`]) return fmt(S[`err.${p.key}`], p.values || {});
    if (p.status === 409) return S["err.conflict"] + "\n" + (p.detail || "");
    if (p.parameter === "reason") return S["err.reason"];
    return p.detail || S.failed;
  }
  function say(message) { $("plan-error").textContent = message || ""; }

  async function call(method, path, body) {
    const response = await fetch(cfg.api + path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(problemText({ status: response.status, ...data }));
      error.problem = data;
      throw error;
    }
    return data;
  }
  async function act(fn) {
    say(S.working);
    busy += 1;
    try { await fn(); say(""); } catch (err) {
      say(err.message);
      if (err.problem && err.problem.findings) showFindings(err.problem.findings, true);
    } finally { busy -= 1; }
  }

  // --- the scope: streets and communities, and the community picker ---
  async function loadOverview() {
    overview = await call("GET", "/plan/workbench");
    if (areaLayer) map.removeLayer(areaLayer);
    areaLayer = L.geoJSON(overview.areas, {
      pmIgnore: true,
      style: (f) => f.properties.level === "street"
        ? { color: "#37474f", weight: 3, fill: false, interactive: false }
        : { color: "#78909c", weight: 1.5, dashArray: "4 3", fillColor: "#eceff1", fillOpacity: 0.35 },
      onEachFeature: (f, layer) => {
        if (f.properties.level !== "community") return;
        layer.bindTooltip(`${esc(f.properties.name)}<br>${esc(f.properties.code)}` +
          (f.properties.draft ? ` ${esc(S.resume_mark)}` : ""), { sticky: true });
        layer.on("click", () => { if (!draft || draft.status !== "draft") openCommunity(f.properties.code); });
      },
    }).addTo(map);
    areaLayer.bringToBack();
    const select = $("plan-community");
    const keep = select.value;
    select.querySelectorAll("optgroup").forEach((g) => g.remove());
    const groups = {};
    for (const f of overview.areas.features) {
      const p = f.properties;
      if (p.level !== "community") continue;
      if (!groups[p.parent]) {
        groups[p.parent] = document.createElement("optgroup");
        groups[p.parent].label = p.parent_name || p.parent;
        select.appendChild(groups[p.parent]);
      }
      const option = document.createElement("option");
      option.value = p.code;
      option.textContent = `${p.name}（${p.grids}）` + (p.draft ? S.resume_mark : "");
      groups[p.parent].appendChild(option);
    }
    select.value = keep;
    if (!draft && overview.areas.features.length) map.fitBounds(areaLayer.getBounds());
  }

  async function openCommunity(code) {
    await act(async () => {
      const feature = overview.areas.features.find((f) => f.properties.code === code);
      const open = feature && feature.properties.draft;
      const data = open
        ? await call("GET", `/plan/drafts/${open}`)
        : await call("POST", "/plan/drafts", { scope_code: code, title: feature ? feature.properties.name : "" });
      await showDraft(data, true);
      loadOverview();
    });
  }

  async function loadBuildings() {
    if (buildingLayer) map.removeLayer(buildingLayer);
    const features = [];
    for (const code of draft.communities) {
      const fc = await call("GET", `/plan/communities/${code}/buildings`);
      features.push(...fc.features);
    }
    buildingLayer = L.geoJSON({ type: "FeatureCollection", features }, {
      pmIgnore: true,
      style: (f) => ({
        color: picked.has(f.properties.code) ? "#d81b60" : "#5d4037",
        weight: picked.has(f.properties.code) ? 3 : 1,
        fillColor: "#8d6e63", fillOpacity: 0.55,
      }),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        layer.bindTooltip(`${esc(p.name)}<br>${esc(S.households)} ${p.households} · ` +
          `${esc(S.residents)} ${p.residents} · ${esc(S.party_members)} ${p.party_members}`);
        layer.on("click", () => {
          if (mode !== "transfer" && mode !== "create") return;
          picked.has(p.code) ? picked.delete(p.code) : picked.add(p.code);
          buildingLayer.setStyle(buildingLayer.options.style);
          showSelection();
        });
      },
    }).addTo(map);
    if (gridLayer) gridLayer.bringToBack();
    if (areaLayer) areaLayer.bringToBack();
  }

  // --- the draft: grids coloured against the norm, blank spots marked ---
  function normColour(households) {
    if (households < NORM_MIN) return "#64b5f6";
    if (households > NORM_MAX) return "#ff7043";
    return "#66bb6a";
  }
  function gridStyle(feature) {
    const code = feature.properties.code;
    const counts = (draft.counts || {})[code] || {};
    const chosen = selected.has(code);
    const blank = !counts.branch;
    return {
      color: chosen ? "#d81b60" : blank ? "#c62828" : feature.properties.status === "unchanged" ? "#1565c0" : "#2e7d32",
      weight: chosen ? 4 : feature.properties.status === "unchanged" ? 2 : 3,
      dashArray: blank ? "6 4" : null,
      fillColor: normColour(counts.households || 0),
      fillOpacity: chosen ? 0.45 : 0.25,
    };
  }
  function statusLabel(status) { return S[status] || status; }

  async function showDraft(data, fit) {
    draft = data;
    selected.clear();
    picked.clear();
    const status = S[`status.${data.status}`] || data.status;
    $("plan-status").textContent =
      `${S.draft} #${data.id} · ${data.title || data.scope_code} · ${status} · ${data.head}/${data.operations.length} ${S.steps}`;
    $("plan-community").value = data.communities.length === 1 ? data.communities[0] : "";
    const editable = data.status === "draft";
    $("plan-undo").disabled = !editable || !data.can_undo;
    $("plan-redo").disabled = !editable || !data.can_redo;
    $("plan-commit").disabled = !editable;
    $("plan-discard").disabled = !editable;
    document.querySelectorAll(".plan-mode").forEach((b) => { b.disabled = !editable; });
    if (gridLayer) map.removeLayer(gridLayer);
    gridLayer = L.geoJSON(data.grids, {
      style: gridStyle,
      onEachFeature: (feature, layer) => {
        const p = feature.properties;
        const c = (data.counts || {})[p.code] || {};
        layer.bindTooltip(
          `${esc(p.name)} ${esc(p.code)} (${esc(statusLabel(p.status))})<br>` +
          `${esc(S.households)} ${c.households ?? "–"} · ${esc(S.residents)} ${c.residents ?? "–"} · ` +
          `${esc(S.party_members)} ${c.party_members ?? "–"}<br>` +
          (c.branch ? `${esc(S.branch)} ${esc(c.branch)}` : `<b>${esc(S.blank_spot)}</b>`), { sticky: true });
        layer.on("click", () => onGridClick(p.code));
        // A vertex drag becomes "move shared vertex": every grid with that vertex moves it.
        layer.on("pm:markerdragstart", (e) => { layer._gridgovFrom = markerLatLng(e); });
        layer.on("pm:markerdragend", (e) => {
          const from = layer._gridgovFrom;
          const to = markerLatLng(e);
          if (!from || !to || (from.lat === to.lat && from.lng === to.lng)) return;
          operate({ kind: "move_vertices", moves: [{ from: [from.lng, from.lat], to: [to.lng, to.lat] }] });
        });
      },
    }).addTo(map);
    if (areaLayer) areaLayer.bringToBack();
    if (fit && data.grids.features.length) map.fitBounds(gridLayer.getBounds());
    if (fit || !buildingLayer) await loadBuildings();
    else buildingLayer.bringToFront();
    showGrids();
    showFindings(data.findings, false);
    showSelection();
    setMode(editable ? mode : "select");
    history.replaceState(null, "", `/plan?draft=${data.id}`);
    $("plan-history-link").href = `/plan/history?scope=${encodeURIComponent(data.scope_code)}`;
    impact = null;
    $("plan-impact").innerHTML = "";
    $("plan-choices").innerHTML = "";
    $("plan-cases").innerHTML = "";
    caseLayer.clearLayers();
    if (editable) {
      if (!staff.length || fit) staff = await call("GET", `/plan/drafts/${data.id}/staff`);
      await refreshImpact();
    }
  }
  function markerLatLng(e) {
    const m = (e.markerEvent && e.markerEvent.target) || e.marker;
    return m && m.getLatLng ? L.latLng(m.getLatLng().lat, m.getLatLng().lng) : null;
  }

  function showGrids() {
    const rows = draft.grids.features.map((f) => {
      const p = f.properties;
      const c = draft.counts[p.code] || {};
      const off = c.households < NORM_MIN || c.households > NORM_MAX;
      return `<tr data-grid="${esc(p.code)}" class="${off ? "plan-off-norm" : ""}">` +
        `<td>${esc(p.name)}<br><small>${esc(p.code)} · ${esc(statusLabel(p.status))}</small></td>` +
        `<td>${c.households ?? 0}</td><td>${c.residents ?? 0}</td><td>${c.party_members ?? 0}</td>` +
        `<td>${c.branch ? esc(c.branch) : `<span class="plan-blank">${esc(S.blank_spot)}</span>`}</td></tr>`;
    }).join("");
    $("plan-grids").innerHTML =
      `<table><tr><th>${esc(S.grid)}</th><th>${esc(S.households)}</th><th>${esc(S.residents)}</th>` +
      `<th>${esc(S.party_members)}</th><th>${esc(S.branch)}</th></tr>${rows}</table>`;
    $("plan-grids").querySelectorAll("tr[data-grid]").forEach((row) => row.addEventListener("click", () => {
      gridLayer.eachLayer((l) => { if (l.feature.properties.code === row.dataset.grid) map.fitBounds(l.getBounds()); });
    }));
  }

  function showFindings(findings, point) {
    const list = $("plan-findings");
    list.innerHTML = "";
    findingLayer.clearLayers();
    const shown = findings.filter((f) => f.severity !== "info");
    if (!shown.some((f) => f.severity === "error")) {
      const ok = document.createElement("li");
      ok.className = "ok";
      ok.textContent = S.findings_ok;
      list.appendChild(ok);
    }
    for (const f of shown) {
      const item = document.createElement("li");
      item.className = f.severity;
      item.textContent = findingText(f);
      const [lng, lat] = f.location.coordinates;
      item.title = S.show_on_map;
      item.addEventListener("click", () => map.setView([lat, lng], 18));
      list.appendChild(item);
      L.circleMarker([lat, lng], {
        radius: 9, weight: 3, color: f.severity === "error" ? "#b71c1c" : "#e65100", fillOpacity: 0.2,
        className: `plan-finding plan-finding-${f.severity}`,
      }).bindTooltip(esc(findingText(f))).addTo(findingLayer);
    }
    // A rejected edit points at the spot: zoom to its first error.
    const first = findings.find((f) => f.severity === "error");
    if (point && first) {
      const [lng, lat] = first.location.coordinates;
      map.setView([lat, lng], Math.max(map.getZoom(), 17));
    }
  }

  // --- modes ---
  function setMode(next) {
    mode = next;
    map.pm.disableDraw();
    if (gridLayer) gridLayer.eachLayer((l) => l.pm && l.pm.disable());
    document.querySelectorAll(".plan-mode").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === mode)));
    $("plan-hint").textContent = S[`hint.${mode}`] || "";
    if (mode !== "merge") selected.clear();
    if (mode !== "transfer" && mode !== "create") picked.clear();
    if (gridLayer) gridLayer.setStyle(gridStyle);
    if (buildingLayer) buildingLayer.setStyle(buildingLayer.options.style);
    if (!draft || draft.status !== "draft") return;
    if (mode === "split") map.pm.enableDraw("Line", { snappable: true, snapDistance: 15 });
    if (mode === "reshape") {
      gridLayer.eachLayer((l) => l.pm.enable({ snappable: true, hideMiddleMarkers: true,
        allowSelfIntersection: false, draggable: false, removeVertexOn: "" }));
    }
    showSelection();
  }
  function showSelection() {
    $("plan-merge").hidden = mode !== "merge";
    $("plan-merge").disabled = selected.size < 2;
    $("plan-create-box").hidden = mode !== "create";
    $("plan-create").disabled = picked.size < 1;
    $("plan-selection").textContent = mode === "merge" && selected.size
      ? `${S.selected}: ${[...selected].join("、")}`
      : (mode === "transfer" || mode === "create") && picked.size ? `${S.selected}: ${[...picked].join("、")}` : "";
  }
  function onGridClick(code) {
    // Drawing a split line or dragging vertices: clicks belong to the drawing, never select.
    if (mode === "split" || mode === "reshape") return;
    if (mode === "merge") {
      selected.has(code) ? selected.delete(code) : selected.add(code);
      gridLayer.setStyle(gridStyle);
      showSelection();
    } else if (mode === "transfer" && picked.size) {
      operate({ kind: "transfer", building_codes: [...picked], to: code });
    }
  }
  document.querySelectorAll(".plan-mode").forEach((b) => b.addEventListener("click", () => setMode(b.dataset.mode)));
  // Geoman's own line button (its toolbar speaks Chinese) is the split mode too.
  map.on("pm:drawstart", (e) => { if (e.shape === "Line" && mode !== "split") { mode = "split"; setMode("split"); } });

  async function operate(body) {
    if (!draft) return;
    say(S.working);
    busy += 1;
    try {
      await showDraft(await call("POST", `/plan/drafts/${draft.id}/operations`, body), false);
      say("");
    } catch (err) {
      // Rejected: nothing was stored; redraw the last good state and point at the problem.
      const problem = err.problem;
      try { await showDraft(await call("GET", `/plan/drafts/${draft.id}`), false); } catch (_) { /* shown below */ }
      say(err.message);
      if (problem && problem.findings) showFindings(problem.findings, true);
    } finally { busy -= 1; }
  }

  map.on("pm:create", (e) => {
    const geometry = e.layer.toGeoJSON().geometry;
    map.removeLayer(e.layer);
    if (e.shape !== "Line" || !draft) return;
    // The server finds the one grid the line divides; no selection is involved.
    operate({ kind: "split", line: geometry });
  });

  // --- impact and the choices to make before committing ---
  async function refreshImpact() {
    impact = await call("GET", `/plan/drafts/${draft.id}/impact`);
    const keys = ["households", "residents", "party_members", "party_orgs", "open_incidents", "buildings"];
    const rows = (label, list) => list.map((g) =>
      `<tr><td>${esc(label)} ${esc(g.code)}</td>${keys.map((k) => `<td>${g[k]}</td>`).join("")}</tr>`).join("");
    const moved = {};
    for (const m of impact.moves) moved[m.type] = (moved[m.type] || 0) + 1;
    $("plan-impact").innerHTML = (impact.before.length || impact.after.length)
      ? `<table><tr><th></th>${keys.map((k) => `<th>${esc(S[k])}</th>`).join("")}</tr>` +
        rows(S.before, impact.before) + rows(S.after, impact.after) + "</table>" +
        `<p><b>${esc(S.moves)}</b>: ` + Object.entries(moved).map(([t, n]) => `${esc(S[`move.${t}`] || t)} ${n}`).join("，") + "</p>" +
        impact.notices.map((n) => `<p class="plan-warning">${esc(fmt(S[`notice.${n.key}`] || "", n))}</p>`).join("")
      : "";
    showCases();
    showChoices();
  }

  // Open cases whose grid the draft changes: marked on the map and counted before the commit, so
  // the planner sees whose caseload moves (the commit re-points them to the grid at their place).
  function showCases() {
    caseLayer.clearLayers();
    const cases = impact ? impact.moves.filter((m) => m.type === "incident") : [];
    for (const c of cases) {
      L.circleMarker([c.lat, c.lon], {
        radius: 8, weight: 3, color: "#6a1b9a", fillColor: "#ab47bc", fillOpacity: 0.7,
        className: "plan-case plan-case-moved", pmIgnore: true, interactive: true,
      }).bindTooltip(esc(fmt(S.case_moves, { code: c.code, from: c.old_code, to: c.new_code || "–" })))
        .addTo(caseLayer);
    }
    const box = $("plan-cases");
    box.innerHTML = cases.length
      ? `<p class="plan-warning">${esc(fmt(S.cases_affected, { n: cases.length }))}</p><ul>` +
        cases.map((c) => `<li data-case="${esc(c.code)}">` +
          `${esc(fmt(S.case_moves, { code: c.code, from: c.old_code, to: c.new_code || "–" }))}` +
          ` · ${esc(c.category)}</li>`).join("") + "</ul>"
      : `<p>${esc(S.cases_none)}</p>`;
    box.querySelectorAll("li[data-case]").forEach((li) => li.addEventListener("click", () => {
      const c = cases.find((x) => x.code === li.dataset.case);
      if (c) map.setView([c.lat, c.lon], Math.max(map.getZoom(), 17));
    }));
  }

  function gridName(code) {
    const f = draft.grids.features.find((x) => x.properties.code === code);
    return f ? `${f.properties.name}（${code}）` : code;
  }
  function personLabel(p) {
    const posts = p.posts.map((x) => `${S[x.role] || x.role} ${x.area_name}`).join("；");
    return `${p.name} · ${p.title || ""}${posts ? " · " + posts : ""}`;
  }
  function personOptions(withVacant) {
    return `<option value="">${esc(S.choose)}</option>` +
      (withVacant ? `<option value="vacant">${esc(S.vacant)}</option>` : "") +
      staff.map((p) => `<option value="${p.id}">${esc(personLabel(p))}</option>`).join("");
  }

  function showChoices() {
    const rc = impact.required_choices;
    if (rc.restores) {
      $("plan-choices").innerHTML = `<p>${esc(fmt(S.revert_restores, { id: rc.restores }))}</p>`;
      return;
    }
    let html = "";
    for (const b of rc.branches) {
      html += `<div class="plan-choice"><label>${esc(S.branch_goes)}：${esc(b.name)}（${esc(b.code)}）<br>` +
        `<select data-branch="${esc(b.code)}"><option value="">${esc(S.choose)}</option>` +
        b.to_one_of.map((g) => `<option value="to:${esc(g)}" ${b.default === g ? "selected" : ""}>${esc(S.branch_to)} ${esc(gridName(g))}</option>`).join("") +
        b.merge_into_one_of.map((o) => `<option value="merge:${esc(o)}">${esc(S.branch_merge)} ${esc(o)}</option>`).join("") +
        "</select></label></div>";
    }
    html += '<div id="plan-blank-choices"></div>';
    for (const grid of Object.keys(rc.chiefs)) {
      html += `<fieldset class="plan-choice" data-staff="${esc(grid)}"><legend>${esc(S.staff_of)} ${esc(gridName(grid))}</legend>` +
        `<label>${esc(S.chief)} <select data-chief="${esc(grid)}">${personOptions(true)}</select></label>` +
        `<label>${esc(S.workers)} <select multiple size="3" data-workers="${esc(grid)}">${personOptions(false).replace(/^<option value="">[^<]*<\/option>/, "")}</select></label>` +
        `<label>${esc(S.instructor)} <select data-instructor="${esc(grid)}">${personOptions(true)}</select></label>` +
        "</fieldset>";
    }
    $("plan-choices").innerHTML = html;
    $("plan-choices").querySelectorAll("select[data-branch]").forEach((s) => s.addEventListener("change", showBlankChoices));
    showBlankChoices();
  }

  // Grids that end without a branch (given the branch choices above): create one or confirm.
  function showBlankChoices() {
    const rc = impact.required_choices;
    const held = new Set();
    $("plan-choices").querySelectorAll("select[data-branch]").forEach((s) => {
      if (s.value.startsWith("to:")) held.add(s.value.slice(3));
    });
    const candidates = new Set(rc.grids_needing_branch);
    for (const b of rc.branches) if (impact.after.some((a) => a.code === b.grid)) candidates.add(b.grid);
    const box = $("plan-blank-choices");
    if (!box) return;
    const before = {};
    box.querySelectorAll("[data-blank-grid]").forEach((el) => { before[el.dataset.blankGrid] = el; });
    box.innerHTML = "";
    for (const grid of [...candidates].sort()) {
      if (held.has(grid)) continue;
      const f = draft.grids.features.find((x) => x.properties.code === grid);
      const name = f ? `${f.properties.name}党支部` : "";
      const div = document.createElement("div");
      div.className = "plan-choice";
      div.dataset.blankGrid = grid;
      div.innerHTML = `<b>${esc(gridName(grid))}</b>：${esc(S.blank_spot)}？<br>` +
        `<label><input type="radio" name="blank-${esc(grid)}" value="create" data-create="${esc(grid)}"> ${esc(S.new_branch)}</label> ` +
        `<input data-branch-name="${esc(grid)}" value="${esc(name)}" size="14"><br>` +
        `<label><input type="radio" name="blank-${esc(grid)}" value="blank" data-blank="${esc(grid)}"> ${esc(S.confirm_blank)}</label>`;
      const old = before[grid];
      if (old) {
        const choice = old.querySelector("input[type=radio]:checked");
        if (choice) div.querySelector(`input[value=${choice.value}]`).checked = true;
        div.querySelector("[data-branch-name]").value = old.querySelector("[data-branch-name]").value;
      }
      box.appendChild(div);
    }
  }

  function collectChoices() {
    const choices = { branches: {}, new_branches: {}, blank_grids: [], chiefs: {}, staff: {} };
    document.querySelectorAll("select[data-branch]").forEach((s) => {
      if (s.value.startsWith("to:")) choices.branches[s.dataset.branch] = { to: s.value.slice(3) };
      else if (s.value.startsWith("merge:")) choices.branches[s.dataset.branch] = { merge_into: s.value.slice(6) };
    });
    document.querySelectorAll("input[data-create]:checked").forEach((r) => {
      const grid = r.dataset.create;
      choices.new_branches[grid] = document.querySelector(`[data-branch-name="${grid}"]`).value;
    });
    document.querySelectorAll("input[data-blank]:checked").forEach((r) => choices.blank_grids.push(r.dataset.blank));
    document.querySelectorAll("select[data-chief]").forEach((s) => {
      if (s.value === "vacant") choices.chiefs[s.dataset.chief] = null;
      else if (s.value) choices.chiefs[s.dataset.chief] = Number(s.value);
    });
    document.querySelectorAll("fieldset[data-staff]").forEach((box) => {
      const grid = box.dataset.staff;
      const workers = [...box.querySelector("[data-workers]").selectedOptions].map((o) => Number(o.value)).filter(Boolean);
      const instructor = box.querySelector("[data-instructor]").value;
      choices.staff[grid] = { workers };
      if (instructor && instructor !== "vacant") choices.staff[grid].instructor = Number(instructor);
    });
    return choices;
  }

  // --- buttons ---
  $("plan-community").addEventListener("change", (e) => { if (e.target.value) openCommunity(e.target.value); });
  $("plan-undo").addEventListener("click", () => act(async () => showDraft(await call("POST", `/plan/drafts/${draft.id}/undo`), false)));
  $("plan-redo").addEventListener("click", () => act(async () => showDraft(await call("POST", `/plan/drafts/${draft.id}/redo`), false)));
  $("plan-merge").addEventListener("click", () => operate({ kind: "merge", codes: [...selected] }));
  // A new grid around the picked buildings: the server clips it to their grids and community.
  $("plan-create").addEventListener("click", () => operate({
    kind: "create", building_codes: [...picked], buffer_m: Number($("plan-buffer").value || 0) }));
  $("plan-discard").addEventListener("click", () => act(async () => {
    if (!window.confirm(S.confirm_discard)) return;
    await call("DELETE", `/plan/drafts/${draft.id}`);
    await showDraft(await call("GET", `/plan/drafts/${draft.id}`), false);
    await loadOverview();
  }));
  $("plan-commit").addEventListener("click", () => act(async () => {
    const reason = $("plan-reason").value.trim();
    if (!reason) throw new Error(S["err.reason"]);
    const result = await call("POST", `/plan/drafts/${draft.id}/commit`, { reason, choices: collectChoices() });
    // The panel shows the committed state: new versions, their counts and branches.
    await showDraft(await call("GET", `/plan/drafts/${draft.id}`), false);
    await loadBuildings();
    await loadOverview();
    $("plan-reason").value = "";
    $("plan-status").textContent += ` · ${S.committed} ${result.changeset_id}`;
  }));

  // --- start: the planner's scope, then the draft or community the address names ---
  (async () => {
    try {
      await loadOverview();
      if (cfg.draft) await showDraft(await call("GET", `/plan/drafts/${cfg.draft}`), true);
      else if (cfg.scope) await openCommunity(cfg.scope);
      else $("plan-hint").textContent = S.no_draft;
    } catch (err) { say(err.message); }
  })();
})();
