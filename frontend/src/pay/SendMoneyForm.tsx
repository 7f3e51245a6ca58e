import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  CurrenciesDocument,
  FxQuoteDocument,
  SendMoneyDocument,
  type FxQuoteMutation,
} from "../gql/graphql";
import { useStepUp } from "../shared/stepUp";
import { formatMoney } from "../shared/money";

type Quote = Extract<NonNullable<FxQuoteMutation["fxQuote"]>, { __typename: "FxQuotePayload" }>["quote"];

type Outcome = { kind: "sent" | "refused"; text: string } | null;

/**
 * Send money to a phone, email or @username. One idempotency key per intended transfer:
 * a retry after a network error reuses it (no double send); a success starts a new one.
 */
export function SendMoneyForm() {
  const [{ fetching }, sendMoney] = useMutation(SendMoneyDocument);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const idempotencyKey = useRef(crypto.randomUUID());
  const [{ data: currencyData }] = useQuery({ query: CurrenciesDocument });
  const codes = currencyData?.currencies.map((c) => c.code) ?? ["USD"];
  const [currency, setCurrency] = useState("USD");
  const [receiveCurrency, setReceiveCurrency] = useState("USD");
  const [quote, setQuote] = useState<Quote | null>(null);
  const [{ fetching: quoting }, askQuote] = useMutation(FxQuoteDocument);
  const crossCurrency = receiveCurrency !== currency;
  // A large send asks for a second factor; after it, the same request is sent again.
  const stepUp = useStepUp("send this much");
  const formRef = useRef<HTMLFormElement>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const amount = String(form.get("amount")).replace(/[$€£¥₹,\s]/g, "").replace(/^R\$/, "");
    setOutcome(null);
    if (crossCurrency && !quote) {
      // First press: show what the recipient gets; the second press sends that quote.
      const quoted = (await askQuote({ input: { sell: currency, buy: receiveCurrency, amount } })).data?.fxQuote;
      if (quoted?.__typename === "FxQuotePayload") setQuote(quoted.quote);
      else setOutcome({ kind: "refused", text: quoted && "message" in quoted ? quoted.message : "No quote right now" });
      return;
    }
    const result = await sendMoney({
      input: {
        recipient: String(form.get("recipient")),
        amount,
        currency,
        note: String(form.get("note") ?? ""),
        idempotencyKey: idempotencyKey.current,
        quoteId: crossCurrency ? quote?.id : null,
      },
    });
    const payload = result.data?.sendMoney;
    if (!payload) {
      setOutcome({ kind: "refused", text: "Network problem: press Send again to retry safely." });
      return;
    }
    if (payload.__typename === "SendMoneyPayload") {
      const t = payload.transfer;
      const money = formatMoney(t.amount, t.currency) +
        (t.receivedAmount && t.receivedCurrency ? ` (they got ${formatMoney(t.receivedAmount, t.receivedCurrency)})` : "");
      setOutcome({
        kind: "sent",
        text: !t.recipientUsername
          ? `${money} is waiting for ${t.recipientContact}: we invited them to claim it`
          : t.status === "PENDING"
            ? `${money} to @${t.recipientUsername} is on hold while we check it is really you. ` +
              "The money is set aside: it goes through or comes back to you."
            : `Sent ${money} to @${t.recipientUsername}`,
      });
      idempotencyKey.current = crypto.randomUUID();
      formElement.reset();
      setQuote(null);
      return;
    }
    if (payload.__typename === "StepUpRequired") {
      // The same idempotency key and quote for the retry; a fresh key if cancelled.
      stepUp.ask(payload.methods, () => formRef.current?.requestSubmit(),
                 () => { idempotencyKey.current = crypto.randomUUID(); });
      return;
    }
    setQuote(null);
    const details =
      payload.__typename === "ValidationError" ? payload.fieldErrors.map((e) => e.message).join(" ") : "";
    setOutcome({ kind: "refused", text: details || payload.message });
    idempotencyKey.current = crypto.randomUUID();
  }

  return (
    <section className="card send" aria-labelledby="send-title">
      <h2 id="send-title">Send money</h2>
      <form ref={formRef} onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="send-recipient">To</label>
          <input id="send-recipient" name="recipient" placeholder="Phone, email or @username"
                 autoComplete="off" required />
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="send-amount">Amount ({currency})</label>
            <input id="send-amount" name="amount" inputMode="decimal" placeholder="0.00" required
                   onChange={() => setQuote(null)} />
          </div>
          <div className="field">
            <label htmlFor="send-currency">From balance</label>
            <select id="send-currency" value={currency}
                    onChange={(e) => { setCurrency(e.target.value); setReceiveCurrency(e.target.value); setQuote(null); }}>
              {codes.map((c) => <option key={c}>{c}</option>)}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor="send-receive-currency">They receive</label>
          <select id="send-receive-currency" value={receiveCurrency}
                  onChange={(e) => { setReceiveCurrency(e.target.value); setQuote(null); }}>
            {codes.map((c) => <option key={c}>{c}</option>)}
          </select>
        </div>
        {quote && (
          <p className="quote-line" data-testid="send-quote">
            They get <strong>{formatMoney(quote.buyAmount, quote.buyCurrency)}</strong> · fee{" "}
            {formatMoney(quote.fee, quote.sellCurrency)} · 1 {quote.sellCurrency} = {quote.rate}{" "}
            {quote.buyCurrency}
          </p>
        )}
        <div className="field">
          <label htmlFor="send-note">Note (optional)</label>
          <input id="send-note" name="note" maxLength={280} placeholder="What's it for?" />
        </div>
        {outcome && (
          <p className={outcome.kind === "sent" ? "success" : "error"} role="status">
            {outcome.text}
          </p>
        )}
        <button className="primary" type="submit" disabled={fetching || quoting || stepUp.waiting}>
          {fetching ? "Sending…" : crossCurrency && !quote ? "Review exchange rate" : "Send"}
        </button>
      </form>
      {/* Outside the send form: forms cannot nest. */}
      {stepUp.prompt}
    </section>
  );
}
