import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";

export interface ApiClient {
  urql: Client;
  dispose: () => void;
}

/**
 * One GraphQL client per session: queries and mutations over POST with the session
 * cookie, subscriptions over graphql-transport-ws on the same origin (the browser sends
 * the cookie with the handshake). Re-created on log in / log out.
 */
export function createApiClient(): ApiClient {
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  const ws: WsClient = createWsClient({ url: wsUrl, lazy: true, retryAttempts: 30 });
  const urql = new Client({
    url: "/graphql",
    fetchOptions: { credentials: "same-origin" },
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
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
