import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange, type OperationResult } from "urql";

import { RECONNECTED, type ApiClient } from "../shared/client";

/** Fired on `window` when an answer says the session is over (revoked, expired, logged
 * out elsewhere): the app shows the login screen where the user was. */
export const SESSION_EXPIRED = "wallet:session-expired";
/** Fired when the GraphQL endpoint could not be reached (offline, server down). */
export const API_UNREACHABLE = "wallet:api-unreachable";

/** True when a result is the API saying "not logged in": a union member
 * `NotAuthenticated` (anywhere in the data) or an error with that code. */
export function saysNotAuthenticated(result: OperationResult): boolean {
  if (result.error?.graphQLErrors.some((e) => e.extensions?.code === "NOT_AUTHENTICATED")) return true;
  return containsNotAuthenticated(result.data, 0);
}

function containsNotAuthenticated(value: unknown, depth: number): boolean {
  if (depth > 4 || value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some((v) => containsNotAuthenticated(v, depth + 1));
  const record = value as Record<string, unknown>;
  if (record.__typename === "NotAuthenticated") return true;
  return Object.values(record).some((v) => containsNotAuthenticated(v, depth + 1));
}

/**
 * The session's GraphQL client (as shared/client's createApiClient: POST with the
 * cookie, subscriptions over graphql-transport-ws) with one more exchange that watches
 * every answer for NOT_AUTHENTICATED and for an unreachable API.
 */
export function createSessionClient(): ApiClient {
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  const ws: WsClient = createWsClient({
    url: wsUrl,
    lazy: true,
    retryAttempts: 30,
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
      mapExchange({
        onResult(result) {
          if (saysNotAuthenticated(result)) window.dispatchEvent(new Event(SESSION_EXPIRED));
          else if (result.error?.networkError) window.dispatchEvent(new Event(API_UNREACHABLE));
        },
      }),
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
