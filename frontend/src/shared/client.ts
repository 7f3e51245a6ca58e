import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, subscriptionExchange, type Exchange } from "urql";

/** Fired on `window` when the live connection comes back after a drop: what changed
 * meanwhile was not pushed, so screens refetch what they show. */
export const RECONNECTED = "wallet:reconnected";

export interface ApiClient {
  urql: Client;
  dispose: () => void;
}

/**
 * One GraphQL client per session: queries and mutations over POST with the session
 * cookie, subscriptions over graphql-transport-ws on the same origin (the browser sends
 * the cookie with the handshake). Re-created on log in / log out. `watchers` see every
 * answer before the screens do (the session's, for NOT_AUTHENTICATED).
 */
export function createApiClient(watchers: Exchange[] = []): ApiClient {
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  const ws: WsClient = createWsClient({
    url: wsUrl,
    lazy: true,
    retryAttempts: 30,
    // A server that is restarting refuses the connection (an error, not a close): try
    // again all the same, waiting 1, 2, 4, 8 then 10 s (plus up to 1 s of jitter).
    shouldRetry: () => true,
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** retries, 10_000) + Math.random() * 1000)),
    on: {
      connected: (_socket, _payload, wasRetry) => {
        if (wasRetry) window.dispatchEvent(new Event(RECONNECTED));
      },
    },
  });
  const urql = new Client({
    url: "/graphql",
    fetchOptions: { credentials: "same-origin" },
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      ...watchers,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { urql, dispose: () => void ws.dispose() };
}
