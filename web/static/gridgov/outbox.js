/* The phone's outbox (docs/field-work.md, "Offline"): every write of the field pages goes
 * through it. A write is stored first (localStorage, per account, survives a reload or a
 * closed tab), then sent in order with its Idempotency-Key; what cannot be sent now (no
 * network, server unavailable, signed out) stays queued and is sent again when the browser is
 * back online, on the next page load, or every half minute. The server makes a repeat harmless
 * (the key is the record's client id), so nothing is lost or stored twice. Consecutive track
 * points of one patrol go out as one batch. The worker sees what is waiting (.gg-outbox).
 *
 * Writes made offline may name records that do not exist yet: a patrol started offline, a
 * photo taken offline. Such a record is queued with the phone's own key ("remember"); later
 * writes name it as "{ref:KEY}" in their URL or body, and once the server has answered the
 * record's id, the outbox puts it in their place before sending them. A photo's bytes wait in
 * IndexedDB (localStorage is too small for photos) until its upload is sent. */
(function () {
  "use strict";
  var gg = (window.gridgov = window.gridgov || {});
  var RETRY_MS = 30000, MAX_BATCH = 500;
  var storageKey = null, waiters = {}, flushing = null, listeners = [], failed = [];
  var REF = /\{ref:([^}]+)\}/g, KEEP_IDS = 500;

  // The server's ids of records queued under the phone's own keys (per account).
  function ids() { try { return JSON.parse(localStorage.getItem(storageKey + ".ids") || "{}"); } catch (e) { return {}; } }
  function rememberId(key, id) {
    var known = ids(), keys = Object.keys(known);
    known[key] = id;
    if (keys.length >= KEEP_IDS) delete known[keys[0]];
    localStorage.setItem(storageKey + ".ids", JSON.stringify(known));
  }
  // Replace "{ref:KEY}" by the server's id: a whole string becomes the id (a number in a body),
  // inside a URL the id's text. Throws the key still unknown.
  function resolve(value, known) {
    if (typeof value === "string") {
      var whole = /^\{ref:([^}]+)\}$/.exec(value);
      if (whole) { if (!(whole[1] in known)) throw whole[1]; return known[whole[1]]; }
      return value.replace(REF, function (_, k) { if (!(k in known)) throw k; return String(known[k]); });
    }
    if (Array.isArray(value)) return value.map(function (v) { return resolve(v, known); });
    if (value && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (k) { out[k] = resolve(value[k], known); });
      return out;
    }
    return value;
  }

  /* Photos' bytes while their upload waits: IndexedDB, one object store keyed by the key. */
  var db = null;
  function blobs() {
    if (db) return db;
    db = new Promise(function (ok, fail) {
      var open = indexedDB.open("gridgov-outbox", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("blobs"); };
      open.onsuccess = function () { ok(open.result); };
      open.onerror = function () { db = null; fail(open.error); };
    });
    return db;
  }
  function blobOp(mode, op) {
    return blobs().then(function (d) {
      return new Promise(function (ok, fail) {
        var tx = d.transaction("blobs", mode), req = op(tx.objectStore("blobs"));
        tx.oncomplete = function () { ok(req.result); };
        tx.onerror = tx.onabort = function () { fail(tx.error); };
      });
    });
  }
  gg.blobStore = {
    put: function (key, blob) { return blobOp("readwrite", function (st) { return st.put(blob, key); }); },
    get: function (key) { return blobOp("readonly", function (st) { return st.get(key); }); },
    remove: function (key) { return blobOp("readwrite", function (st) { return st.delete(key); }); },
  };

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
    var url, keys = taken.map(function (e) { return e.key; });
    try { url = resolve(head.url, ids()); body = resolve(body, ids()); } catch (missing) {
      // It names a record whose own write was refused: it cannot be sent either.
      failed.push({ label: head.label, status: 0, detail: "" });
      save(load().filter(function (e) { return keys.indexOf(e.key) < 0; }));
      var lost = new Error(String(missing)); lost.status = 0;
      settle(keys, false, lost);
      return Promise.resolve(true);
    }
    var known = ids();
    if (head.upload && head.key in known) {
      // Already stored (its id came back): its bytes are gone from the phone, nothing to send.
      save(load().filter(function (e) { return keys.indexOf(e.key) < 0; }));
      settle(keys, true, { id: known[head.key] });
      return Promise.resolve(true);
    }
    var headers = { Accept: "application/json", "Idempotency-Key": head.key };
    var payload = head.upload ? gg.blobStore.get(head.upload).then(function (blob) {
      if (!blob) throw new Error("photo gone");
      var form = new FormData();
      form.append("file", blob, blob.name || "photo.jpg");
      return form;
    }) : Promise.resolve(body === undefined ? undefined : JSON.stringify(body));
    if (!head.upload && body !== undefined) headers["Content-Type"] = "application/json";
    return payload.then(function (sent) {
      return fetch(url, { method: head.method, credentials: "same-origin", headers: headers, body: sent });
    }, function () { return new Response(JSON.stringify({ detail: "photo gone" }), { status: 410 }); })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (json) {
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
            if (head.remember && json && json.id !== undefined) rememberId(head.key, json.id);
            save(left);
            settle(keys, true, json);
          }
          if (head.upload) gg.blobStore.remove(head.upload).catch(function () {});
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
        label: options.label || url, batch: options.batch || null, at: new Date().toISOString(),
        remember: !!options.remember, upload: options.upload || null };
      var entries = load();
      entries.push(entry);
      save(entries);
      var promise = new Promise(function (resolve, reject) { waiters[entry.key] = { resolve: resolve, reject: reject }; });
      flush();
      return promise;
    },
    flush: flush,
    /* Queue a photo (a File or Blob): its bytes wait in IndexedDB; the upload is sent with
     * ``key`` as its Idempotency-Key. Resolves once queued with { sent: the promise of the
     * stored photo }; name it in a later write as gg.outbox.ref(key). */
    upload: function (key, blob, label) {
      return gg.blobStore.put(key, blob).then(function () {
        return { sent: gg.outbox.send("POST", "/api/v1/media", undefined, { key: key, upload: key, remember: true, label: label }) };
      });
    },
    ref: function (key) { return "{ref:" + key + "}"; },
    /* The server's id of a record queued under ``key``, once known. */
    idOf: function (key) { return ids()[key]; },
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
