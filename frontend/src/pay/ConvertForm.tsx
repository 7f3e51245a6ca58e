import { useEffect, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  ConvertDocument,
  CurrenciesDocument,
  FxQuoteDocument,
  type ConvertMutation,
  type FxQuoteMutation,
} from "../gql/graphql";
import { formatDuration } from "../shared/dates";
import { formatMoney, formatRate, subtractAmounts } from "../shared/money";
import { Receipt } from "../shared/Receipt";
import { refusalText } from "../shared/refusal";
import { BlockedReason, Review, useWalletAction } from "../shared/Review";
import { useWallet } from "../shell/wallet";
import "./pay.css";

type Quote = Extract<NonNullable<FxQuoteMutation["fxQuote"]>, { __typename: "FxQuotePayload" }>["quote"];
type Conversion = Extract<NonNullable<ConvertMutation["convert"]>, { __typename: "ConvertPayload" }>["conversion"];
/** What the receipt shows: the conversion, at its quote's rate, when the server answered. */
type Done = Conversion & { rate: string; at: string };

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
 * Convert between your own currency balances: ask for a quote, review exactly what you
 * pay and get (and your balance after) while it counts down, convert it, get a receipt.
 * One idempotency key per quote.
 */
export function ConvertForm({ onConverted }: { onConverted?: () => void }) {
  const [{ data: currencyData }] = useQuery({ query: CurrenciesDocument });
  const codes = currencyData?.currencies.map((c) => c.code) ?? ["USD", "EUR"];
  const wallet = useWallet();
  const [sell, setSell] = useState("USD");
  const [buy, setBuy] = useState("EUR");
  const [amount, setAmount] = useState("");
  const [side, setSide] = useState<"SELL" | "BUY">("SELL");
  const [quote, setQuote] = useState<Quote | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [reviewError, setReviewError] = useState<string | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const [{ fetching: quoting }, askQuote] = useMutation(FxQuoteDocument);
  const [{ fetching: converting }, convert] = useMutation(ConvertDocument);
  const idempotencyKey = useRef(crypto.randomUUID());
  const left = useCountdown(quote);
  const gate = useWalletAction("CONVERT");

  async function requestQuote(event?: FormEvent) {
    event?.preventDefault();
    setFormError(null);
    setReviewError(null);
    const result = await askQuote({
      input: { sell, buy, amount: amount.replace(/[,\s]/g, ""), fixedSide: side },
    });
    const payload = result.data?.fxQuote;
    if (payload?.__typename === "FxQuotePayload") {
      setQuote(payload.quote);
      idempotencyKey.current = crypto.randomUUID();
    } else {
      // Refused at quote time (not enough money, a limit...): said on the form.
      setQuote(null);
      setFormError(payload ? refusalText(payload) : "Network problem: try again.");
    }
  }

  async function execute() {
    if (!quote) return;
    setReviewError(null);
    const result = await convert({ input: { quoteId: quote.id, idempotencyKey: idempotencyKey.current } });
    const payload = result.data?.convert;
    if (!payload) {
      setReviewError("Network problem: press Convert again to retry safely.");
      return;
    }
    if (payload.__typename === "ConvertPayload") {
      setDone({ ...payload.conversion, rate: quote.rate, at: new Date().toISOString() });
      setQuote(null);
      setAmount("");
      onConverted?.();
      return;
    }
    setReviewError(refusalText(payload));
    if (payload.__typename === "QuoteExpired") setQuote(null);
  }

  function cancel() {
    setQuote(null);
    setReviewError(null);
  }

  const expired = quote !== null && left === 0;
  const held = quote && wallet.balances.find((b) => b.currency === quote.sellCurrency);
  const balanceAfter = quote && held ? subtractAmounts(held.available, quote.sellAmount) : null;
  const step = done ? "receipt" : quote ? "review" : "form";
  return (
    <section className="card convert" aria-labelledby="convert-title">
      <h2 id="convert-title">Convert currencies</h2>
      <form onSubmit={requestQuote} noValidate hidden={step !== "form"}>
        <div className="row">
          <div className="field">
            <label htmlFor="convert-sell">From</label>
            <select id="convert-sell" value={sell} onChange={(e) => setSell(e.target.value)}>
              {codes.map((c) => <option key={c}>{c}</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="convert-buy">To</label>
            <select id="convert-buy" value={buy} onChange={(e) => setBuy(e.target.value)}>
              {codes.map((c) => <option key={c}>{c}</option>)}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor="convert-amount">Amount ({side === "SELL" ? sell : buy})</label>
          <input id="convert-amount" inputMode="decimal" placeholder="0.00" value={amount}
                 onChange={(e) => setAmount(e.target.value)} required />
        </div>
        <fieldset className="choice">
          <legend>The amount is what I</legend>
          <label>
            <input type="radio" name="side" checked={side === "SELL"} onChange={() => setSide("SELL")} />
            convert
          </label>
          <label>
            <input type="radio" name="side" checked={side === "BUY"} onChange={() => setSide("BUY")} />
            receive
          </label>
        </fieldset>
        {formError && <p id="convert-error" className="error" role="status">{formError}</p>}
        <BlockedReason id="convert-blocked" gate={gate} />
        <button className="primary" type="submit" disabled={quoting || !gate.allowed}
                aria-describedby={[formError && "convert-error", !gate.allowed && "convert-blocked"].filter(Boolean).join(" ") || undefined}>
          {quoting ? "Getting a quote…" : "Get quote"}
        </button>
      </form>
      {step === "review" && quote && (
        <Review
          testId="fx-quote"
          title="Check before you convert"
          lines={[
            { label: "You pay", value: formatMoney(quote.sellAmount, quote.sellCurrency) },
            { label: "Fee (included)", value: formatMoney(quote.fee, quote.sellCurrency) },
            { label: "Rate", value: formatRate(quote.rate, quote.sellCurrency, quote.buyCurrency), testId: "fx-rate" },
            { label: "You get", value: <span data-testid="fx-buy-amount">{formatMoney(quote.buyAmount, quote.buyCurrency)}</span>,
              strong: true },
            { label: "Arrives", value: "Instantly" },
            ...(balanceAfter
              ? [{ label: `Your ${quote.sellCurrency} balance after`, value: formatMoney(balanceAfter, quote.sellCurrency),
                   testId: "review-balance-after" }]
              : []),
          ]}
          confirmLabel={expired ? "Refresh quote" : "Convert"}
          busyLabel={expired ? "Getting a quote…" : "Converting…"}
          busy={expired ? quoting : converting}
          error={reviewError}
          onConfirm={() => void (expired ? requestQuote() : execute())}
          onCancel={cancel}
        >
          <p className={`countdown${left <= 5 ? " urgent" : ""}`} role="timer" aria-live="off" data-testid="fx-countdown">
            {expired ? "This quote has expired" : `Quote valid for ${formatDuration(left)}`}
          </p>
        </Review>
      )}
      {step === "receipt" && done && (
        <Receipt
          status="Converted"
          statusText={`Converted ${formatMoney(done.sold, done.soldCurrency)} to ${formatMoney(done.bought, done.boughtCurrency)}`}
          amount={formatMoney(done.bought, done.boughtCurrency)}
          lines={[
            { label: "You paid", value: formatMoney(done.sold, done.soldCurrency) },
            { label: "Rate", value: formatRate(done.rate, done.soldCurrency, done.boughtCurrency), testId: "receipt-rate" },
          ]}
          reference={done.transactionId}
          time={done.at}
          onDone={() => setDone(null)}
        />
      )}
    </section>
  );
}
