import { useEffect, useRef, useState, type FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";

import {
  CurrenciesDocument,
  FxQuoteDocument,
  SendMoneyDocument,
  SendPreviewDocument,
  type SendMoneyMutation,
  type SendPreviewQuery,
} from "../gql/graphql";
import { Receipt } from "../shared/Receipt";
import { BlockedReason, Review, useWalletAction } from "../shared/Review";
import { formatDuration } from "../shared/dates";
import { formatMoney, formatRate } from "../shared/money";
import { refusalText } from "../shared/refusal";
import { useStepUp } from "../shared/stepUp";
import "./pay.css";

type Preview = Extract<SendPreviewQuery["sendPreview"], { __typename: "SendPreview" }>;
type Transfer = Extract<NonNullable<SendMoneyMutation["sendMoney"]>, { __typename: "SendMoneyPayload" }>["transfer"];
type Draft = { recipient: string; amount: string; currency: string; note: string; quoteId: string | null };

/** Seconds until `deadline` (ms since the epoch), ticking; null without one. */
function useSecondsLeft(deadline: number | null): number | null {
  const [left, setLeft] = useState<number | null>(null);
  useEffect(() => {
    if (deadline === null) return setLeft(null);
    const tick = () => setLeft(Math.max(0, Math.round((deadline - Date.now()) / 1000)));
    tick();
    const timer = setInterval(tick, 250);
    return () => clearInterval(timer);
  }, [deadline]);
  return left;
}

/** What the person typed as an amount, without a symbol or grouping: "1,234.50". */
function plainAmount(typed: string): string {
  return typed.replace(/^R\$/, "").replace(/[$€£¥₹,\s]/g, "");
}

/** The receipt's headline and sentence for a transfer as the server answered it. */
function describe(t: Transfer): { status: string; text: string; ok: boolean } {
  const money = formatMoney(t.amount, t.currency) +
    (t.receivedAmount && t.receivedCurrency && t.receivedCurrency !== t.currency
      ? ` (they got ${formatMoney(t.receivedAmount, t.receivedCurrency)})` : "");
  if (!t.recipientUsername) {
    return { status: "Waiting to be claimed", ok: false,
             text: `${money} is waiting for ${t.recipientContact}: we invited them to claim it` };
  }
  if (t.status === "PENDING") {
    return { status: "On hold", ok: false,
             text: `${money} to @${t.recipientUsername} is on hold while we check it is really you. ` +
                   "The money is set aside: it goes through or comes back to you." };
  }
  return { status: "Sent", ok: true, text: `Sent ${money} to @${t.recipientUsername}` };
}

/**
 * Send money to a phone, email or @username: fill in, review (who, fee, rate, what they
 * get, when, the balance after — or why it would be refused), confirm, receipt.
 * One idempotency key per intended transfer: a retry after a network error or a second
 * factor reuses it (no double send); a receipt or a cancel starts a new one.
 */
export function SendMoneyForm() {
  const client = useClient();
  const [{ fetching: sending }, sendMoney] = useMutation(SendMoneyDocument);
  const [, askQuote] = useMutation(FxQuoteDocument);
  const [{ data: currencyData }] = useQuery({ query: CurrenciesDocument });
  const codes = currencyData?.currencies.map((c) => c.code) ?? ["USD"];
  const [currency, setCurrency] = useState("USD");
  const [receiveCurrency, setReceiveCurrency] = useState("USD");
  const crossCurrency = receiveCurrency !== currency;
  const [checking, setChecking] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  // A cross-currency send's rate is held until its quote expires.
  const [rateDeadline, setRateDeadline] = useState<number | null>(null);
  const rateLeft = useSecondsLeft(rateDeadline);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [reviewError, setReviewError] = useState<string | null>(null);
  // The transfer, and when the server answered that it was made (the receipt's time).
  const [sent, setSent] = useState<(Transfer & { at: string }) | null>(null);
  const idempotencyKey = useRef(crypto.randomUUID());
  // A large send asks for a second factor; after it, the same request is sent again.
  const stepUp = useStepUp("send this much");
  const formRef = useRef<HTMLFormElement>(null);
  const gate = useWalletAction("SEND");

  async function review(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const amount = plainAmount(String(form.get("amount") ?? ""));
    const next: Draft = {
      recipient: String(form.get("recipient") ?? "").trim(),
      amount,
      currency,
      note: String(form.get("note") ?? ""),
      quoteId: null,
    };
    let deadline: number | null = null;
    setFormError(null);
    try {
      if (crossCurrency) {
        // What the recipient gets in their currency: a quote the send then uses.
        setChecking("Getting the exchange rate…");
        const quoted = (await askQuote({ input: { sell: currency, buy: receiveCurrency, amount } })).data?.fxQuote;
        if (quoted?.__typename !== "FxQuotePayload") {
          setFormError(quoted ? refusalText(quoted) : "No exchange rate right now: try again.");
          return;
        }
        next.quoteId = quoted.quote.id;
        deadline = Date.now() + quoted.quote.expiresInSeconds * 1000;
      }
      setChecking("Checking…");
      const result = await client
        .query(SendPreviewDocument, {
          input: { recipient: next.recipient, amount, currency, quoteId: next.quoteId },
        }, { requestPolicy: "network-only" })
        .toPromise();
      const found = result.data?.sendPreview;
      if (found?.__typename === "SendPreview") {
        setDraft(next);
        setPreview(found);
        setRateDeadline(deadline);
        setReviewError(null);
      } else {
        setFormError(found ? refusalText(found) : "Network problem: press Review again.");
      }
    } finally {
      setChecking(null);
    }
  }

  async function confirm() {
    if (!draft) return;
    setReviewError(null);
    const result = await sendMoney({ input: { ...draft, idempotencyKey: idempotencyKey.current } });
    const payload = result.data?.sendMoney;
    if (!payload) {
      setReviewError("Network problem: press Send again to retry safely.");
      return;
    }
    if (payload.__typename === "SendMoneyPayload") {
      setSent({ ...payload.transfer, at: new Date().toISOString() });
      setPreview(null);
      setRateDeadline(null);
      idempotencyKey.current = crypto.randomUUID();
      return;
    }
    if (payload.__typename === "StepUpRequired") {
      // The same idempotency key for the retry; a fresh key if cancelled.
      stepUp.ask(payload.methods, () => void confirm(),
                 () => { idempotencyKey.current = crypto.randomUUID(); });
      return;
    }
    idempotencyKey.current = crypto.randomUUID();
    if (payload.__typename === "QuoteExpired") {
      // The rate is gone: back to the form, to review at a new one.
      setPreview(null);
      setRateDeadline(null);
      setFormError(refusalText(payload));
      return;
    }
    setReviewError(refusalText(payload));
  }

  function cancel() {
    setPreview(null);
    setRateDeadline(null);
    setDraft(null);
    setReviewError(null);
    idempotencyKey.current = crypto.randomUUID();
  }

  function done() {
    setSent(null);
    setDraft(null);
    formRef.current?.reset();
    setCurrency("USD");
    setReceiveCurrency("USD");
  }

  const step = sent ? "receipt" : preview ? "review" : "form";
  const rateExpired = rateLeft === 0;

  function reviewAgain() {
    // The rate expired while reviewing: a new quote and a new review, from the same form.
    setPreview(null);
    setRateDeadline(null);
    formRef.current?.requestSubmit();
  }
  const receipt = sent && describe(sent);
  return (
    <section className="card send" aria-labelledby="send-title">
      <h2 id="send-title">Send money</h2>
      {/* Kept while reviewing (hidden), so Cancel comes back to what was typed. */}
      <form ref={formRef} onSubmit={review} noValidate hidden={step !== "form"}>
        <div className="field">
          <label htmlFor="send-recipient">To</label>
          <input id="send-recipient" name="recipient" placeholder="Phone, email or @username"
                 autoComplete="off" required />
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="send-amount">Amount ({currency})</label>
            <input id="send-amount" name="amount" inputMode="decimal" placeholder="0.00" required />
          </div>
          <div className="field">
            <label htmlFor="send-currency">From balance</label>
            <select id="send-currency" value={currency}
                    onChange={(e) => { setCurrency(e.target.value); setReceiveCurrency(e.target.value); }}>
              {codes.map((c) => <option key={c}>{c}</option>)}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor="send-receive-currency">They receive</label>
          <select id="send-receive-currency" value={receiveCurrency}
                  onChange={(e) => setReceiveCurrency(e.target.value)}>
            {codes.map((c) => <option key={c}>{c}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="send-note">Note (optional)</label>
          <input id="send-note" name="note" maxLength={280} placeholder="What's it for?" />
        </div>
        {formError && <p id="send-error" className="error" role="status">{formError}</p>}
        <BlockedReason id="send-blocked" gate={gate} />
        <button className="primary" type="submit" disabled={checking !== null || !gate.allowed}
                aria-describedby={[formError && "send-error", !gate.allowed && "send-blocked"].filter(Boolean).join(" ") || undefined}>
          {checking ?? "Review"}
        </button>
      </form>
      {step === "review" && preview && draft && (
        <Review
          title="Check before you send"
          party={{
            name: preview.username ? `@${preview.username}` : preview.recipient,
            detail: preview.username ? "Has a wallet" : undefined,
          }}
          lines={[
            { label: "You send", value: formatMoney(preview.amount, preview.currency), testId: "review-amount" },
            { label: "Fee", value: formatMoney(preview.fee, preview.currency), testId: "review-fee" },
            ...(preview.rate
              ? [{ label: "Rate", value: formatRate(preview.rate, preview.currency, preview.receivesCurrency),
                   testId: "review-rate" }]
              : []),
            { label: "They get", value: formatMoney(preview.receives, preview.receivesCurrency),
              testId: "send-quote", strong: true },
            { label: "Arrives", value: preview.arrives, testId: "review-arrives" },
            { label: "Your balance after", value: formatMoney(preview.balanceAfter, preview.currency),
              testId: "review-balance-after" },
            ...(draft.note ? [{ label: "Note", value: draft.note }] : []),
          ]}
          note={rateLeft === null ? undefined : rateExpired
            ? "This rate has expired: review again for today's rate."
            : <span data-testid="send-rate-countdown">Rate held for {formatDuration(rateLeft)}</span>}
          confirmLabel={rateExpired ? "Review again" : "Send"}
          busyLabel="Sending…"
          busy={sending}
          blocked={stepUp.waiting}
          error={reviewError}
          onConfirm={() => (rateExpired ? reviewAgain() : void confirm())}
          onCancel={cancel}
        />
      )}
      {step === "receipt" && sent && receipt && (
        <Receipt
          status={receipt.status}
          statusText={receipt.text}
          ok={receipt.ok}
          amount={formatMoney(sent.amount, sent.currency)}
          party={sent.recipientUsername ? `@${sent.recipientUsername}` : sent.recipientContact ?? undefined}
          lines={[
            ...(sent.receivedAmount && sent.receivedCurrency && sent.receivedCurrency !== sent.currency
              ? [{ label: "They got", value: formatMoney(sent.receivedAmount, sent.receivedCurrency) }]
              : []),
            ...(draft?.note ? [{ label: "Note", value: draft.note }] : []),
          ]}
          reference={sent.id}
          time={sent.at}
          onDone={done}
        />
      )}
      {/* Outside the send form: forms cannot nest. */}
      {stepUp.prompt}
    </section>
  );
}
