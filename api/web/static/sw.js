// Closeloop's service worker (served as /sw.js, scope /): the grid worker's app shell opens
// without a network. Network first, the kept copy when there is none: online the pages are
// always fresh (and each visit refreshes the copy); offline the last copy is shown. Only the
// shell is touched; every other request goes to the network as if there were no worker.
"use strict";

var CACHE = "closeloop-shell-v1";
var PAGES = ["/report/new", "/my"];
var FILES = [
  "/static/app.css",
  "/static/app.js",
  "/static/offline.js",
  "/manifest.webmanifest",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png"
];
var SHELL = PAGES.concat(FILES);

// Installing keeps the static files only. The pages are the signed-in user's: they are kept when
// visited and when a page asks ("warm", below), never fetched by the worker on its own while a
// session may be changing (a fetch sent with a session the user just replaced, by changing the
// password, comes back with the cookie cleared and would sign the user out).
self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(FILES.map(function (path) {
      return fetch(path, { credentials: "same-origin" }).then(function (r) {
        return keep(cache, path, r);
      }).catch(function () { /* fetched again on the next visit */ });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("closeloop-") === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// A page is kept only when it is the page itself (not the login page it redirected to).
function keep(cache, path, response) {
  if (response && response.ok && !response.redirected && response.type === "basic") {
    return cache.put(path, response);
  }
  return null;
}

// Someone else may sign in on this phone: their pages must not show the previous user's.
function forgetPages() {
  return caches.open(CACHE).then(function (cache) {
    return Promise.all(PAGES.map(function (p) { return cache.delete(p); }));
  });
}

// A page asks, once it has loaded online: what the shell lacks (the pages were forgotten at the
// last login, or never fetched) is fetched now, so that the filing page opens offline even when
// the worker went from the login straight to their home.
self.addEventListener("message", function (event) {
  if (event.data !== "warm") { return; }
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (path) {
      return cache.match(path).then(function (hit) {
        if (hit) { return null; }
        return fetch(path, { credentials: "same-origin" }).then(function (r) {
          return keep(cache, path, r);
        }).catch(function () { return null; });
      });
    }));
  }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === "/logout" || url.pathname === "/login") {
    event.waitUntil(forgetPages());
    return;
  }
  if (request.method !== "GET" || SHELL.indexOf(url.pathname) < 0) { return; }
  // /report/new?enterprise_code=… is fresh online; offline it falls back to the plain form.
  var exact = url.search === "";
  event.respondWith(fetch(request).then(function (response) {
    if (exact) {
      var copy = response.clone();
      event.waitUntil(caches.open(CACHE).then(function (c) { return keep(c, url.pathname, copy); }));
    }
    return response;
  }).catch(function () {
    return caches.match(url.pathname, { cacheName: CACHE }).then(function (hit) {
      return hit || Response.error();
    });
  }));
});
