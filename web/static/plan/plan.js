// The planner's page: every edit goes to the draft API; the server validates and answers with
// the draft's grids and findings, which are redrawn here. Nothing is computed client-side that
// the server does not check again.
(function () {
  "use strict";
  const cfg = window.gridgovPlan;
  const map = window[cfg.map];
  const S = cfg.strings;
  const $ = (id) => document.getElementById(id);
  let draft = null;
  let gridLayer = null;
  let findingLayer = L.layerGroup().addTo(map);
  const selected = new Set();

  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });

  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  async function call(method, path, body) {
    $("plan-error").textContent = "";
    const response = await fetch(cfg.api + path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("plan-error").textContent = data.detail || response.statusText;
      if (data.findings) showFindings(data.findings);
      throw new Error(data.detail || response.statusText);
    }
    return data;
  }

  function style(feature) {
    const status = feature.properties.status;
    const chosen = selected.has(feature.properties.code);
    return {
      color: chosen ? "#d81b60" : status === "unchanged" ? "#1565c0" : "#2e7d32",
      weight: chosen ? 3 : 2,
      fillOpacity: status === "new" ? 0.35 : 0.15,
    };
  }

  function showDraft(data) {
    draft = data;
    $("plan-status").textContent =
      `#${data.id} ${data.scope_code} ${data.title || ""} — ${data.status}, ` +
      `${data.head}/${data.operations.length}`;
    $("plan-undo").disabled = !data.can_undo;
    $("plan-redo").disabled = !data.can_redo;
    $("plan-commit").disabled = data.status !== "draft";
    $("plan-discard").disabled = data.status !== "draft";
    if (gridLayer) map.removeLayer(gridLayer);
    selected.clear();
    gridLayer = L.geoJSON(data.grids, {
      style,
      onEachFeature: (feature, layer) => {
        layer.bindTooltip(`${esc(feature.properties.name)}<br>${esc(feature.properties.code)}`);
        layer.on("click", () => {
          const code = feature.properties.code;
          selected.has(code) ? selected.delete(code) : selected.add(code);
          gridLayer.setStyle(style);
          $("plan-merge").disabled = selected.size < 2;
        });
        // Vertex drags become a "move shared vertex" operation: both neighbours move.
        layer.on("pm:markerdragstart", (e) => { layer._gridgovFrom = e.markerEvent?.target?.getLatLng?.() || e.marker?.getLatLng(); });
        layer.on("pm:markerdragend", (e) => {
          const from = layer._gridgovFrom;
          const to = e.markerEvent?.target?.getLatLng?.() || e.marker?.getLatLng();
          if (!from || !to) return;
          operate({ kind: "move_vertices", moves: [{ from: [from.lng, from.lat], to: [to.lng, to.lat] }] });
        });
      },
    }).addTo(map);
    if (data.grids.features.length) map.fitBounds(gridLayer.getBounds());
    showFindings(data.findings);
    refreshImpact();
    history.replaceState(null, "", `/plan?draft=${data.id}`);
  }

  function showFindings(findings) {
    const list = $("plan-findings");
    list.innerHTML = "";
    findingLayer.clearLayers();
    for (const f of findings.filter((x) => x.severity !== "info" || findings.length < 40)) {
      const item = document.createElement("li");
      item.className = f.severity;
      item.textContent = f.message;
      const [lng, lat] = f.location.coordinates;
      item.addEventListener("click", () => map.setView([lat, lng], 19));
      list.appendChild(item);
      if (f.severity !== "info") {
        L.circleMarker([lat, lng], { radius: 7, color: f.severity === "error" ? "#b71c1c" : "#e65100" })
          .bindTooltip(esc(f.message)).addTo(findingLayer);
      }
    }
  }

  async function refreshImpact() {
    if (!draft || draft.status !== "draft") return;
    const impact = await call("GET", `/plan/drafts/${draft.id}/impact`);
    const keys = ["households", "residents", "party_members", "party_orgs", "open_incidents"];
    const rows = (label, list) => list.map((g) =>
      `<tr><td>${label} ${esc(g.code)}</td>${keys.map((k) => `<td>${g[k]}</td>`).join("")}</tr>`).join("");
    $("plan-impact").innerHTML =
      `<table><tr><th></th>${keys.map((k) => `<th>${esc(S[k])}</th>`).join("")}</tr>` +
      rows(S.before, impact.before) + rows(S.after, impact.after) + "</table>" +
      `<h2>${esc(S.moves)}</h2><ul>` +
      impact.moves.map((m) => `<li>${esc(m.type)} ${esc(m.code)}: ${esc(m.old_code)} → ${esc(m.new_code)}</li>`).join("") +
      "</ul>" + impact.warnings.map((w) => `<p class="plan-error">${esc(w)}</p>`).join("");
    const choices = impact.required_choices;
    let html = "";
    for (const [grid, info] of Object.entries(choices.party_branches)) {
      html += `<label>${esc(S.branch_to)} ${esc(info.branch)}: <select data-branch="${esc(grid)}"><option value="">—</option>` +
        info.choose_one_of.map((c) => `<option>${esc(c)}</option>`).join("") + "</select></label><br>";
    }
    for (const grid of Object.keys(choices.chiefs)) {
      html += `<label>${esc(S.chief_of)} ${esc(grid)}: <input data-chief="${esc(grid)}" size="8"></label><br>`;
    }
    $("plan-choices").innerHTML = html;
  }

  async function operate(body) {
    if (!draft) return;
    try {
      showDraft(await call("POST", `/plan/drafts/${draft.id}/operations`, body));
    } catch (err) {
      // Rejected: the server wrote nothing; redraw the last good state.
      showDraft(await call("GET", `/plan/drafts/${draft.id}`));
      $("plan-error").textContent = err.message;
    }
  }

  map.on("pm:create", (e) => {
    const line = e.layer.toGeoJSON().geometry;
    map.removeLayer(e.layer);
    if (e.shape !== "Line" || !draft) return;
    const crossed = draft.grids.features.filter((f) => selected.has(f.properties.code));
    const code = crossed.length === 1 ? crossed[0].properties.code : null;
    if (!code) { $("plan-error").textContent = "select one grid, then draw the split line"; return; }
    operate({ kind: "split", code, line });
  });

  $("plan-open").addEventListener("click", async () =>
    showDraft(await call("POST", "/plan/drafts", { scope_code: $("plan-scope").value.trim() })));
  $("plan-resume").addEventListener("click", async () =>
    showDraft(await call("GET", `/plan/drafts/${Number($("plan-draft-id").value)}`)));
  $("plan-undo").addEventListener("click", async () => showDraft(await call("POST", `/plan/drafts/${draft.id}/undo`)));
  $("plan-redo").addEventListener("click", async () => showDraft(await call("POST", `/plan/drafts/${draft.id}/redo`)));
  $("plan-merge").addEventListener("click", () => operate({ kind: "merge", codes: [...selected] }));
  $("plan-discard").addEventListener("click", async () => {
    if (!window.confirm(S.confirm_discard)) return;
    await call("DELETE", `/plan/drafts/${draft.id}`);
    showDraft(await call("GET", `/plan/drafts/${draft.id}`));
  });
  $("plan-commit").addEventListener("click", async () => {
    const choices = { party_branches: {}, chiefs: {} };
    document.querySelectorAll("[data-branch]").forEach((el) => { if (el.value) choices.party_branches[el.dataset.branch] = el.value; });
    document.querySelectorAll("[data-chief]").forEach((el) => {
      choices.chiefs[el.dataset.chief] = el.value.trim() ? Number(el.value) : null;
    });
    const result = await call("POST", `/plan/drafts/${draft.id}/commit`, { reason: $("plan-reason").value, choices });
    $("plan-status").textContent = `#${result.changeset_id} committed ${result.committed_at}`;
    showDraft(await call("GET", `/plan/drafts/${draft.id}`));
  });

  if (cfg.draft) call("GET", `/plan/drafts/${cfg.draft}`).then(showDraft).catch(() => {});
  else if (cfg.scope) $("plan-scope").value = cfg.scope;
})();
