/* gridgov's service worker (docs/field-work.md, "Offline"): the grid worker's phone pages
 * (/field, /grid/{code}) open without a network on what was last loaded.
 *
 * - Pages: network first; a copy of the last good answer is kept and served when offline.
 * - Our static files (versioned by content, ?v=...) and the vendored ones: cache first.
 * - API reads of the pages: network first, the last copy offline — except reads that state a
 *   purpose (unmasked personal data is never kept on the phone).
 * - Writes are never touched here: the page's outbox (outbox.js) queues them with their
 *   Idempotency-Key and sends them when the network is back.
 * The cache name carries the version the server hands over in the script URL (?v=...). */
"use strict";
var VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
var CACHE = "gridgov-shell-" + VERSION;
var PAGES = /^\/(field|grid\/[0-9]{15})$/;

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("gridgov-shell-") === 0 && n !== CACHE; })
        .map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keep(request, response) {
  if (response && response.ok && response.type === "basic") {
    var copy = response.clone();
    caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
  }
  return response;
}

function networkFirst(request) {
  return fetch(request).then(function (response) { return keep(request, response); }, function (error) {
    return caches.match(request, { ignoreVary: true }).then(function (hit) { if (hit) return hit; throw error; });
  });
}

function cacheFirst(request) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request).then(function (response) { return keep(request, response); });
  });
}

function cacheable(url) {
  if (url.origin !== self.location.origin) return null;
  if (url.pathname.indexOf("/static/") === 0) return cacheFirst;
  if (PAGES.test(url.pathname)) return networkFirst;
  if (url.pathname.indexOf("/api/v1/") === 0 && !url.searchParams.has("purpose") &&
      url.pathname.indexOf("/api/v1/auth/") !== 0) return networkFirst;
  return null;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var strategy = cacheable(new URL(request.url));
  if (strategy) event.respondWith(strategy(request));
});

// The page names what it loaded before this worker controlled it (the first visit): keep those.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "keep" && Array.isArray(data.urls)) {
    event.waitUntil(caches.open(CACHE).then(function (cache) {
      return Promise.all(data.urls.filter(function (u) { return cacheable(new URL(u, self.location.href)); })
        .map(function (u) { return cache.add(u).catch(function () {}); }));
    }));
  }
  if (data.type === "forget") event.waitUntil(caches.delete(CACHE));
});
