// The last balances this device saw, kept so that an offline app (or an unreachable
// API) still shows them, marked as of when they were seen.

const KEY = "wallet:last-balances";

export type StoredBalance = { currency: string; available: string; posted: string; pending: string; reserved: string };
export type Snapshot = { username: string; at: string; balances: StoredBalance[] };

export function saveBalances(username: string, balances: StoredBalance[]): void {
  if (balances.length === 0) return;
  const snapshot: Snapshot = {
    username,
    at: new Date().toISOString(),
    balances: balances.map(({ currency, available, posted, pending, reserved }) =>
      ({ currency, available, posted, pending, reserved })),
  };
  try {
    localStorage.setItem(KEY, JSON.stringify(snapshot));
  } catch {
    // Storage full or refused (private mode): the offline view just has nothing to show.
  }
}

export function lastBalances(username?: string): Snapshot | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const snapshot = JSON.parse(raw) as Snapshot;
    if (!Array.isArray(snapshot.balances) || !snapshot.at) return null;
    if (username && snapshot.username !== username) return null;
    return snapshot;
  } catch {
    return null;
  }
}

/** Logging out forgets them: the next person on this device does not see them. */
export function forgetBalances(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing kept
  }
}
