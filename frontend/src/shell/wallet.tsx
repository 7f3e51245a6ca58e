import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { useQuery, useSubscription } from "urql";

import {
  BalanceChangedDocument,
  MyMerchantsDocument,
  OperatorRoleDocument,
  TransactionUpdatedDocument,
  WalletBalancesDocument,
  type BalanceChangedSubscription,
  type MyMerchantsQuery,
} from "../gql/graphql";
import { lastBalances, saveBalances } from "../notifications/offline";
import { RECONNECTED } from "../shared/client";

export type Balance = BalanceChangedSubscription["balanceChanged"];
export type Shop = NonNullable<MyMerchantsQuery["myMerchants"]>[number];

/** What every consumer screen shares: the balances as they are now (live), a counter that
 * ticks whenever money moved (panels refetch on it), and who the viewer is. */
export type Wallet = {
  username: string;
  balances: Balance[];
  loadError: boolean;
  /** The balances are the last this device saw (the API is unreachable): when that was. */
  offlineAsOf: string | null;
  live: boolean;
  flash: string | null;
  status: string | null;
  changes: number;
  /** Something moved money: panels that show it look again. */
  bump: () => void;
  /** Forget live updates and read the balances again. */
  refreshBalances: () => void;
  shop: Shop | null;
  operatorRole: string | null;
  onLoggedOut: () => void;
};

const WalletContext = createContext<Wallet | null>(null);

export function useWallet(): Wallet {
  const wallet = useContext(WalletContext);
  if (!wallet) throw new Error("useWallet outside a WalletProvider");
  return wallet;
}

/** Holds the balance subscription for the whole session (not per screen), so moving
 * between screens neither drops live updates nor refetches what is already known. */
export function WalletProvider({ username, onLoggedOut, children }: {
  username: string; onLoggedOut: () => void; children: ReactNode;
}) {
  const [{ data, error }, reloadWallet] = useQuery({ query: WalletBalancesDocument, requestPolicy: "network-only" });
  const [live] = useSubscription({ query: BalanceChangedDocument });
  const [transactionUpdates] = useSubscription({ query: TransactionUpdatedDocument });
  const [{ data: merchantData }] = useQuery({ query: MyMerchantsDocument });
  const [{ data: operatorData }] = useQuery({ query: OperatorRoleDocument });
  const [updates, setUpdates] = useState<Record<string, Balance>>({});
  const [flash, setFlash] = useState<string | null>(null);
  const [changes, setChanges] = useState(0);

  // A transaction changed status somewhere (a top-up settled, a payout failed...).
  useEffect(() => {
    if (transactionUpdates.data) setChanges((n) => n + 1);
  }, [transactionUpdates.data]);

  function refreshBalances() {
    setUpdates({});
    reloadWallet({ requestPolicy: "network-only" });
    setChanges((n) => n + 1);
  }

  // Back from a dropped connection: refetch (the subscription also starts again with
  // each balance as it is now).
  useEffect(() => {
    const refetch = () => refreshBalances();
    window.addEventListener(RECONNECTED, refetch);
    return () => window.removeEventListener(RECONNECTED, refetch);
  });

  useEffect(() => {
    const changed = live.data?.balanceChanged;
    if (!changed) return;
    const shown = updates[changed.currency] ?? data?.wallet?.balances.find((b) => b.currency === changed.currency);
    setUpdates((u) => ({ ...u, [changed.currency]: changed }));
    // The subscription's first events are the balances as they are: no news to flash.
    if (shown && shown.available === changed.available && shown.posted === changed.posted) return;
    setFlash(changed.currency);
    setChanges((n) => n + 1);
    const timer = setTimeout(() => setFlash(null), 1500);
    return () => clearTimeout(timer);
  }, [live.data]);

  let balances: Balance[] = (data?.wallet?.balances ?? []).map((b) => updates[b.currency] ?? b);
  for (const [currency, b] of Object.entries(updates)) {
    if (!balances.some((x) => x.currency === currency)) balances.push(b);
  }
  // Kept on this device for when the API cannot be reached (offline).
  const known = data?.wallet ? JSON.stringify(balances) : null;
  useEffect(() => {
    if (known) saveBalances(username, JSON.parse(known) as Balance[]);
  }, [known, username]);
  let offlineAsOf: string | null = null;
  if (!data?.wallet && error?.networkError) {
    const snapshot = lastBalances(username);
    if (snapshot) {
      balances = snapshot.balances.map((b) => ({ __typename: "CurrencyBalance", ...b }) as Balance);
      offlineAsOf = snapshot.at;
    }
  }

  const wallet: Wallet = {
    username,
    balances,
    loadError: Boolean(error) && !offlineAsOf,
    offlineAsOf,
    live: !live.error && !offlineAsOf,
    flash,
    status: data?.wallet?.status ?? null,
    changes,
    bump: () => setChanges((n) => n + 1),
    refreshBalances,
    shop: merchantData?.myMerchants?.[0] ?? null,
    operatorRole: operatorData?.operatorRole ?? null,
    onLoggedOut,
  };
  return <WalletContext.Provider value={wallet}>{children}</WalletContext.Provider>;
}

/** A zero amount as the API writes it ("0.00", "0"). */
export function isZero(amount: string): boolean {
  return /^-?0(\.0+)?$/.test(amount);
}
