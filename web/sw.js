// The page's service worker: every file of the page (HTML, bundles, styles) is fetched from the
// server when it answers, and kept; when it does not (offline, the server stopped), the kept copy
// is served, so a page loaded once opens again without the server. The data sets are left to the
// page's own cache (web/ui/fetch_cached.ts), which keeps them once and never refetches.
const CACHE = "ssl-webgpu-page-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/data/")) {
    return;
  }
  event.respondWith(networkThenCache(event.request));
});

async function networkThenCache(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (e) {
    const kept = await cache.match(request);
    if (kept) return kept;
    throw e;
  }
}
