/* /party/dual: 双报到. Vocabulary and strings come from the page's data block
   (gis/dual/vocabulary.py, web/i18n.py); data from the API with the session cookie.
   Every text is set with textContent. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gg-dual-data").textContent);
  var S = data.strings, V = data.vocabulary;
  var message = document.getElementById("gg-message");
  var form = document.getElementById("gg-need-form");
  var memberLabel = document.getElementById("gg-member-id");
  var myMember = null;  // the account's own member record (a member claims only as himself)
  var community = data.community;
  var units = [];

  function say(text) { message.textContent = text; }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function option(select, value, label) { var o = el("option", label); o.value = value; select.appendChild(o); }
  function getJSON(path) {
    return fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); });
  }
  function send(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (json) { if (!r.ok) throw new Error(json.detail || String(r.status)); return json; });
    });
  }
  function head(table, labels) {
    var tr = el("tr");
    labels.forEach(function (l) { var th = el("th", l); th.scope = "col"; tr.appendChild(th); });
    table.tHead.textContent = ""; table.tHead.appendChild(tr);
  }
  function stars(name) {
    var select = el("select"); select.name = name;
    V.stars.slice().reverse().forEach(function (n) { option(select, n, "★".repeat(n)); });
    return select;
  }
  function numberInput(name) {
    var input = el("input"); input.type = "number"; input.name = name; input.min = "0.5"; input.step = "0.5"; input.max = String(V.max_hours);
    return input;
  }
  function button(label, action, fn) {
    var b = el("button", label); b.type = "button"; b.dataset.action = action; b.addEventListener("click", fn); return b;
  }

  // --- publishing (organisers) -----------------------------------------------------------------
  if (data.organiser) {
    document.getElementById("gg-publish").hidden = false;
    ["need", "post"].forEach(function (k) { option(form.elements.origin, k, V.origins[k]); });
    V.service_types.forEach(function (k) { option(form.elements.service_type, k, k); });
    if (community) form.elements.community_code.value = community;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = form.elements;
      send("/api/v1/dual-report/needs", {
        community_code: f.community_code.value, origin: f.origin.value, title: f.title.value,
        service_type: f.service_type.value, description: f.description.value,
      }).then(function (json) {
        say(S.saved + "（" + json.code + "）");
        community = json.community_code;
        f.title.value = ""; f.description.value = "";
        refresh();
      }).catch(function (err) { say(S.failed + err.message); });
    });
  }
  if (data.role === "party_member") {
    document.getElementById("gg-me").hidden = false;
    getJSON("/api/v1/party/members/me").then(function (me) {
      myMember = me.id;
      memberLabel.textContent = me.name + "（" + me.id + "）";
      refresh();
    }).catch(function (err) { say(S.failed + err.message); });
  }

  // --- needs and their steps -------------------------------------------------------------------
  function step(order, body) {
    return send("/api/v1/service-orders/" + order.id + "/transitions", body)
      .then(function (json) { say(S.saved + "（" + json.code + " · " + S["status." + json.status] + "）"); refresh(); })
      .catch(function (err) { say(S.failed + err.message); });
  }
  function actions(order) {
    var td = el("td"), mine = myMember !== null && order.member && order.member.id === myMember;
    if (data.role === "party_member") {
      if (order.status === "published") {
        td.appendChild(button(S.claim, "claim", function () { step(order, { to: "claimed" }); }));
      } else if (order.status === "claimed" && mine) {
        var hours = numberInput("hours"); td.appendChild(el("label", S.hours)).appendChild(hours);
        td.appendChild(button(S.done, "done", function () { step(order, { to: "done", hours: +hours.value }); }));
      }
    } else if (data.organiser) {
      if (order.status === "published" && units.length) {
        var unit = el("select"); unit.name = "unit";
        units.forEach(function (u) { option(unit, u.id, u.name); });
        td.appendChild(unit);
        td.appendChild(button(S.assign, "assign", function () { step(order, { to: "claimed", action: "assign", unit_id: +unit.value }); }));
      } else if (order.status === "claimed" && order.unit) {
        var uh = numberInput("hours"); td.appendChild(el("label", S.hours)).appendChild(uh);
        td.appendChild(button(S.done, "unit_done", function () { step(order, { to: "done", action: "unit_done", hours: +uh.value }); }));
      } else if (order.status === "done") {
        var rs = stars("rating"), cs = stars("community_rating");
        td.appendChild(el("label", S.resident_stars)).appendChild(rs);
        td.appendChild(el("label", S.community_stars)).appendChild(cs);
        td.appendChild(button(S.rate, "rate", function () { step(order, { to: "rated", rating: +rs.value, community_rating: +cs.value }); }));
      }
    }
    return td;
  }
  function loadNeeds() {
    var table = document.getElementById("gg-needs");
    head(table, [V.origins.need + "/" + V.origins.post, S.status, S.doer, S.hours, S.stars, ""]);
    if (!community) return Promise.resolve();
    var q = "/api/v1/service-orders?limit=200&community=" + encodeURIComponent(community) + "&origin=";
    return Promise.all([getJSON(q + "need"), getJSON(q + "post")]).then(function (lists) {
      var orders = lists[0].concat(lists[1]).sort(function (a, b) { return a.ordered_at < b.ordered_at ? 1 : -1; });
      var body = table.tBodies[0]; body.textContent = "";
      orders.forEach(function (o) {
        var tr = el("tr"); tr.dataset.code = o.code; tr.dataset.status = o.status;
        tr.appendChild(el("td", V.origins[o.origin] + "：" + (o.title || "")));
        tr.appendChild(el("td", S["status." + o.status] || o.status));
        tr.appendChild(el("td", o.unit ? o.unit.name + "（" + o.letter_code + "）" : o.member ? o.member.name : ""));
        tr.appendChild(el("td", o.hours === null ? "" : o.hours));
        tr.appendChild(el("td", o.rating === null ? "" : "★" + o.rating + (o.community_rating ? " / ★" + o.community_rating : "")));
        tr.appendChild(actions(o));
        body.appendChild(tr);
      });
      if (!orders.length) body.appendChild(el("tr")).appendChild(el("td", S.none));
    }).catch(function () { say(S.load_failed); });
  }

  // --- statistics, reported, ranking ------------------------------------------------------------
  var STAT_KEYS = ["in_service", "coverage", "reported_members", "reported_units", "published", "open", "done_count", "active_members", "active_units", "hours", "mean_rating"];
  function loadStatistics() {
    if (!data.partyWork) return Promise.resolve();
    document.getElementById("gg-statistics-section").hidden = false;
    var table = document.getElementById("gg-statistics");
    head(table, [S.name].concat(STAT_KEYS.map(function (k) { return S[k] || k; })));
    var reported = community ? getJSON("/api/v1/dual-report/communities/" + community + "/reported").then(function (json) {
      units = json.units.map(function (u) { return { id: null, code: u.code, name: u.name }; });
      var t = document.getElementById("gg-reported");
      head(t, [S.name, S.orders, S.hours, S.stars]);
      var body = t.tBodies[0]; body.textContent = "";
      json.members.concat(json.units).forEach(function (r) {
        var tr = el("tr"); tr.dataset.kind = r.code ? "unit" : "member";
        [r.name, r.code ? r.projects : r.claimed, r.hours, r.stars].forEach(function (v) { tr.appendChild(el("td", v)); });
        body.appendChild(tr);
      });
      // The unit ids to assign by letter: from the map layer's features (public facts).
      return getJSON("/api/v1/regional/units?within=" + community).then(function (fc) {
        var ids = {}; fc.features.forEach(function (f) { ids[f.properties.code] = f.properties.id; });
        units.forEach(function (u) { u.id = ids[u.code]; });
        units = units.filter(function (u) { return u.id; });
      });
    }) : Promise.resolve();
    var stats = getJSON("/api/v1/dual-report/statistics" + (community ? "?within=" + community : "")).then(function (json) {
      var body = table.tBodies[0]; body.textContent = "";
      json.communities.forEach(function (c) {
        var tr = el("tr"); tr.dataset.code = c.code;
        tr.appendChild(el("td", c.name));
        STAT_KEYS.forEach(function (k) {
          var v = c[k === "done_count" ? "done" : k];
          tr.appendChild(el("td", v === null ? "—" : k === "coverage" ? (100 * v).toFixed(1) + "%" : v));
        });
        body.appendChild(tr);
      });
    });
    return Promise.all([reported, stats]).catch(function () { say(S.load_failed); });
  }
  function loadRanking() {
    var table = document.getElementById("gg-ranking");
    head(table, [S.rank, S.name, S.stars, S.orders, S.hours]);
    var within = community ? "&within=" + community : "";
    return Promise.all(["member", "unit"].map(function (doer) {
      return getJSON("/api/v1/dual-report/ranking?year=" + data.year + "&doer=" + doer + "&limit=10" + within);
    })).then(function (lists) {
      var body = table.tBodies[0]; body.textContent = "";
      [S.members, S.units].forEach(function (label, i) {
        var caption = el("tr"); caption.appendChild(el("th", label)).colSpan = 5; body.appendChild(caption);
        lists[i].forEach(function (r) {
          var tr = el("tr"); tr.dataset.doer = i ? "unit" : "member"; tr.dataset.id = r.id;
          [r.rank, r.name, r.stars, r.orders, r.hours].forEach(function (v) { tr.appendChild(el("td", v)); });
          body.appendChild(tr);
        });
      });
    }).catch(function () { say(S.load_failed); });
  }
  function refresh() {
    return loadStatistics().then(loadNeeds).then(loadRanking).then(function () { document.body.dataset.ready = "1"; });
  }
  refresh();
})();
