// The partner scanner's service worker (scope /partner/, served from /partner/sw.js):
// keeps the scanner page and the files it runs on, so a desk with no connection can
// still open the page and check cards with the offline verifier.
//
// - The page (/partner/) is network-first: online, the server decides (a logged-out
//   session is redirected to the login, and the cached copy is dropped); offline, the
//   last good copy is shown.
// - The listed static files are cache-first, refreshed in the background, so a new
//   release is picked up on the following load.
// - Nothing else is touched: card checks (/partner/verify), redemptions and every
//   /api/ answer carry personal data and always go to the network, never to a cache.

const CACHE = "idsvc-partner-v1";
const PAGE = "/partner/";
const ASSETS = [
  "/static/js/scanner.js",
  "/static/js/partner-offline.js",
  "/static/vendor/jsqr/jsQR.js",
  "/static/css/site.css",
  "/static/css/partner.css",
  "/static/favicon.svg",
  "/static/js/offline/verify.js",
  "/static/js/offline/cbor.js",
  "/static/js/offline/base45.js",
  "/static/js/offline/statuslist.js",
  "/static/js/offline/store.js",
];
const CACHED = new Set(ASSETS);

// Only a page the server really served: never a redirect to the login, never an error.
const cacheable = (response) => response.ok && !response.redirected && response.type === "basic";

async function keep(cache, url) {
  try {
    const response = await fetch(url, { cache: "no-cache" });
    if (cacheable(response)) await cache.put(url, response);
  } catch {
    // offline during install: the next online visit fills the cache
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await Promise.all([PAGE, ...ASSETS].map((url) => keep(cache, url)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith("idsvc-partner-") && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

async function page(request) {
  const cache = await caches.open(CACHE);
  let response;
  try {
    response = await fetch(request);
  } catch {
    return (await cache.match(PAGE)) || Response.error();
  }
  if (cacheable(response)) {
    await cache.put(PAGE, response.clone());
  } else if (response.type === "opaqueredirect" || response.redirected
             || response.status === 401 || response.status === 403) {
    await cache.delete(PAGE); // the session ended: the scanner is not for this device now
  }
  return response;
}

async function asset(request, event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request.url);
  const refresh = fetch(request).then(async (response) => {
    if (cacheable(response)) await cache.put(request.url, response.clone());
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  return refresh;
}

const LOGIN = "/partner/login";

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === LOGIN && request.mode === "navigate") {
    // Logged out, or the session ended: the scanner page kept for offline use (with the
    // desk's name and the form token) is dropped before anyone else uses this device.
    event.waitUntil(caches.open(CACHE).then((cache) => cache.delete(PAGE)));
    return;
  }
  if (url.search) return;
  if (url.pathname === PAGE && request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (CACHED.has(url.pathname)) {
    event.respondWith(asset(request, event));
  }
});
