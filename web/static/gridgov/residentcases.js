/* Pages of the resident case kinds (web/resident_pages.py): /resident (a resident's 诉求 on his
   phone), /command/petitions (staff handling) and /mediation (三级调解). Strings and vocabulary come
   from the page's data block; data from /api/v1/petitions and /api/v1/disputes with the session
   cookie. Every text is set with textContent. */
var GGResidentCases = (function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gg-data").textContent);
  var S = data.strings;
  var V = data.vocabulary;
  var main = document.getElementById("gg-main");

  function s(key) { return S["res." + key] || key; }

  function el(tag, text, cls, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function field(parent, labelText, control) {
    var id = "gg-" + Math.random().toString(36).slice(2);
    control.id = control.id || id;
    var label = el("label", labelText, null, { "for": control.id });
    parent.appendChild(label);
    parent.appendChild(control);
    return control;
  }

  function select(name, values, labels) {
    var node = el("select", null, null, { name: name });
    values.forEach(function (v) {
      var o = el("option", labels ? labels[v] || v : v);
      o.value = v;
      node.appendChild(o);
    });
    return node;
  }

  function input(name, type) { return el("input", null, null, { name: name, type: type || "text" }); }

  function when(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : ""; }

  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.detail || (s("error") + " (" + r.status + ")"));
        return j;
      });
    });
  }

  function message(parent) {
    var box = el("p", null, "gg-msg", { role: "status", id: "gg-message" });
    box.hidden = true;
    parent.appendChild(box);
    return function (text, ok) {
      box.hidden = !text;
      box.textContent = text || "";
      box.className = "gg-msg " + (ok ? "gg-ok" : "gg-error");
    };
  }

  function signIn(next) {
    var card = el("section", null, "gg-card");
    var a = el("a", s("sign_in"), null, { href: "/login?next=" + encodeURIComponent(next) });
    card.appendChild(a);
    main.appendChild(card);
  }

  function historyList(items) {
    var ol = el("ol", null, "gg-history");
    items.forEach(function (h) {
      var li = el("li");
      li.appendChild(el("span", when(h.at) + " ", "gg-muted"));
      li.appendChild(el("span", h.status_label + (h.public_note ? "：" + h.public_note : (h.note ? "：" + h.note : ""))));
      ol.appendChild(li);
    });
    return ol;
  }

  /* --- /resident ------------------------------------------------------------------------- */
  function residentPage() {
    if (!data.viewer.resident) { signIn("/resident"); return; }
    var say = message(main);
    var form = el("form", null, "gg-card", { id: "gg-petition-form" });
    form.appendChild(el("h2", s("new_petition")));
    var type = field(form, s("type"), select("petition_type", V.petition_types, V.petition_type_labels_zh));
    var subject = field(form, s("subject"), select("subject", V.petition_subjects));
    var title = field(form, s("title"), input("title"));
    title.maxLength = 100; title.required = true;
    var desc = field(form, s("description"), el("textarea", null, null, { name: "description", maxlength: "4000" }));
    desc.required = true;
    form.appendChild(el("button", s("submit"), null, { type: "submit" }));
    main.appendChild(form);
    var list = el("section", null, "gg-card", { id: "gg-my-petitions" });
    main.appendChild(list);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/petitions", {
        petition_type: type.value, subject: subject.value, title: title.value, description: desc.value
      }).then(function (p) {
        say(s("submitted") + " " + p.code, true);
        form.reset();
        load();
      }).catch(function (err) { say(err.message); });
    });
    function rateForm(p) {
      var box = el("div", null, "gg-rate", { "data-id": String(p.id) });
      box.appendChild(el("strong", s("rate")));
      var stars = el("div", null, "gg-stars");
      var chosen = 0;
      for (var n = 1; n <= 5; n++) {
        (function (n) {
          var b = el("button", "★", null, { type: "button", "aria-label": n + "星", "data-stars": String(n) });
          b.addEventListener("click", function () {
            chosen = n;
            Array.prototype.forEach.call(stars.children, function (c, i) { c.className = i < n ? "on" : ""; });
          });
          stars.appendChild(b);
        })(n);
      }
      box.appendChild(stars);
      var comment = field(box, s("comment"), el("textarea", null, null, { name: "comment", maxlength: "500" }));
      var send = el("button", s("submit"), "gg-rate-submit", { type: "button" });
      send.addEventListener("click", function () {
        api("POST", "/api/v1/petitions/" + p.id + "/transitions",
          { action: "rate", rating: chosen || null, comment: comment.value || null })
          .then(function () { say(s("rated"), true); load(); })
          .catch(function (err) { say(err.message); });
      });
      box.appendChild(send);
      return box;
    }
    function load() {
      api("GET", "/api/v1/petitions?limit=50").then(function (page) {
        list.textContent = "";
        list.appendChild(el("h2", s("my_petitions")));
        if (!page.items.length) list.appendChild(el("p", s("none"), "gg-muted"));
        page.items.forEach(function (item) {
          var card = el("article", null, "gg-petition", { "data-code": item.code, "data-status": item.status });
          card.appendChild(el("h3", item.title));
          card.appendChild(el("span", item.status_label, "gg-badge" + (item.overdue ? " gg-late" : "")));
          card.appendChild(el("span", " " + item.code + " · " + item.subject, "gg-muted"));
          list.appendChild(card);
          api("GET", "/api/v1/petitions/" + item.id).then(function (p) {
            if (p.answer) {
              card.appendChild(el("p", s("answer") + "：" + p.answer, "gg-answer"));
            } else if (p.due_at) {
              card.appendChild(el("p", s("due") + "：" + when(p.due_at), "gg-muted"));
            }
            if (p.rating) card.appendChild(el("p", s("rated") + " " + "★".repeat(p.rating), "gg-rated"));
            if (p.allowed_actions.indexOf("rate") >= 0) card.appendChild(rateForm(p));
            card.appendChild(historyList(p.history));
          });
        });
      }).catch(function (err) { say(err.message); });
    }
    load();
  }

  /* --- /command/petitions ---------------------------------------------------------------- */
  function petitionsPage() {
    if (!data.viewer.signedIn || data.viewer.resident) { signIn("/command/petitions"); return; }
    var say = message(main);
    var table = el("table", null, null, { id: "gg-petition-table" });
    var card = el("section", null, "gg-card");
    card.appendChild(table);
    main.appendChild(card);
    var detail = el("section", null, "gg-card", { id: "gg-petition-detail" });
    detail.hidden = true;
    main.appendChild(detail);
    var stats = el("section", null, "gg-card", { id: "gg-petition-stats" });
    main.appendChild(stats);
    function step(p, body) {
      return api("POST", "/api/v1/petitions/" + p.id + "/transitions", body)
        .then(function (q) { say(q.status_label + " " + q.code, true); show(q.id); load(); })
        .catch(function (err) { say(err.message); });
    }
    function show(id) {
      api("GET", "/api/v1/petitions/" + id).then(function (p) {
        detail.hidden = false;
        detail.textContent = "";
        detail.setAttribute("data-code", p.code);
        detail.appendChild(el("h2", p.code + " " + p.title));
        detail.appendChild(el("p", p.petition_type_label + " · " + p.subject + " · " + p.status_label));
        detail.appendChild(el("p", p.description));
        if (p.answer) detail.appendChild(el("p", s("answer") + "：" + p.answer));
        var acts = p.allowed_actions;
        if (acts.indexOf("assign") >= 0 || acts.indexOf("reassign") >= 0) {
          var f = el("div", null, "gg-step-assign");
          var who = field(f, s("assigned_to"), input("assigned_to"));
          var level = field(f, s("level"), select("level", ["grid", "community", "street", "district"], V.mediation_level_labels_zh));
          var b = el("button", s("assign"), null, { type: "button", "data-action": "assign" });
          b.addEventListener("click", function () {
            step(p, { action: acts.indexOf("assign") >= 0 ? "assign" : "reassign", assigned_to: who.value, level: level.value });
          });
          f.appendChild(b);
          detail.appendChild(f);
        }
        if (acts.indexOf("answer") >= 0) {
          var a = el("div", null, "gg-step-answer");
          var text = field(a, s("answer_it"), el("textarea", null, null, { name: "answer" }));
          var ab = el("button", s("answer_it"), null, { type: "button", "data-action": "answer" });
          ab.addEventListener("click", function () { step(p, { action: "answer", answer: text.value }); });
          a.appendChild(ab);
          detail.appendChild(a);
        }
        if (acts.indexOf("refuse") >= 0) {
          var r = el("div");
          var why = field(r, s("reason"), input("reason"));
          var rb = el("button", s("refuse"), "gg-plain", { type: "button", "data-action": "refuse" });
          rb.addEventListener("click", function () { step(p, { action: "refuse", public_note: why.value }); });
          r.appendChild(rb);
          detail.appendChild(r);
        }
        if (acts.indexOf("convert") >= 0) {
          var c = el("div");
          var cat = field(c, s("category"), select("category", data.categories));
          var lon = field(c, "lon", input("lon", "number"));
          var lat = field(c, "lat", input("lat", "number"));
          lon.step = lat.step = "any";
          var cb = el("button", s("convert"), "gg-plain", { type: "button", "data-action": "convert" });
          cb.addEventListener("click", function () {
            step(p, { action: "convert", category: cat.value, lon: Number(lon.value), lat: Number(lat.value) });
          });
          c.appendChild(cb);
          detail.appendChild(c);
        }
        detail.appendChild(el("h3", s("history")));
        detail.appendChild(historyList(p.history));
      }).catch(function (err) { say(err.message); });
    }
    function load() {
      api("GET", "/api/v1/petitions?limit=200").then(function (page) {
        table.textContent = "";
        var head = el("tr");
        [s("code"), s("title"), s("subject"), s("status"), s("due"), ""].forEach(function (h) { head.appendChild(el("th", h)); });
        table.appendChild(head);
        page.items.forEach(function (p) {
          var tr = el("tr", null, null, { "data-code": p.code, "data-status": p.status });
          tr.appendChild(el("td", p.code));
          tr.appendChild(el("td", p.title));
          tr.appendChild(el("td", p.subject));
          var st = el("td");
          st.appendChild(el("span", p.status_label, "gg-badge" + (p.overdue ? " gg-late" : "")));
          tr.appendChild(st);
          tr.appendChild(el("td", when(p.due_at)));
          var open = el("button", s("open"), "gg-plain", { type: "button" });
          open.addEventListener("click", function () { show(p.id); });
          var td = el("td");
          td.appendChild(open);
          tr.appendChild(td);
          table.appendChild(tr);
        });
      }).catch(function (err) { say(err.message); });
      api("GET", "/api/v1/petitions/statistics?by=subject").then(function (rows) {
        stats.textContent = "";
        stats.appendChild(el("h2", s("statistics")));
        var t = el("table");
        var head = el("tr");
        [s("subject"), s("total"), s("on_time_rate"), s("satisfaction"), s("overdue")].forEach(function (h) { head.appendChild(el("th", h)); });
        t.appendChild(head);
        rows.forEach(function (r) {
          var tr = el("tr");
          [r.subject, r.total, pct(r.on_time_rate), pct(r.satisfaction_rate), r.overdue].forEach(function (v) { tr.appendChild(el("td", v)); });
          t.appendChild(tr);
        });
        stats.appendChild(t);
      }).catch(function () {});
    }
    load();
  }

  function pct(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; }

  /* --- /mediation ------------------------------------------------------------------------ */
  function mediationPage() {
    if (!data.viewer.signedIn || data.viewer.resident) { signIn("/mediation"); return; }
    var say = message(main);
    var form = el("form", null, "gg-card", { id: "gg-dispute-form" });
    form.appendChild(el("h2", s("register")));
    var dtype = field(form, s("type"), select("dispute_type", V.dispute_types));
    var summary = field(form, s("summary"), el("textarea", null, null, { name: "summary" }));
    var grid = field(form, s("grid_code"), input("grid_code"));
    if (data.scope && data.scope.length === 15) grid.value = data.scope;
    var applicant = field(form, s("applicant"), input("applicant"));
    var respondent = field(form, s("respondent"), input("respondent"));
    form.appendChild(el("button", s("submit"), null, { type: "submit" }));
    main.appendChild(form);
    var listCard = el("section", null, "gg-card");
    var table = el("table", null, null, { id: "gg-dispute-table" });
    listCard.appendChild(table);
    main.appendChild(listCard);
    var detail = el("section", null, "gg-card", { id: "gg-dispute-detail" });
    detail.hidden = true;
    main.appendChild(detail);
    var stats = el("section", null, "gg-card", { id: "gg-dispute-stats" });
    main.appendChild(stats);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/disputes", {
        dispute_type: dtype.value, summary: summary.value, grid_code: grid.value,
        parties: [{ side: "applicant", name: applicant.value }, { side: "respondent", name: respondent.value }]
      }).then(function (d) { say(d.code, true); form.reset(); load(); show(d.id); })
        .catch(function (err) { say(err.message); });
    });
    function step(d, body, path) {
      return api("POST", "/api/v1/disputes/" + d.id + (path || "/transitions"), body)
        .then(function (q) { say(q.status_label + " · " + q.level_label, true); show(q.id); load(); })
        .catch(function (err) { say(err.message); });
    }
    function button(parent, label, action, handler) {
      var b = el("button", label, null, { type: "button", "data-action": action });
      b.addEventListener("click", handler);
      parent.appendChild(b);
    }
    function show(id) {
      api("GET", "/api/v1/disputes/" + id).then(function (d) {
        detail.hidden = false;
        detail.textContent = "";
        detail.setAttribute("data-code", d.code);
        detail.setAttribute("data-level", d.level);
        detail.setAttribute("data-status", d.status);
        detail.appendChild(el("h2", d.code + " " + d.dispute_type));
        detail.appendChild(el("p", d.status_label + " · " + d.level_label + (d.mediator ? " · " + d.mediator : ""), "gg-dispute-state"));
        detail.appendChild(el("p", d.summary));
        detail.appendChild(el("h3", s("parties")));
        var ul = el("ul");
        d.parties.forEach(function (p) { ul.appendChild(el("li", p.side_label + "：" + (p.name || "") + (p.phone ? " " + p.phone : ""))); });
        detail.appendChild(ul);
        if (d.sessions.length) {
          detail.appendChild(el("h3", s("sessions")));
          var ol = el("ol");
          d.sessions.forEach(function (x) { ol.appendChild(el("li", when(x.held_at) + " " + x.level_label + " " + x.mediator + " " + x.outcome_label + (x.note ? "：" + x.note : ""))); });
          detail.appendChild(ol);
        }
        if (d.agreement) {
          detail.appendChild(el("h3", s("agreement")));
          detail.appendChild(el("p", d.agreement.level_label + " " + when(d.agreement.signed_at) + "：" + d.agreement.terms, "gg-agreement"));
        }
        var acts = d.allowed_actions;
        var box = el("div", null, "gg-actions");
        var note = field(box, s("note"), input("note"));
        if (acts.indexOf("start") >= 0) {
          var mediator = field(box, s("mediator"), input("mediator"));
          button(box, s("start"), "start", function () { step(d, { action: "start", mediator: mediator.value || null }); });
        }
        if (d.status === "mediating" && acts.length) {
          var outcome = field(box, s("outcome"), select("outcome", V.session_outcomes, V.session_outcome_labels_zh));
          var who = field(box, s("mediator"), input("session_mediator"));
          button(box, s("session"), "session", function () {
            step(d, { held_at: new Date().toISOString(), outcome: outcome.value, mediator: who.value, note: note.value || null }, "/sessions");
          });
        }
        if (acts.indexOf("escalate") >= 0) button(box, s("escalate"), "escalate", function () { step(d, { action: "escalate", note: note.value }); });
        if (acts.indexOf("agree") >= 0) {
          var terms = field(box, s("terms"), el("textarea", null, null, { name: "terms" }));
          button(box, s("agree"), "agree", function () { step(d, { action: "agree", terms: terms.value }); });
        }
        if (acts.indexOf("fail") >= 0) button(box, s("fail"), "fail", function () { step(d, { action: "fail", note: note.value }); });
        if (acts.indexOf("withdraw") >= 0) button(box, s("withdraw"), "withdraw", function () { step(d, { action: "withdraw", note: note.value }); });
        if (acts.indexOf("follow_up") >= 0) {
          var kept = el("input", null, null, { type: "checkbox", name: "fulfilled" });
          kept.checked = true;
          field(box, s("fulfilled"), kept);
          button(box, s("follow_up"), "follow_up", function () { step(d, { action: "follow_up", fulfilled: kept.checked, note: note.value || null }); });
        }
        if (acts.length) detail.appendChild(box);
        detail.appendChild(el("h3", s("history")));
        var hist = el("ol");
        d.history.forEach(function (h) { hist.appendChild(el("li", when(h.at) + " " + h.level_label + " " + h.status_label + (h.note ? "：" + h.note : ""))); });
        detail.appendChild(hist);
      }).catch(function (err) { say(err.message); });
    }
    function load() {
      api("GET", "/api/v1/disputes?limit=200").then(function (page) {
        table.textContent = "";
        var head = el("tr");
        [s("code"), s("type"), s("level"), s("status"), ""].forEach(function (h) { head.appendChild(el("th", h)); });
        table.appendChild(head);
        page.items.forEach(function (d) {
          var tr = el("tr", null, null, { "data-code": d.code });
          [d.code, d.dispute_type, d.level_label].forEach(function (v) { tr.appendChild(el("td", v)); });
          var st = el("td");
          st.appendChild(el("span", d.status_label, "gg-badge" + (d.overdue ? " gg-late" : "")));
          tr.appendChild(st);
          var td = el("td");
          var open = el("button", s("open"), "gg-plain", { type: "button" });
          open.addEventListener("click", function () { show(d.id); });
          td.appendChild(open);
          tr.appendChild(td);
          table.appendChild(tr);
        });
      }).catch(function (err) { say(err.message); });
      api("GET", "/api/v1/disputes/statistics").then(function (rows) {
        stats.textContent = "";
        stats.appendChild(el("h2", s("statistics")));
        var t = el("table");
        var head = el("tr");
        [s("level"), s("total"), s("settled"), s("success_rate"), s("avg_days")].forEach(function (h) { head.appendChild(el("th", h)); });
        t.appendChild(head);
        rows.forEach(function (r) {
          var tr = el("tr");
          [r.level_label, r.cases, r.settled, pct(r.success_rate), r.avg_working_days === null ? "—" : r.avg_working_days].forEach(function (v) { tr.appendChild(el("td", v)); });
          t.appendChild(tr);
        });
        stats.appendChild(t);
      }).catch(function () {});
    }
    load();
  }

  return { residentPage: residentPage, petitionsPage: petitionsPage, mediationPage: mediationPage };
})();
