import { useEffect, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { ConvertDocument, CurrenciesDocument, FxQuoteDocument, type FxQuoteMutation } from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { refusalText } from "../shared/refusal";

type Quote = Extract<NonNullable<FxQuoteMutation["fxQuote"]>, { __typename: "FxQuotePayload" }>["quote"];
type Outcome = { kind: "done" | "refused"; text: string } | null;

/** Seconds left on a quote, ticking down once a second. */
function useCountdown(quote: Quote | null): number {
  const [left, setLeft] = useState(0);
  useEffect(() => {
    if (!quote) return;
    const deadline = Date.now() + quote.expiresInSeconds * 1000;
    const tick = () => setLeft(Math.max(0, Math.round((deadline - Date.now()) / 1000)));
    tick();
    const timer = setInterval(tick, 250);
    return () => clearInterval(timer);
  }, [quote]);
  return left;
}

/**
 * Convert between your own currency balances: ask for a quote, see exactly what you pay
 * and get while it counts down, then convert it (one idempotency key per quote).
 */
export function ConvertForm({ onConverted }: { onConverted?: () => void }) {
  const [{ data: currencyData }] = useQuery({ query: CurrenciesDocument });
  const codes = currencyData?.currencies.map((c) => c.code) ?? ["USD", "EUR"];
  const [sell, setSell] = useState("USD");
  const [buy, setBuy] = useState("EUR");
  const [amount, setAmount] = useState("");
  const [side, setSide] = useState<"SELL" | "BUY">("SELL");
  const [quote, setQuote] = useState<Quote | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [{ fetching: quoting }, askQuote] = useMutation(FxQuoteDocument);
  const [{ fetching: converting }, convert] = useMutation(ConvertDocument);
  const idempotencyKey = useRef(crypto.randomUUID());
  const left = useCountdown(quote);

  async function requestQuote(event?: FormEvent) {
    event?.preventDefault();
    setOutcome(null);
    const result = await askQuote({
      input: { sell, buy, amount: amount.replace(/[,\s]/g, ""), fixedSide: side },
    });
    const payload = result.data?.fxQuote;
    if (payload?.__typename === "FxQuotePayload") {
      setQuote(payload.quote);
      idempotencyKey.current = crypto.randomUUID();
    } else {
      setQuote(null);
      setOutcome({ kind: "refused", text: payload ? refusalText(payload) : "Network problem: try again." });
    }
  }

  async function execute() {
    if (!quote) return;
    const result = await convert({ input: { quoteId: quote.id, idempotencyKey: idempotencyKey.current } });
    const payload = result.data?.convert;
    if (!payload) {
      setOutcome({ kind: "refused", text: "Network problem: press Convert again to retry safely." });
      return;
    }
    if (payload.__typename === "ConvertPayload") {
      const c = payload.conversion;
      setOutcome({
        kind: "done",
        text: `Converted ${formatMoney(c.sold, c.soldCurrency)} to ${formatMoney(c.bought, c.boughtCurrency)}`,
      });
      setQuote(null);
      setAmount("");
      onConverted?.();
      return;
    }
    setOutcome({ kind: "refused", text: refusalText(payload) });
    if (payload.__typename === "QuoteExpired") setQuote(null);
  }

  const expired = quote !== null && left === 0;
  return (
    <section className="card convert" aria-labelledby="convert-title">
      <h2 id="convert-title">Convert currencies</h2>
      <form onSubmit={requestQuote} noValidate>
        <div className="row">
          <div className="field">
            <label htmlFor="convert-sell">From</label>
            <select id="convert-sell" value={sell} onChange={(e) => { setSell(e.target.value); setQuote(null); }}>
              {codes.map((c) => <option key={c}>{c}</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="convert-buy">To</label>
            <select id="convert-buy" value={buy} onChange={(e) => { setBuy(e.target.value); setQuote(null); }}>
              {codes.map((c) => <option key={c}>{c}</option>)}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor="convert-amount">Amount ({side === "SELL" ? sell : buy})</label>
          <input id="convert-amount" inputMode="decimal" placeholder="0.00" value={amount}
                 onChange={(e) => { setAmount(e.target.value); setQuote(null); }} required />
        </div>
        <fieldset className="choice">
          <legend>The amount is what I</legend>
          <label>
            <input type="radio" name="side" checked={side === "SELL"} onChange={() => { setSide("SELL"); setQuote(null); }} />
            convert
          </label>
          <label>
            <input type="radio" name="side" checked={side === "BUY"} onChange={() => { setSide("BUY"); setQuote(null); }} />
            receive
          </label>
        </fieldset>
        {!quote && (
          <button className="primary" type="submit" disabled={quoting}>
            {quoting ? "Getting a quote…" : "Get quote"}
          </button>
        )}
      </form>
      {quote && (
        <div className="quote" data-testid="fx-quote">
          <dl className="details">
            <div><dt>You pay</dt><dd>{formatMoney(quote.sellAmount, quote.sellCurrency)}</dd></div>
            <div><dt>Fee (included)</dt><dd>{formatMoney(quote.fee, quote.sellCurrency)}</dd></div>
            <div><dt>You get</dt><dd data-testid="fx-buy-amount">{formatMoney(quote.buyAmount, quote.buyCurrency)}</dd></div>
            <div className="wide"><dt>Rate</dt><dd>1 {quote.sellCurrency} = {quote.rate} {quote.buyCurrency}</dd></div>
          </dl>
          <p className={`countdown${left <= 5 ? " urgent" : ""}`} role="timer" aria-live="off" data-testid="fx-countdown">
            {expired ? "This quote has expired" : `Quote valid for ${left} s`}
          </p>
          {expired ? (
            <button className="primary" onClick={() => requestQuote()} disabled={quoting}>Refresh quote</button>
          ) : (
            <button className="primary" onClick={execute} disabled={converting}>
              {converting ? "Converting…" : "Convert"}
            </button>
          )}
        </div>
      )}
      {outcome && (
        <p className={outcome.kind === "done" ? "success" : "error"} role="status">{outcome.text}</p>
      )}
    </section>
  );
}
