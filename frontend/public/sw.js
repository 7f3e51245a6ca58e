/* The wallet's service worker: an offline shell (the app's page and built assets, from
 * the cache when the network is not there) and web push (show, and open on a tap).
 * Never caches the API: /graphql and downloads always go to the network. */
const SHELL_CACHE = "wallet-shell-v1";
const SHELL_URL = "/";
const STATIC = /^\/(assets\/|icons\/|favicon\.(svg|ico)$|manifest\.webmanifest$)/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      // The page, and what it loads (scripts, styles), as built now.
      const response = await fetch(SHELL_URL, { cache: "no-store" });
      if (response.ok) {
        const html = await response.clone().text();
        await cache.put(SHELL_URL, response);
        const assets = [...html.matchAll(/(?:src|href)="(\/(?:assets|icons)\/[^"]+|\/favicon\.[a-z]+|\/manifest\.webmanifest)"/g)]
          .map((m) => m[1]);
        await Promise.all(assets.map((url) => cache.add(url).catch(() => undefined)));
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== SHELL_CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    // Network first (a new release shows at once); the last page kept when offline.
    event.respondWith(
      (async () => {
        try {
          const response = await fetch(request);
          const type = response.headers.get("content-type") || "";
          if (response.ok && type.startsWith("text/html")) {
            const cache = await caches.open(SHELL_CACHE);
            await cache.put(SHELL_URL, response.clone());
          }
          return response;
        } catch (error) {
          const cached = await caches.match(SHELL_URL);
          if (cached) return cached;
          throw error;
        }
      })(),
    );
    return;
  }

  if (STATIC.test(url.pathname)) {
    // Built assets are named by their content: the cached copy is the right one.
    event.respondWith(
      (async () => {
        const cached = await caches.match(request);
        if (cached) return cached;
        const response = await fetch(request);
        if (response.ok) {
          const cache = await caches.open(SHELL_CACHE);
          await cache.put(request, response.clone());
        }
        return response;
      })(),
    );
  }
});

self.addEventListener("push", (event) => {
  let content = {};
  try {
    content = event.data ? event.data.json() : {};
  } catch {
    content = { body: event.data ? event.data.text() : "" };
  }
  const title = content.title || "Wallet";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: content.body || "",
      icon: "/icons/icon-192.png",
      badge: "/icons/maskable-192.png",
      tag: content.tag,
      data: { url: content.url || "/notifications" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (new URL(client.url).origin !== target.origin) continue;
        await client.focus();
        if ("navigate" in client) {
          try {
            await client.navigate(target.href);
          } catch {
            client.postMessage({ type: "open", url: target.pathname + target.search });
          }
        }
        return;
      }
      await self.clients.openWindow(target.href);
    })(),
  );
});
