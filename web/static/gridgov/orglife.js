/* /party/org-life: record 三会一课 with attendance, and see quarterly completeness.
   Rules, labels and strings come from the page's data block (gis/orglife/rules.py, web/i18n.py);
   data from /api/v1/org-life with the session cookie. Every text is set with textContent. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gg-orglife-data").textContent);
  var S = data.strings;
  var API = "/api/v1/org-life";
  var message = document.getElementById("gg-message");
  var form = document.getElementById("gg-meeting-form");
  var quarterSelect = document.getElementById("gg-quarter");
  var kindLabel = {};
  var attendanceLabel = {};
  var branches = [];
  var idempotencyKey = null;
  var rosterRequest = 0;

  data.rules.kinds.forEach(function (k) { kindLabel[k.key] = k.label; });
  data.rules.attendance.forEach(function (a) { attendanceLabel[a.key] = a.label; });

  function say(text) { message.textContent = text; }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function option(select, value, label) {
    var o = el("option", label);
    o.value = value;
    select.appendChild(o);
  }

  function getJSON(path, headers) {
    return fetch(path, { credentials: "same-origin", headers: Object.assign({ Accept: "application/json" }, headers || {}) })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      });
  }

  function newKey() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  // --- the form -------------------------------------------------------------------------------
  function currentBranch() {
    var code = form.elements.branch_code.value;
    return branches.filter(function (b) { return b.code === code; })[0];
  }

  function fillGroups() {
    var groupSelect = form.elements.group_code;
    var isGroup = form.elements.kind.value === "group_meeting";
    document.getElementById("gg-group-label").hidden = !isGroup;
    groupSelect.textContent = "";
    var branch = currentBranch();
    if (branch) branch.groups.forEach(function (g) { option(groupSelect, g.code, g.name); });
    groupSelect.required = isGroup;
  }

  function fillMembers() {
    var body = document.querySelector("#gg-attendance tbody");
    body.textContent = "";
    var branch = currentBranch();
    if (!branch) return;
    var headers = { "X-Purpose": encodeURIComponent(data.purpose) };
    var mine = ++rosterRequest;
    getJSON(API + "/branches/" + encodeURIComponent(branch.code) + "/members", headers)
      .then(function (json) {
        if (mine !== rosterRequest) return; // a later choice asked again: only its answer counts
        var isGroup = form.elements.kind.value === "group_meeting";
        var group = form.elements.group_code.value;
        json.members.forEach(function (m) {
          if (isGroup && m.group_code !== group) return;
          var row = el("tr");
          row.dataset.memberId = m.member_id;
          row.appendChild(el("td", m.name));
          row.appendChild(el("td", m.status));
          var cell = el("td");
          var select = el("select");
          select.name = "attendance-" + m.member_id;
          data.rules.attendance.forEach(function (a) { option(select, a.key, a.label); });
          cell.appendChild(select);
          row.appendChild(cell);
          body.appendChild(row);
        });
      })
      .catch(function () { say(S.load_failed); });
  }

  function setUpForm(items) {
    branches = items.filter(function (b) { return b.may_record; });
    if (!branches.length) return;
    document.getElementById("gg-record").hidden = false;
    branches.forEach(function (b) { option(form.elements.branch_code, b.code, b.name); });
    data.rules.kinds.forEach(function (k) { option(form.elements.kind, k.key, k.label); });
    form.elements.held_on.max = data.today;
    form.elements.held_on.value = data.today;
    fillGroups();
    fillMembers();
    form.elements.branch_code.addEventListener("change", function () { fillGroups(); fillMembers(); });
    form.elements.kind.addEventListener("change", function () { fillGroups(); fillMembers(); });
    form.elements.group_code.addEventListener("change", fillMembers);
    form.addEventListener("input", function () { idempotencyKey = null; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var f = form.elements;
    var attendance = [];
    document.querySelectorAll("#gg-attendance tbody tr").forEach(function (row) {
      attendance.push({ member_id: Number(row.dataset.memberId), status: row.querySelector("select").value });
    });
    var body = {
      branch_code: f.branch_code.value,
      kind: f.kind.value,
      held_on: f.held_on.value,
      place: f.place.value,
      topic: f.topic.value,
      minutes: f.minutes.value,
      attendance: attendance,
    };
    if (f.kind.value === "group_meeting") body.group_code = f.group_code.value;
    // One key per filled-in form: a double click or a retry after a lost answer saves once.
    idempotencyKey = idempotencyKey || newKey();
    fetch(API + "/meetings", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": idempotencyKey },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().then(function (json) {
          if (!r.ok) throw new Error(json.detail || String(r.status));
          return json;
        });
      })
      .then(function (json) {
        say(S.saved + "（" + json.held_on + " " + kindLabel[json.kind] + "）");
        idempotencyKey = null;
        form.elements.topic.value = "";
        form.elements.minutes.value = "";
        loadCompleteness();
        loadMeetings();
      })
      .catch(function (error) { say(S.failed + error.message); });
  });

  // --- completeness ---------------------------------------------------------------------------
  function head(table, first) {
    var thead = table.querySelector("thead");
    thead.textContent = "";
    var row = el("tr");
    [first].concat(data.rules.kinds.map(function (k) { return k.label; }), [S.rate]).forEach(function (h) {
      var th = el("th", h);
      th.scope = "col";
      row.appendChild(th);
    });
    thead.appendChild(row);
  }

  function rate(value) { return value === null ? "—" : Math.round(value * 100) + "%"; }

  function kindCell(status) {
    if (status.applies === false) return el("td", S.na, "gg-na");
    var due = status.met + status.missed;
    var td = el("td", status.met + "/" + (status.required !== undefined ? status.required : due), status.missed ? "gg-missed" : "gg-met");
    td.dataset.met = status.met;
    td.dataset.missed = status.missed;
    return td;
  }

  function loadCompleteness() {
    getJSON(API + "/completeness?quarter=" + encodeURIComponent(quarterSelect.value))
      .then(function (json) {
        var areas = document.getElementById("gg-areas");
        head(areas, S.area);
        var abody = areas.querySelector("tbody");
        abody.textContent = "";
        json.areas.forEach(function (a) {
          var row = el("tr");
          row.dataset.code = a.code;
          row.appendChild(el("th", a.name + "（" + S.complete_branches + " " + a.complete_branches + "/" + a.branches + "）"));
          data.rules.kinds.forEach(function (k) {
            var s = a.kinds[k.key];
            var td = el("td", s.met + "/" + (s.met + s.missed + s.open), s.missed ? "gg-missed" : "gg-met");
            td.dataset.met = s.met;
            td.dataset.missed = s.missed;
            row.appendChild(td);
          });
          row.appendChild(el("td", rate(a.rate)));
          abody.appendChild(row);
        });
        var table = document.getElementById("gg-branches");
        head(table, S.branch);
        var body = table.querySelector("tbody");
        body.textContent = "";
        json.branches.forEach(function (b) {
          var row = el("tr");
          row.dataset.code = b.code;
          row.appendChild(el("th", b.name));
          data.rules.kinds.forEach(function (k) { row.appendChild(kindCell(b.kinds[k.key])); });
          row.appendChild(el("td", rate(b.rate)));
          body.appendChild(row);
        });
      })
      .catch(function () { say(S.load_failed); });
  }

  function loadMeetings() {
    getJSON(API + "/meetings?limit=20")
      .then(function (json) {
        var body = document.querySelector("#gg-meeting-list tbody");
        body.textContent = "";
        if (!json.items.length) body.appendChild(el("tr")).appendChild(el("td", S.none));
        json.items.forEach(function (m) {
          var row = el("tr");
          row.dataset.id = m.id;
          row.appendChild(el("td", m.held_on));
          row.appendChild(el("td", kindLabel[m.kind] || m.kind));
          row.appendChild(el("td", m.org_name));
          row.appendChild(el("td", m.topic));
          row.appendChild(el("td", S.attendance_summary
            .replace("{present}", m.attendance.present)
            .replace("{leave}", m.attendance.leave)
            .replace("{absent}", m.attendance.absent)));
          body.appendChild(row);
        });
      })
      .catch(function () { say(S.load_failed); });
  }

  data.quarters.forEach(function (q) { option(quarterSelect, q, q); });
  quarterSelect.addEventListener("change", loadCompleteness);
  getJSON(API + "/branches").then(function (json) { setUpForm(json.items); }).catch(function () { say(S.load_failed); });
  loadCompleteness();
  loadMeetings();
})();
