import { useState } from "react";
import { useMutation, useQuery } from "urql";

import {
  CloseCurrencyBalanceDocument,
  CurrenciesDocument,
  OpenCurrencyBalanceDocument,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { isZero, useWallet, type Balance } from "../shell/wallet";

/** One currency's balance: what can be spent, and what is settled, incoming, on hold. */
export function BalanceCard({ balance: b, onClose }: { balance: Balance; onClose?: () => void }) {
  const { live, flash } = useWallet();
  return (
    <article className={`card balance${flash === b.currency ? " flash" : ""}`}
             data-testid={`balance-${b.currency}`} aria-label={`${b.currency} balance`}>
      <header>
        <span className="currency">{b.currency}</span>
        <span className={`live ${live ? "on" : "off"}`} title={live ? "Live" : "Live updates paused"}>
          {live ? "● live" : "offline"}
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
      {onClose && (
        <button className="link" onClick={onClose}>
          Close {b.currency} balance
        </button>
      )}
    </article>
  );
}

/** The balances side by side, the home currency first; scrolls sideways on a phone. */
export function BalanceCarousel({ manage = false }: { manage?: boolean }) {
  const { balances, loadError, refreshBalances } = useWallet();
  const [, closeBalance] = useMutation(CloseCurrencyBalanceDocument);
  const [error, setError] = useState<string | null>(null);

  async function close(currency: string) {
    setError(null);
    const payload = (await closeBalance({ currency })).data?.closeCurrencyBalance;
    if (!payload) setError("Network problem: try again.");
    else if (payload.__typename !== "CurrencyBalancePayload") {
      setError("message" in payload ? payload.message : "That did not work");
    }
    refreshBalances();
  }

  return (
    <>
      {loadError && <p className="error" role="alert">Your balances could not be loaded.</p>}
      <div className={manage ? "balances balances-grid" : "balances carousel"} role="group"
           aria-label="Your balances" tabIndex={manage ? undefined : 0}>
        {balances.map((b) => (
          <BalanceCard key={b.currency} balance={b}
                       onClose={manage && balances.length > 1 && isZero(b.posted) && isZero(b.pending) &&
                                isZero(b.reserved) ? () => void close(b.currency) : undefined} />
        ))}
      </div>
      {error && <p className="error" role="alert">{error}</p>}
    </>
  );
}

/** Open a balance in another currency. */
export function OpenCurrency() {
  const { balances, refreshBalances } = useWallet();
  const [{ data }] = useQuery({ query: CurrenciesDocument });
  const [, openBalance] = useMutation(OpenCurrencyBalanceDocument);
  const [error, setError] = useState<string | null>(null);
  const unopened = (data?.currencies ?? []).map((c) => c.code)
    .filter((code) => !balances.some((b) => b.currency === code));
  if (unopened.length === 0) return null;

  async function open(currency: string) {
    setError(null);
    const payload = (await openBalance({ currency })).data?.openCurrencyBalance;
    if (!payload) setError("Network problem: try again.");
    else if (payload.__typename !== "CurrencyBalancePayload") {
      setError("message" in payload ? payload.message : "That did not work");
    }
    refreshBalances();
  }

  return (
    <>
      <form className="open-balance" onSubmit={(e) => {
        e.preventDefault();
        const code = new FormData(e.currentTarget).get("currency");
        if (code) void open(String(code));
      }}>
        <label htmlFor="open-currency">Add a currency</label>
        <select id="open-currency" name="currency">
          {unopened.map((code) => <option key={code}>{code}</option>)}
        </select>
        <button className="secondary" type="submit">Open balance</button>
      </form>
      {error && <p className="error" role="alert">{error}</p>}
    </>
  );
}
