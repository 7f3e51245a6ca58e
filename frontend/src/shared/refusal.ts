import { formatDuration } from "./dates";

/** A typed refusal from a mutation's result union (any member with a message). */
export type Refusal = {
  __typename: string;
  code?: unknown; // an ErrorCode; unknown: callers narrow with `"code" in payload`
  message?: string | null;
  fieldErrors?: { message: string }[] | null;
  /** RateLimited: how long to wait. */
  retryAfterSeconds?: number | null;
};

/** What each error code means, in plain words: said when the server gave no message, or
 * one that reads like a developer's (an exception's text, a code, a stack). */
const PLAIN: Record<string, string> = {
  VALIDATION_ERROR: "Some details are not right: check them and try again.",
  INVALID_CREDENTIALS: "That email, phone, username or password is not right.",
  RATE_LIMITED: "Too many tries in a short time: wait a minute and try again.",
  NOT_AUTHENTICATED: "You are logged out: log in again to carry on.",
  INSUFFICIENT_FUNDS: "You don't have enough money for this.",
  LIMIT_EXCEEDED: "This is over your limit. See Limits & verification for what you can do.",
  NOT_FOUND: "We couldn't find that. Check who or what you typed.",
  IDEMPOTENCY_CONFLICT: "This was already sent with different details: start again.",
  WALLET_UNAVAILABLE: "This wallet can't do that right now.",
  FORBIDDEN: "You are not allowed to do that.",
  QUOTE_EXPIRED: "The rate we offered has expired: get a new one.",
  RATES_UNAVAILABLE: "Exchange rates are not available right now: try again in a moment.",
  STEP_UP_REQUIRED: "Confirm it's you to carry on.",
  PAYMENT_BLOCKED: "This payment can't be made. Contact support if you think it should.",
  BUDGET_WOULD_BE_EXCEEDED: "This would go over a budget you set.",
  SECOND_FACTOR_REQUIRED: "Set up a second factor (a PIN or an authenticator) first.",
  SANCTIONS_MATCH_OPEN: "This is on hold while we check some details. We'll be in touch.",
  STATEMENT_MISMATCH: "The statement doesn't match: try again later.",
  REFRESH_TOKEN_INVALID: "You are logged out: log in again to carry on.",
  REFRESH_TOKEN_REUSED: "You are logged out: log in again to carry on.",
  DEVICE_MISMATCH: "This device isn't the one you logged in on: log in again.",
  PREFERENCE_LOCKED: "This setting can't be changed.",
};

/** Text a person should not be shown: empty, a bare code, an exception or a stack. */
function technical(message: string): boolean {
  return (
    !message.trim() ||
    /^[A-Z][A-Z0-9_]+$/.test(message.trim()) ||
    /Traceback|Exception|Error:|\bat [\w.]+ \(|[{}<>]|\bNone\b|\bnull\b|undefined/.test(message) ||
    /^rate limit \S+ reached/.test(message)
  );
}

/** "Try again in 892s." → "Try again in 14 min 52 s." (a server's seconds, as people say them). */
function humanDurations(message: string): string {
  return message.replace(/\b(\d+) ?s\b(?=[\s.,;:)!]|$)/g, (_, n: string) => formatDuration(Number(n)));
}

/** The error code of a refusal, for code that acts on it (kept as the server sent it). */
export function refusalCode(payload: Refusal | null | undefined): string {
  return typeof payload?.code === "string" ? payload.code : "NETWORK";
}

/** What to tell the person: the field messages, else the server's plain message, else
 * what the error code means. */
export function refusalText(payload: Refusal | null | undefined): string {
  if (!payload) return "Network problem: try again.";
  const fields = payload.fieldErrors?.map((e) => e.message).filter((m) => !technical(m)).join(" ");
  if (fields) return fields;
  if (payload.message && !technical(payload.message)) return humanDurations(payload.message);
  if (refusalCode(payload) === "RATE_LIMITED" && payload.retryAfterSeconds) {
    return `Too many tries in a short time: try again in ${formatDuration(payload.retryAfterSeconds)}.`;
  }
  return PLAIN[refusalCode(payload)] || "That did not work: try again.";
}
