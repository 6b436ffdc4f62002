// offsync's service worker: the app opens with no network, and runs one version of its code until
// the user chooses to reload. (JavaScript only because the browser demands it here; the app itself
// is Python.)
//
// - One cache per build (`offsync-app-<build id>`, server/build.py) holds that build's pages,
//   styles, /pyscript.json, /build.json, the Python modules and the hashed models archive; the
//   pages run the "current" build, served from its cache online and offline alike.
// - A page that finds a newer build on the server (web/app/update_prompt.py) asks for it here
//   ("prepare"): it is downloaded into its own cache in the background, and the page offers a
//   reload. "activate" (the reload button) makes it current and drops the older caches. A
//   navigation with no tab open also takes a downloaded build: nothing runs the old one then.
// - /vendor/ (the runtime) never changes under one URL: one shared cache, cache first.
// - /bytecode.zip: the build's compiled modules once the page has kept them, else an empty zip.
// - Anything outside the build (the log-in pages...): network first, cached as a fallback.
// - /version.json and /offline-manifest.json (the server's build now): never cached.
// - /api/: never cached, the app syncs through it and handles its failures itself; left to the
//   network untouched, so the live-update stream (/api/changes/stream) is never held here.
const APP_PREFIX = "offsync-app-";
const RUNTIME = "offsync-runtime";
const PAGES = "offsync-pages";
const META = "offsync-meta";
const CURRENT_KEY = "/__offsync/current-build";
const COMPLETE_KEY = "/__offsync/complete";
// compiled modules the page keeps in its build's cache (web/app/bytecode_cache.py); until then
// an empty zip, as the server answers, without asking it
const BYTECODE = "/bytecode.zip";
const EMPTY_ZIP = new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

// what the server has now, always asked of it
const NETWORK_ONLY = ["/offline-manifest.json", "/version.json"];

let current = null; // the build the pages run (kept in META, read once)

async function currentBuild() {
  if (current === null) {
    const found = await (await caches.open(META)).match(CURRENT_KEY);
    current = found ? await found.text() : "";
  }
  return current;
}

async function isComplete(build) {
  if (!build || !(await caches.has(APP_PREFIX + build))) return false;
  return !!(await (await caches.open(APP_PREFIX + build)).match(COMPLETE_KEY));
}

async function makeCurrent(build) {
  if (!(await isComplete(build))) throw new Error(`build ${build} is not downloaded`);
  await (await caches.open(META)).put(CURRENT_KEY, new Response(build));
  current = build;
  for (const name of await caches.keys()) {
    if (name.startsWith(APP_PREFIX) && name !== APP_PREFIX + build) await caches.delete(name);
  }
}

// Download the server's build into its own cache (once); resolves to its id.
let preparing = null;
function prepare() {
  if (!preparing) preparing = download().finally(() => { preparing = null; });
  return preparing;
}

async function download() {
  const manifest = await (await fetch("/offline-manifest.json", { cache: "no-store" })).json();
  const build = manifest.build;
  if (await isComplete(build)) return build;
  const cache = await caches.open(APP_PREFIX + build);
  const runtime = await caches.open(RUNTIME);
  const own = [];
  for (const url of manifest.urls) {
    if (!url.startsWith("/vendor/")) own.push(new Request(url, { cache: "no-cache" }));
    else if (!(await runtime.match(url))) await runtime.add(url);
  }
  await cache.addAll(own);
  const stored = await (await cache.match("/build.json")).json();
  if (stored.build !== build) { // the server changed half-way: never mix two builds
    await caches.delete(APP_PREFIX + build);
    throw new Error(`the server changed from build ${build} to ${stored.build} during the download`);
  }
  await cache.put(COMPLETE_KEY, new Response("1"));
  return build;
}

// A downloaded build that is not current (the newest on the server when it was fetched).
async function waitingBuild() {
  const now = await currentBuild();
  for (const name of await caches.keys()) {
    if (name.startsWith(APP_PREFIX) && name !== APP_PREFIX + now) {
      const build = name.slice(APP_PREFIX.length);
      if (await isComplete(build)) return build;
    }
  }
  return "";
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const build = await prepare();
    // a worker replacing an older one keeps the build the open pages run
    if (!(await isComplete(await currentBuild()))) await makeCurrent(build);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const ours = [RUNTIME, PAGES, META, APP_PREFIX + (await currentBuild())];
    const waiting = await waitingBuild();
    if (waiting) ours.push(APP_PREFIX + waiting);
    for (const name of await caches.keys()) {
      if (!ours.includes(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  const message = event.data || {};
  const port = event.ports[0];
  const reply = (promise) => event.waitUntil(promise.then(
    (answer) => port && port.postMessage(answer),
    (error) => port && port.postMessage({ error: String(error) })));
  if (message.type === "prepare") {
    reply(prepare().then((build) => ({ ready: build })));
  } else if (message.type === "activate") {
    reply(makeCurrent(message.build).then(() => ({ current: message.build })));
  } else if (message.type === "status") {
    reply(Promise.all([currentBuild(), waitingBuild()])
      .then(([now, waiting]) => ({ current: now, waiting })));
  }
});

async function networkFirst(request) {
  const cache = await caches.open(PAGES);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await caches.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(RUNTIME);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function fromBuild(request) {
  if (request.mode === "navigate") {
    const waiting = await waitingBuild();
    if (waiting && (await self.clients.matchAll({ type: "window" })).length === 0) {
      await makeCurrent(waiting); // no tab runs the old build any more
    }
  }
  const build = await currentBuild();
  if (build) {
    const found = await (await caches.open(APP_PREFIX + build)).match(request, { ignoreSearch: true });
    if (found) return found;
  }
  if (new URL(request.url).pathname === BYTECODE) {
    return new Response(EMPTY_ZIP, { headers: { "Content-Type": "application/zip" } });
  }
  return networkFirst(request);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || NETWORK_ONLY.includes(url.pathname)) return;
  if (url.pathname.startsWith("/vendor/")) {
    event.respondWith(cacheFirst(event.request));
  } else {
    event.respondWith(fromBuild(event.request));
  }
});
