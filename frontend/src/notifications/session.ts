import { mapExchange, type OperationResult } from "urql";

import { createApiClient, type ApiClient } from "../shared/client";

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
 * The session's GraphQL client (shared/client's, POST with the cookie and
 * subscriptions over graphql-transport-ws) watching every answer for NOT_AUTHENTICATED
 * and for an unreachable API.
 */
export function createSessionClient(): ApiClient {
  return createApiClient([
    mapExchange({
      onResult(result) {
        if (saysNotAuthenticated(result)) window.dispatchEvent(new Event(SESSION_EXPIRED));
        else if (result.error?.networkError) window.dispatchEvent(new Event(API_UNREACHABLE));
      },
    }),
  ]);
}
