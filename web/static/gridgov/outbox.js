/* The phone's outbox (docs/field-work.md, "Offline"): every write of the field pages goes
 * through it. A write is stored first (localStorage, per account, survives a reload or a
 * closed tab), then sent in order with its Idempotency-Key; what cannot be sent now (no
 * network, server unavailable, signed out) stays queued and is sent again when the browser is
 * back online, on the next page load, or every half minute. The server makes a repeat harmless
 * (the key is the record's client id), so nothing is lost or stored twice. Consecutive track
 * points of one patrol go out as one batch. The worker sees what is waiting (.gg-outbox). */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});
  var RETRY_MS = 30000, MAX_BATCH = 500;
  var storageKey = null, waiters = {}, flushing = null, listeners = [], failed = [];

  function load() {
    try { return JSON.parse(localStorage.getItem(storageKey) || "[]"); } catch (e) { return []; }
  }
  function save(entries) { localStorage.setItem(storageKey, JSON.stringify(entries)); changed(); }
  function changed() { var n = load().length; listeners.forEach(function (fn) { fn(n, failed); }); }
  function newKey(prefix) {
    var random = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : Math.random().toString(36).slice(2) + Date.now();
    return (prefix || "w") + "-" + random;
  }

  function settle(keys, ok, value) {
    keys.forEach(function (k) { var w = waiters[k]; if (w) { delete waiters[k]; (ok ? w.resolve : w.reject)(value); } });
  }

  // Send the head of the queue (a batch for consecutive points); true to go on, false to stop.
  function sendHead() {
    var entries = load();
    if (!entries.length) return Promise.resolve(false);
    var head = entries[0], taken = [head];
    var body = head.body;
    if (head.batch) {
      for (var i = 1; i < entries.length && taken.length < MAX_BATCH; i++) {
        if (entries[i].batch !== head.batch) break;
        taken.push(entries[i]);
      }
      body = { points: taken.map(function (e) { return e.body; }) };
    }
    var headers = { Accept: "application/json", "Idempotency-Key": head.key };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(head.url, { method: head.method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (json) {
          var keys = taken.map(function (e) { return e.key; });
          var retry = response.status >= 500 || response.status === 401 || response.status === 408 || response.status === 429;
          if (retry) return false;
          // Sent (or refused for good): either way it leaves the queue.
          var left = load().filter(function (e) { return keys.indexOf(e.key) < 0; });
          if (!response.ok) {
            failed.push({ label: head.label, status: response.status, detail: (json && json.detail) || "" });
            save(left);
            var error = new Error((json && json.detail) || String(response.status));
            error.status = response.status;
            settle(keys, false, error);
          } else {
            save(left);
            settle(keys, true, json);
          }
          return true;
        });
      }, function () { return false; });  // no network: keep everything, try later
  }

  function flush() {
    if (!storageKey) return Promise.resolve();
    if (flushing) return flushing;
    var loop = function () { return sendHead().then(function (more) { return more ? loop() : undefined; }); };
    flushing = loop().then(function () { flushing = null; changed(); }, function () { flushing = null; });
    return flushing;
  }

  gg.outbox = {
    /* Queue a write and try to send it. Resolves with the server's answer once sent; while it
     * waits the promise stays pending (``queued`` tells whether it was sent at once). */
    send: function (method, url, body, options) {
      options = options || {};
      var entry = { key: options.key || newKey(options.prefix), method: method, url: url, body: body,
        label: options.label || url, batch: options.batch || null, at: new Date().toISOString() };
      var entries = load();
      entries.push(entry);
      save(entries);
      var promise = new Promise(function (resolve, reject) { waiters[entry.key] = { resolve: resolve, reject: reject }; });
      flush();
      return promise;
    },
    flush: flush,
    pending: function () { return load(); },
    failed: function () { return failed.slice(); },
    newKey: newKey,
    onChange: function (fn) { listeners.push(fn); fn(load().length, failed); },
    start: function (username) {
      storageKey = "gridgov.outbox." + (username || "anonymous");
      window.addEventListener("online", flush);
      setInterval(flush, RETRY_MS);
      flush();
    },
  };

  /* The visible queue: how many writes wait, and whether the phone is offline. */
  gg.outboxBadge = function () {
    var s = gg.s, el = document.createElement("div");
    el.className = "gg-outbox";
    el.setAttribute("role", "status");
    document.body.appendChild(el);
    var render = function (n) {
      var offline = navigator.onLine === false;
      el.hidden = !n && !offline && !failed.length;
      el.dataset.pending = String(n);
      el.textContent = (offline ? s("outbox.offline") + " · " : "") + s("outbox.pending").replace("{n}", n) +
        (failed.length ? " · " + s("outbox.refused").replace("{n}", failed.length) : "");
    };
    gg.outbox.onChange(render);
    window.addEventListener("online", function () { render(load().length); });
    window.addEventListener("offline", function () { render(load().length); });
  };

  /* Installable page: register the service worker (served at /sw.js so its scope is the
   * site) and hand it what this page loaded before it was in control. */
  gg.installable = function (worker) {
    if (!("serviceWorker" in navigator) || !worker) return;
    navigator.serviceWorker.register(worker, { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var urls = [location.pathname].concat(performance.getEntriesByType("resource").map(function (r) { return r.name; }));
      if (registration.active) registration.active.postMessage({ type: "keep", urls: urls });
    }).catch(function () {});
  };
})();
