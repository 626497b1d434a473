/* /party/members: the member register, a member's profile and 组织关系转接.
   Labels come from the page's data block (gis/party/vocabulary.py, web/i18n.py); data from
   /api/v1/party with the session cookie. A purpose typed in the filter goes with every read
   (the server unmasks and audits); every text is set with textContent. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gg-members-data").textContent);
  var S = data.strings;
  var V = data.vocabulary;
  var API = "/api/v1/party/members";
  var message = document.getElementById("gg-message");
  var filter = document.getElementById("gg-filter");
  var table = document.getElementById("gg-members");
  var profile = document.getElementById("gg-profile");
  var transferForm = document.getElementById("gg-transfer-form");
  var current = null;

  function say(text) { message.textContent = text; }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : String(values[k]); });
  }

  function purpose() { return filter.elements.purpose.value.trim(); }

  function withPurpose(params) {
    if (purpose()) params.set("purpose", purpose());
    return params;
  }

  function getJSON(path) {
    return fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      });
  }

  function flags(list) {
    return list.map(function (f) { return V.care_flags[f] || f; }).join("、");
  }

  // --- the list ---------------------------------------------------------------------------------
  function header() {
    var row = el("tr");
    ["name", "status", "branch", "group", "grid", "party_years", "flags", "away", "open"].forEach(function (k) {
      var th = el("th", S[k]);
      th.scope = "col";
      row.appendChild(th);
    });
    table.tHead.textContent = "";
    table.tHead.appendChild(row);
  }

  function load() {
    var params = new URLSearchParams();
    ["within", "status", "flag", "away", "relation"].forEach(function (k) {
      var value = filter.elements[k].value;
      if (value) params.set(k, value);
    });
    params.set("limit", "200");
    withPurpose(params);
    return getJSON(API + "?" + params.toString()).then(function (body) {
      document.getElementById("gg-total").textContent = fmt(S.total, { n: body.total });
      var tbody = table.tBodies[0];
      tbody.textContent = "";
      body.items.forEach(function (m) {
        var row = el("tr");
        row.dataset.memberId = m.id;
        var name = el("td", m.name);
        if (m.masked) name.title = S.masked_note;
        row.appendChild(name);
        row.appendChild(el("td", m.status));
        row.appendChild(el("td", m.branch ? m.branch.name : fmt(S.relation_out, { org: m.external_org })));
        row.appendChild(el("td", m.group ? m.group.name : ""));
        row.appendChild(el("td", m.grid_name));
        row.appendChild(el("td", m.party_years));
        row.appendChild(el("td", flags(m.care_flags)));
        row.appendChild(el("td", m.away ? m.away.place : ""));
        var cell = el("td");
        var open = el("button", S.open);
        open.type = "button";
        open.className = "gg-open";
        open.addEventListener("click", function () { show(m.id); });
        cell.appendChild(open);
        row.appendChild(cell);
        tbody.appendChild(row);
      });
    }).catch(function () { say(S.load_failed); });
  }

  // --- the profile ------------------------------------------------------------------------------
  function fact(dl, label, value) {
    dl.appendChild(el("dt", label));
    dl.appendChild(el("dd", value === null || value === undefined || value === "" ? S.none : value));
  }

  function history(box, title, rows, cells) {
    box.appendChild(el("h3", title));
    if (!rows.length) { box.appendChild(el("p", S.none)); return; }
    var t = el("table");
    t.className = "gg-" + title;
    var body = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr");
      cells(r).forEach(function (c) { tr.appendChild(el("td", c)); });
      body.appendChild(tr);
    });
    t.appendChild(body);
    box.appendChild(t);
  }

  function render(m) {
    current = m;
    profile.hidden = false;
    profile.dataset.memberId = m.id;
    var dl = document.getElementById("gg-profile-facts");
    dl.textContent = "";
    fact(dl, S.name, m.name);
    fact(dl, S.status, m.status);
    fact(dl, S.joined_on, m.joined_on);
    fact(dl, S.id_number, m.id_number);
    fact(dl, S.phone, m.phone);
    fact(dl, S.address, m.address);
    fact(dl, S.branch, m.branch ? m.branch.name : fmt(S.relation_out, { org: m.external_org }));
    fact(dl, S.chain, m.chain.map(function (c) { return c.name; }).join(" → "));
    var ch = m.central_household;
    if (ch.hosts) fact(dl, S.flags, fmt(S.central_hosts, { code: ch.hosts.code, n: ch.hosts.serves.length }));
    if (ch.served_by) fact(dl, S.flags, fmt(S.central_served_by, { code: ch.served_by.code }));
    fact(dl, S.flags, flags(m.care_flags));
    var box = document.getElementById("gg-profile-history");
    box.textContent = "";
    history(box, S.transfers, m.transfers, function (t) {
      return [t.transferred_on, V.transfer_directions[t.direction], t.from_org, "→", t.to_org, V.transfer_reasons[t.reason], t.letter_no || ""];
    });
    history(box, S.away_history, m.away_history, function (a) {
      return [a.since, a.until || "", a.place, V.away_reasons[a.reason], a.host_org || ""];
    });
    history(box, S.care, m.care_records, function (c) {
      return [c.cared_on, V.care_kinds[c.kind], c.note, c.amount_yuan || ""];
    });
    history(box, S.learning, m.learning, function (l) { return [l.finished_on, l.title, l.hours]; });
    transferForm.hidden = !(m.may_change && m.relation === "here");
    var readOnly = document.getElementById("gg-read-only");
    readOnly.hidden = m.may_change;
    readOnly.textContent = S.read_only;
  }

  function show(id) {
    return getJSON(API + "/" + id + "?" + withPurpose(new URLSearchParams()).toString())
      .then(render)
      .catch(function () { say(S.load_failed); });
  }

  transferForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!current) return;
    var f = transferForm.elements;
    var body = { direction: f.direction.value, reason: f.reason.value, transferred_on: f.transferred_on.value };
    if (f.direction.value === "within") body.to_branch_code = f.to_branch_code.value.trim();
    else body.to_org_name = f.to_org_name.value.trim();
    if (f.letter_no.value.trim()) body.letter_no = f.letter_no.value.trim();
    fetch(API + "/" + current.id + "/transfers?" + withPurpose(new URLSearchParams()).toString(), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (answer) {
        if (!r.ok) { say(S.failed + (answer.detail || r.status)); return; }
        say(S.transferred);
        render(answer.member);
        load();
      });
    }).catch(function () { say(S.failed); });
  });

  filter.addEventListener("submit", function (event) { event.preventDefault(); say(""); load(); });
  transferForm.elements.transferred_on.value = data.today;
  transferForm.elements.transferred_on.max = data.today;
  header();
  load();
})();
