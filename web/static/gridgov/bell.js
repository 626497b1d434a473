/* The notification bell (web/bell.py): unread badge, drop-down list, live by the stream.
 * Self-contained (no Leaflet, no jQuery), so every page can carry it. */
(function () {
  "use strict";
  var API = "/api/v1/notifications";

  function start(root) {
    var strings = JSON.parse(root.getAttribute("data-strings") || "{}");
    var pollMs = +root.getAttribute("data-poll") || 60000;
    var button = root.querySelector(".gg-bell-button");
    var badge = root.querySelector(".gg-bell-count");
    var panel = root.querySelector(".gg-bell-panel");
    var list = root.querySelector(".gg-bell-list");
    var empty = root.querySelector(".gg-bell-empty");
    var allButton = root.querySelector(".gg-bell-all");
    var items = [];      // newest first
    var seen = {};       // id -> item
    var unread = 0;
    var source = null;
    var pollTimer = null;

    function s(key) { return strings[key] || key; }

    function request(url, method) {
      return fetch(url, {
        method: method || "GET",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (r) {
        if (!r.ok) { var e = new Error(url + " -> " + r.status); e.status = r.status; throw e; }
        return r.json();
      });
    }

    function fmt(value) {
      if (!value) return "";
      var d = new Date(value);
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      return (d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
    }

    function setUnread(n) {
      unread = Math.max(0, n);
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.hidden = unread === 0;
      button.setAttribute("aria-label", s("title") + (unread ? " " + unread + " " + s("unread") : ""));
      root.setAttribute("data-unread", String(unread));
    }

    function render() {
      list.textContent = "";
      items.forEach(function (n) {
        var li = document.createElement("li");
        li.className = "gg-bell-item" + (n.read ? "" : " gg-unread");
        li.setAttribute("data-id", String(n.id));
        li.setAttribute("data-trigger", n.trigger);
        var title = document.createElement("div");
        title.className = "gg-bell-item-title";
        title.textContent = n.title;
        li.appendChild(title);
        (n.lines || []).forEach(function (line) {
          var p = document.createElement("div");
          p.className = "gg-bell-line";
          p.textContent = line;
          li.appendChild(p);
        });
        var meta = document.createElement("div");
        meta.className = "gg-bell-meta";
        meta.textContent = fmt(n.created_at);
        if (!n.read) {
          var mark = document.createElement("button");
          mark.type = "button";
          mark.className = "gg-bell-read";
          mark.textContent = s("mark_read");
          mark.addEventListener("click", function (e) { e.stopPropagation(); markRead(n); });
          meta.appendChild(mark);
        }
        li.appendChild(meta);
        li.addEventListener("click", function () { if (!n.read) markRead(n); });
        list.appendChild(li);
      });
      empty.hidden = items.length > 0;
      allButton.disabled = unread === 0;
    }

    function add(n, atTop) {
      if (seen[n.id]) return false;
      seen[n.id] = n;
      if (atTop) items.unshift(n); else items.push(n);
      return true;
    }

    function markRead(n) {
      return request(API + "/" + n.id + "/read", "POST").then(function (r) {
        n.read = true;
        setUnread(r.unread);
        render();
      }).catch(function () { /* stays unread; the next click tries again */ });
    }

    function load() {
      return request(API + "?limit=30").then(function (page) {
        items = []; seen = {};
        page.items.forEach(function (n) { add(n, false); });
        setUnread(page.unread);
        render();
        return page;
      });
    }

    function poll() {
      clearTimeout(pollTimer);
      pollTimer = setTimeout(function () { load().then(null, function () {}).then(poll); }, pollMs);
    }

    function follow(after) {
      if (!window.EventSource) { poll(); return; }
      source = new EventSource(API + "/stream?last_event_id=" + encodeURIComponent(after));
      source.addEventListener("notification", function (e) {
        var n = JSON.parse(e.data);
        if (add(n, true)) {
          if (!n.read) setUnread(unread + 1);
          render();
          root.classList.add("gg-bell-ring");
          setTimeout(function () { root.classList.remove("gg-bell-ring"); }, 1200);
        }
      });
      source.addEventListener("error", function () {
        // Refused (the per-client stream limit, a restart): poll instead; EventSource gives up.
        if (source.readyState === EventSource.CLOSED) poll();
      });
    }

    function toggle(open) {
      var show = open === undefined ? panel.hidden : open;
      panel.hidden = !show;
      button.setAttribute("aria-expanded", String(show));
    }

    button.addEventListener("click", function (e) { e.stopPropagation(); toggle(); });
    panel.addEventListener("click", function (e) { e.stopPropagation(); });
    document.addEventListener("click", function () { if (!panel.hidden) toggle(false); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !panel.hidden) { toggle(false); button.focus(); }
    });
    allButton.addEventListener("click", function () {
      request(API + "/read-all", "POST").then(function (r) {
        items.forEach(function (n) { n.read = true; });
        setUnread(r.unread);
        render();
      }).catch(function () {});
    });

    load().then(function (page) { follow(page.stream_after); }, function () {
      empty.textContent = s("failed");
      poll();
    });
  }

  function init() {
    var root = document.getElementById("gg-bell");
    if (root && !root.getAttribute("data-started")) {
      root.setAttribute("data-started", "1");
      start(root);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
