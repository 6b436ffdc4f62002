// offsync's service worker: the app opens with no network. (JavaScript only because the browser
// demands it here; the app itself is Python.)
//
// - install: precache what /offline-manifest.json lists (pages, styles, the local Pyodide and
//   PyScript files, the hashed models archive, the pages' Python modules);
// - pages, /pyscript.json and the Python modules: network first, cache as fallback, so new server
//   code reaches the page on the next online load;
// - /vendor/ and /pkg/models-<hash>.zip never change under one URL: cache first;
// - /api/: never cached, the app syncs through it and handles its failures itself; left to the
//   network untouched, so the live-update stream (/api/changes/stream) is never held here.
const CACHE = "offsync-shell-v1";

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const manifest = await (await fetch("/offline-manifest.json", { cache: "no-store" })).json();
    await cache.addAll(manifest.urls);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/offline-manifest.json") return;
  if (url.pathname.startsWith("/vendor/") || url.pathname.startsWith("/pkg/models-")) {
    event.respondWith(cacheFirst(event.request));
  } else {
    event.respondWith(networkFirst(event.request));
  }
});
