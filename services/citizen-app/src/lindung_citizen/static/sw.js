// The service worker: the app shell is cached so the app opens and scans with no network;
// /api calls always go to the network (personal data is never cached here).
const VERSION = "lindung-shell-v2";
const SHELL = [
  "/", "/index.html", "/styles.css", "/app.js", "/api.js", "/dom.js", "/i18n.js",
  "/scanner.js", "/store.js", "/vendor/jsQR.js", "/manifest.webmanifest",
  "/icons/icon-192.png", "/icons/icon-512.png", "/icons/maskable-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== VERSION) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/readyz" || url.pathname === "/healthz" || url.pathname === "/metrics") return;
  if (request.mode === "navigate") {
    // Network first for the page itself (a new version shows at once), the cached shell offline.
    event.respondWith(fetch(request).catch(() => caches.match("/index.html")));
    return;
  }
  // Stale-while-revalidate for the shell's files.
  event.respondWith((async () => {
    const cache = await caches.open(VERSION);
    const cached = await cache.match(request);
    const fresh = fetch(request).then((response) => {
      if (response.ok) cache.put(request, response.clone());
      return response;
    }).catch(() => cached);
    return cached || fresh;
  })());
});

// Web Push: the notifier's push gateway sends {title, body}; show it and open the inbox.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = { title: "Lindung", body: event.data?.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Lindung", {
    body: data.body || "", icon: "/icons/icon-192.png", badge: "/icons/icon-192.png", data: { url: "/#/inbox" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window" });
    for (const client of windows) {
      if ("focus" in client) { client.navigate("/#/inbox"); return client.focus(); }
    }
    return self.clients.openWindow("/#/inbox");
  })());
});
