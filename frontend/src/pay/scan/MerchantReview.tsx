import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  PayAtCounterDocument,
  PaymentBudgetImpactDocument,
  type PayableRequestFieldsFragment,
  type PayAtCounterMutation,
  type PaymentBudgetImpactQuery,
} from "../../gql/graphql";
import { CATEGORIES } from "../../shared/categories";
import { formatMoney } from "../../shared/money";

export type Paid = Extract<PayAtCounterMutation["payPaymentRequest"], { __typename: "PayPaymentRequestPayload" }>["payment"];
type Exceeded = Extract<PayAtCounterMutation["payPaymentRequest"], { __typename: "BudgetWouldBeExceeded" }>;
type Impact = NonNullable<PaymentBudgetImpactQuery["paymentBudgetImpact"]>;

const AMOUNT = /^\d{1,9}(\.\d{1,2})?$/;

function categoryName(category: string): string {
  return CATEGORIES.find(([value]) => value === category)?.[1] ?? category.toLowerCase();
}

/**
 * `a - b` of two decimal strings, exactly (integers of the smallest unit, no floating
 * point). Only for the "balance after" line of the review: the server keeps the books
 * and checks the balance again when the payment is made.
 */
export function minus(a: string, b: string): string {
  const places = Math.max(a.split(".")[1]?.length ?? 0, b.split(".")[1]?.length ?? 0);
  const units = (s: string) => {
    const negative = s.startsWith("-");
    const [whole, part = ""] = s.replace("-", "").split(".");
    const value = BigInt(whole + part.padEnd(places, "0"));
    return negative ? -value : value;
  };
  const diff = units(a) - units(b);
  const digits = (diff < 0n ? -diff : diff).toString().padStart(places + 1, "0");
  const body = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
  return diff < 0n ? `-${body}` : body;
}

/** What the payment does to the budget it falls in, in a sentence. */
export function impactText(impact: Impact): string {
  const name = categoryName(impact.category);
  if (impact.exceeds) {
    return `This takes your ${name} budget over by ${formatMoney(impact.overBy, impact.currency)}`
      + (impact.strict ? ": you will be asked to confirm." : ".");
  }
  return `${name} budget: ${formatMoney(impact.remainingAfter, impact.currency)} left after this`
    + ` (${formatMoney(impact.spentAfter, impact.currency)} of ${formatMoney(impact.limit, impact.currency)}).`;
}

/**
 * The payer's review of a merchant payment before anything moves: who (the server's copy
 * of the request, never what a tag or QR said), how much, what for, the balance after,
 * the budget it falls in; then the PIN. A strict budget that the payment would take over
 * asks once more ("Pay anyway"), and that retry carries the same idempotency key, so the
 * two presses can never pay twice.
 */
export function MerchantReview({ request, available, onPaid, onCancel }: {
  request: PayableRequestFieldsFragment;
  available: string | null;
  onPaid: (payment: Paid) => void;
  onCancel: () => void;
}) {
  const [, payRequest] = useMutation(PayAtCounterDocument);
  const [typed, setTyped] = useState("");
  const typedAmount = typed.replace(/[$,\s]/g, "");
  const amount = request.amount ?? (AMOUNT.test(typedAmount) ? typedAmount : null);
  const [{ data: impactData }] = useQuery({
    query: PaymentBudgetImpactDocument,
    variables: { reference: request.id, amount: request.amount ? null : amount },
    pause: !amount,
    requestPolicy: "network-only",
  });
  const impact = amount ? impactData?.paymentBudgetImpact ?? null : null;
  const key = useRef(crypto.randomUUID());
  const pin = useRef("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [exceeded, setExceeded] = useState<Exceeded | null>(null);

  async function pay(overrideBudget: boolean) {
    setBusy(true);
    setError(null);
    const result = (await payRequest({
      input: {
        requestId: request.id,
        amount: request.amount ? null : amount,
        pin: pin.current,
        idempotencyKey: key.current,
        overrideBudget,
      },
    })).data?.payPaymentRequest;
    setBusy(false);
    if (!result) return setError("Network problem: press Pay again to retry safely.");
    if (result.__typename === "PayPaymentRequestPayload") return onPaid(result.payment);
    if (result.__typename === "BudgetWouldBeExceeded") return setExceeded(result);
    setExceeded(null);
    setError(result.message);
    // A refusal is final for this key; a form error (a mistyped amount) is not.
    if (result.code !== "VALIDATION_ERROR") key.current = crypto.randomUUID();
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    pin.current = String(new FormData(event.currentTarget).get("pin") ?? "");
    if (!request.amount && !amount) return setError("Type the amount to pay, e.g. 4.50.");
    void pay(false);
  }

  const currency = request.currency;
  const after = amount && available !== null ? minus(available, amount) : null;
  return (
    <div className="merchant-review">
      {!exceeded && (
        <form onSubmit={submit} data-testid="pay-confirm" aria-label="Review the payment">
          <p className="muted small">You are paying</p>
          <p className="pay-merchant"><strong>{request.merchantName}</strong></p>
          {request.amount && <p className="pos-amount">{formatMoney(request.amount, currency)}</p>}
          {request.description && <p className="muted small">{request.description}</p>}
          {!request.amount && (
            <div className="field">
              <label htmlFor="pay-amount">Amount ({currency})</label>
              <input id="pay-amount" name="amount" inputMode="decimal" value={typed}
                     onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
            </div>
          )}
          <dl className="review-lines">
            {after !== null && (
              <div>
                <dt>Your balance after</dt>
                <dd data-testid="balance-after" className={after.startsWith("-") ? "negative" : undefined}>
                  {formatMoney(after, currency)}
                </dd>
              </div>
            )}
          </dl>
          {impact && (
            <p data-testid="budget-impact" className={`budget-impact${impact.exceeds ? " over" : ""}`}>
              {impactText(impact)}
            </p>
          )}
          <div className="field">
            <label htmlFor="pay-pin">Transaction PIN</label>
            <input id="pay-pin" name="pin" type="password" inputMode="numeric" autoComplete="off" />
          </div>
          {error && <p className="error" role="alert">{error}</p>}
          <div className="review-actions">
            <button className="primary" type="submit" disabled={busy}>Pay</button>
            <button className="link" type="button" onClick={onCancel}>Cancel</button>
          </div>
        </form>
      )}
      {exceeded && (
        <div className="budget-confirm" role="alertdialog" aria-labelledby="budget-confirm-title"
             aria-describedby="budget-confirm-text" data-testid="budget-confirm">
          <h3 id="budget-confirm-title">Over your {categoryName(exceeded.category)} budget</h3>
          <p id="budget-confirm-text">
            {impact?.exceeds
              ? `${impactText({ ...impact, strict: false })} `
              : ""}
            You have spent {formatMoney(exceeded.spent, currency)} of your{" "}
            {formatMoney(exceeded.limit, currency)} {categoryName(exceeded.category)} budget this month.
            Pay {request.merchantName} {amount ? formatMoney(amount, currency) : ""} anyway?
          </p>
          {error && <p className="error" role="alert">{error}</p>}
          <div className="review-actions">
            <button className="primary" type="button" disabled={busy} onClick={() => void pay(true)}>
              Pay anyway
            </button>
            <button className="link" type="button" onClick={() => { setExceeded(null); onCancel(); }}>
              Don't pay
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
