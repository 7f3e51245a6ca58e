import { lazy, Suspense, useEffect, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";

import { ActivityList } from "./ActivityList";
import { RECONNECTED } from "./client";
import { ConvertForm } from "./ConvertForm";
import { RewardsPanel } from "./RewardsPanel";
import { SavingsGoals } from "./SavingsGoals";
import { SecurityPanel } from "./SecurityPanel";
import { SplitGroups } from "./SplitGroups";
import { BillsPanel } from "./Bills";
import { MerchantDisputes } from "./Disputes";

import { MerchantDashboard } from "./MerchantDashboard";
import { OpenShop } from "./MerchantOnboarding";
import { FundingForm } from "./FundingForms";

import { formatMoney } from "./money";
import { NotificationsPanel } from "./NotificationsPanel";
import { PayMerchant } from "./PayMerchant";
import { PointOfSale } from "./PointOfSale";
import { RequestMoneyForm, RequestsPanel } from "./RequestsPanel";
import { SendMoneyForm } from "./SendMoneyForm";
import {
  BalanceChangedDocument,
  CloseCurrencyBalanceDocument,
  CurrenciesDocument,
  LogOutDocument,
  OpenCurrencyBalanceDocument,
  OperatorRoleDocument,
  MyMerchantsDocument,
  TransactionUpdatedDocument,
  WalletBalancesDocument,
  type BalanceChangedSubscription,
} from "./gql/graphql";

// Charts are big: load them when the Budget tab is opened.
const Insights = lazy(() => import("./Insights"));
// Everyone loads verification when they open it.
const VerificationPanel = lazy(() =>
  import("./Verification").then((m) => ({ default: m.VerificationPanel })));

const ACTIONS = [
  ["send", "Send"],
  ["pay", "Pay"],
  ["convert", "Convert"],
  ["split", "Split"],
  ["request", "Request"],
  ["bills", "Bills"],
  ["add", "Add"],
  ["withdraw", "Withdraw"],
  ["budget", "Budget"],
  ["goals", "Goals"],
  ["rewards", "Rewards"],
  ["security", "Security"],
  ["limits", "Limits"],
] as const;

/** A payment link (`/?pay=R42`, also what the NFC record carries) opens the Pay tab. */
const payReference = new URLSearchParams(window.location.search).get("pay");
type Action = (typeof ACTIONS)[number][0];

type Balance = BalanceChangedSubscription["balanceChanged"];

export function WalletScreen({ username, onLoggedOut }: { username: string; onLoggedOut: () => void }) {
  const [{ data, error }, reloadWallet] = useQuery({ query: WalletBalancesDocument, requestPolicy: "network-only" });
  const [{ data: currencyData }] = useQuery({ query: CurrenciesDocument });
  const [, openBalance] = useMutation(OpenCurrencyBalanceDocument);
  const [, closeBalance] = useMutation(CloseCurrencyBalanceDocument);
  const [balanceError, setBalanceError] = useState<string | null>(null);
  const [live] = useSubscription({ query: BalanceChangedDocument });
  const [updates, setUpdates] = useState<Record<string, Balance>>({});
  const [flash, setFlash] = useState<string | null>(null);
  const [changes, setChanges] = useState(0);
  const [, logOut] = useMutation(LogOutDocument);
  const [action, setAction] = useState<Action>(payReference ? "pay" : "send");
  const [{ data: merchantData }, reloadMerchants] = useQuery({ query: MyMerchantsDocument });
  const [{ data: operatorData }] = useQuery({ query: OperatorRoleDocument });
  const operatorRole = operatorData?.operatorRole ?? null;
  const shop = merchantData?.myMerchants?.[0];
  const [transactionUpdates] = useSubscription({ query: TransactionUpdatedDocument });

  // A transaction changed status somewhere (a top-up settled, a payout failed...).
  useEffect(() => {
    if (transactionUpdates.data) setChanges((n) => n + 1);
  }, [transactionUpdates.data]);

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

  const balances: Balance[] = (data?.wallet?.balances ?? []).map((b) => updates[b.currency] ?? b);
  for (const [currency, b] of Object.entries(updates)) {
    if (!balances.some((x) => x.currency === currency)) balances.push(b);
  }

  function refreshBalances() {
    setUpdates({});
    reloadWallet({ requestPolicy: "network-only" });
    setChanges((n) => n + 1);
  }

  async function changeBalance(kind: "open" | "close", currency: string) {
    setBalanceError(null);
    const payload = kind === "open"
      ? (await openBalance({ currency })).data?.openCurrencyBalance
      : (await closeBalance({ currency })).data?.closeCurrencyBalance;
    if (!payload) setBalanceError("Network problem: try again.");
    else if (payload.__typename !== "CurrencyBalancePayload") {
      setBalanceError("message" in payload ? payload.message : "That did not work");
    }
    refreshBalances();
  }

  const unopened = (currencyData?.currencies ?? []).map((c) => c.code)
    .filter((code) => !balances.some((b) => b.currency === code));

  async function handleLogOut() {
    await logOut({});
    onLoggedOut();
  }

  return (
    <section aria-labelledby="wallet-title">
      <h1 id="wallet-title" className="greeting">
        Hi, {username}
      </h1>
      {error && (
        <p className="error" role="alert">
          Your balances could not be loaded.
        </p>
      )}
      <div className="balances">
        {balances.map((b) => (
          <article key={b.currency} className={`card balance${flash === b.currency ? " flash" : ""}`}
                   data-testid={`balance-${b.currency}`}>
            <header>
              <span className="currency">{b.currency}</span>
              <span className={`live ${live.error ? "off" : "on"}`}
                    title={live.error ? "Live updates paused" : "Live"}>
                {live.error ? "offline" : "● live"}
              </span>
            </header>
            <p className="amount" aria-label="Available balance" data-testid="available">
              {formatMoney(b.available, b.currency)}
            </p>
            <dl className="details">
              <div>
                <dt>Settled</dt>
                <dd>{formatMoney(b.posted, b.currency)}</dd>
              </div>
              <div>
                <dt>Incoming</dt>
                <dd>{formatMoney(b.pending, b.currency)}</dd>
              </div>
              <div>
                <dt>On hold</dt>
                <dd>{formatMoney(b.reserved, b.currency)}</dd>
              </div>
            </dl>
            {balances.length > 1 && /^0(\.0+)?$/.test(b.posted) && /^0(\.0+)?$/.test(b.pending) &&
              /^0(\.0+)?$/.test(b.reserved) && (
              <button className="link" onClick={() => changeBalance("close", b.currency)}>
                Close {b.currency} balance
              </button>
            )}
          </article>
        ))}
      </div>
      {unopened.length > 0 && (
        <form className="open-balance" onSubmit={(e) => {
          e.preventDefault();
          const code = new FormData(e.currentTarget).get("currency");
          if (code) void changeBalance("open", String(code));
        }}>
          <label htmlFor="open-currency">Add a currency</label>
          <select id="open-currency" name="currency">
            {unopened.map((code) => <option key={code}>{code}</option>)}
          </select>
          <button className="secondary" type="submit">Open balance</button>
        </form>
      )}
      {balanceError && <p className="error" role="alert">{balanceError}</p>}
      {shop && <PointOfSale merchantId={shop.id} merchantName={shop.name} role={shop.role} />}
      {shop && <MerchantDisputes merchantId={shop.id} />}
      {shop && shop.role === "OWNER" && <MerchantDashboard merchantId={shop.id} approval={shop.approval} />}
      {merchantData?.myMerchants && !shop && (
        <OpenShop onOpened={() => reloadMerchants({ requestPolicy: "network-only" })} />
      )}
      {operatorRole && (
        <section className="card send" aria-labelledby="console-link">
          <h2 id="console-link">Operations</h2>
          <p className="muted">Queues, the ledger, reconciliation and the books are in the console.</p>
          <a className="small-primary" href="/operator">Open the operator console</a>
        </section>
      )}
      <NotificationsPanel refreshKey={changes} />
      <RequestsPanel refreshKey={changes} />
      <div className="tabs actions" role="tablist" aria-label="Move money">
        {ACTIONS.map(([key, label]) => (
          <button key={key} role="tab" aria-selected={action === key} onClick={() => setAction(key)}>
            {label}
          </button>
        ))}
      </div>
      {action === "send" && <SendMoneyForm />}
      {action === "pay" && <PayMerchant initialReference={payReference} />}
      {action === "convert" && <ConvertForm onConverted={refreshBalances} />}
      {action === "security" && <SecurityPanel />}
      {action === "limits" && (
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <VerificationPanel />
        </Suspense>
      )}
      {action === "rewards" && <RewardsPanel refreshKey={changes} onRedeemed={refreshBalances} />}
      {action === "goals" && <SavingsGoals onMoneyMoved={refreshBalances} />}
      {action === "budget" && (
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Insights />
        </Suspense>
      )}
      {action === "split" && <SplitGroups username={username} onMoneyMoved={() => setChanges((n) => n + 1)} />}
      {action === "bills" && <BillsPanel />}
      {action === "request" && <RequestMoneyForm onRequested={() => setChanges((n) => n + 1)} />}
      {action === "add" && <FundingForm direction="add" />}
      {action === "withdraw" && <FundingForm direction="withdraw" />}
      <ActivityList refreshKey={changes} onChange={() => setChanges((n) => n + 1)} />
      {data?.wallet?.status && data.wallet.status !== "active" && (
        <p className="error">This wallet is {data.wallet.status}.</p>
      )}
      <button className="secondary" onClick={handleLogOut}>
        Log out
      </button>
    </section>
  );
}
