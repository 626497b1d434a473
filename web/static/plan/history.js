// Boundary history: the timeline of committed changesets (who, when, why), the grids before and
// after each, the lineage of a grid, an as-of slider, revert (planners) and GeoPackage export.
// Everything comes from the public history API (/api/v1/history/*); revert from the plan API.
(function () {
  "use strict";
  const cfg = window.gridgovPlan;
  const map = window[cfg.map];
  const S = cfg.strings;
  const $ = (id) => document.getElementById(id);
  const planner = ["planner", "admin"].includes(cfg.viewer.role);
  const scope = cfg.scope || "";
  const prefix = scope.length === 12 && scope.endsWith("000") ? scope.slice(0, 9) : scope;
  let changesets = [];
  const before = L.layerGroup().addTo(map);
  const after = L.layerGroup().addTo(map);
  let shownAt = null; // the instant the map shows (as-of slider), null for a changeset's view
  let busy = 0; // requests under way (the page's tests wait for 0)
  // What the map shows, for the page's tests: the codes (and versions) of each layer.
  const drawn = (group) => {
    const out = [];
    group.eachLayer((g) => g.eachLayer && g.eachLayer((l) => out.push(`${l.feature.properties.code}@${l.feature.properties.version}`)));
    return out.sort();
  };
  window.gridgovHistoryState = () => ({ before: drawn(before), after: drawn(after), asOf: shownAt, busy });
  setTimeout(() => map.invalidateSize(), 0);

  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  async function get(path) {
    busy += 1;
    try {
      const response = await fetch(cfg.api + path, { credentials: "same-origin" });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.detail || response.statusText);
      return data;
    } finally { busy -= 1; }
  }
  function when(iso) { return new Date(iso).toLocaleString(cfg.lang); }
  function just(iso, ms) { return new Date(new Date(iso).getTime() + ms).toISOString(); }

  async function grids(asOf) {
    const q = new URLSearchParams({ as_of: asOf, level: "grid" });
    if (prefix) q.set("within", prefix);
    return get(`/history/areas?${q}`);
  }
  function draw(group, fc, style, codes) {
    group.clearLayers();
    const layer = L.geoJSON(fc, {
      style: (f) => (codes && codes.has(f.properties.code) ? style.hit : style.rest),
      onEachFeature: (f, l) => {
        l.bindTooltip(`${esc(f.properties.name)} ${esc(f.properties.code)} v${f.properties.version}`);
        l.on("click", () => showLineage(f.properties.code));
      },
    });
    group.addLayer(layer);
    return layer;
  }

  async function showChangeset(cs, item) {
    document.querySelectorAll("#plan-timeline li").forEach((li) => li.classList.toggle("active", li === item));
    shownAt = null;
    const touched = new Set(cs.areas.map((a) => a.code));
    const [old, now] = await Promise.all([grids(just(cs.committed_at, -1)), grids(cs.committed_at)]);
    draw(before, old, {
      hit: { color: "#757575", weight: 3, dashArray: "6 4", fill: false },
      rest: { color: "#bdbdbd", weight: 1, fill: false },
    }, touched);
    const layer = draw(after, now, {
      hit: { color: "#2e7d32", weight: 3, fillColor: "#66bb6a", fillOpacity: 0.3 },
      rest: { color: "#90a4ae", weight: 1, fillOpacity: 0.05 },
    }, touched);
    const hits = [];
    layer.eachLayer((l) => { if (touched.has(l.feature.properties.code)) hits.push(l); });
    if (hits.length) map.fitBounds(L.featureGroup(hits).getBounds().pad(0.3));
    const lineage = cs.lineage.map((e) =>
      `${esc(e.predecessor)} —${esc(S[`kind.${e.kind}`] || e.kind)}→ ${esc(e.successor)}` +
      ` (${esc(S.households)} ${e.households_moved})`).join("<br>");
    $("plan-lineage").innerHTML = lineage;
  }

  async function showLineage(code) {
    const data = await get(`/history/lineage/${code}`);
    $("plan-lineage").innerHTML = `<b>${esc(code)}</b><br>` + data.lineage.map((e) =>
      `${esc(e.predecessor)} v${e.predecessor_version ?? ""} —${esc(S[`kind.${e.kind}`] || e.kind)}→ ` +
      `${esc(e.successor)} v${e.successor_version ?? ""}`).join("<br>");
  }

  async function revert(cs) {
    const response = await fetch(`${cfg.api}/plan/changesets/${cs.id}/revert`, {
      method: "POST", credentials: "same-origin" });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { $("plan-error").textContent = data.detail || response.statusText; return; }
    window.location.href = `/plan?draft=${data.id}`;
  }

  // The export link follows the slider: the grids of the moment shown (the latest state when the
  // slider is at its end, which is "now" at the time of the click, so no as_of is sent then).
  function exportLink(t) {
    const q = new URLSearchParams({ level: "grid" });
    if (t) q.set("as_of", t);
    if (prefix) q.set("within", prefix);
    $("plan-asof-export").href = `${cfg.api}/history/areas.gpkg?${q}`;
  }

  async function asOf(index) {
    const latest = index >= changesets.length;
    const t = latest ? new Date().toISOString() : just(changesets[index].committed_at, -1);
    $("plan-asof-label").textContent = latest ? `${S.as_of_now}（${when(t)}）` : when(t);
    exportLink(latest ? null : t);
    const fc = await grids(t);
    before.clearLayers();
    draw(after, fc, { hit: {}, rest: { color: "#1565c0", weight: 2, fillOpacity: 0.1 } }, null);
    shownAt = latest ? "now" : t;
  }

  (async () => {
    try {
      const diff = await get(`/history/diff?from=2000-01-01T00:00:00Z&to=${encodeURIComponent(new Date(Date.now() + 60000).toISOString())}`);
      changesets = diff.changesets.filter((c) => !prefix || c.scope_code.startsWith(prefix));
      const list = $("plan-timeline");
      for (const cs of [...changesets].reverse()) {
        const li = document.createElement("li");
        li.dataset.changeset = cs.id;
        li.innerHTML = `<b>#${cs.id}</b> ${esc(when(cs.committed_at))}<br>${esc(S.who)}：${esc(cs.committed_by)} · ` +
          `${esc(S.why)}：${esc(cs.reason)}` + (cs.reverts_changeset_id ? ` · ${esc(S.revert)} #${cs.reverts_changeset_id}` : "") +
          `<br><a href="${cfg.api}/plan/changesets/${cs.id}/export.gpkg" class="plan-export">${esc(S.export_gpkg)}</a>`;
        if (planner) {
          const button = document.createElement("button");
          button.className = "plan-revert";
          button.textContent = S.revert;
          button.addEventListener("click", (e) => { e.stopPropagation(); revert(cs); });
          li.appendChild(document.createElement("br"));
          li.appendChild(button);
        }
        li.addEventListener("click", () => showChangeset(cs, li));
        list.appendChild(li);
      }
      const slider = $("plan-asof");
      slider.max = String(changesets.length);
      slider.value = String(changesets.length);
      slider.addEventListener("input", () => asOf(Number(slider.value)));
      await asOf(changesets.length);
      const latest = list.querySelector("li");
      if (latest) await showChangeset(changesets[changesets.length - 1], latest);
    } catch (err) { $("plan-error").textContent = err.message; }
  })();
})();
