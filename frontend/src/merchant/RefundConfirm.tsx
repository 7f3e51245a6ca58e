import { useEffect, useState, type FormEvent } from "react";

import { formatDateTime } from "../shared/dates";
import type { TillSaleFieldsFragment } from "../gql/graphql";
import { formatMoney } from "../shared/money";

/**
 * The cashier's confirmation before money goes back: which sale (amount, when, who paid,
 * what for) and how much; a cashier also has the owner type the owner's PIN, which the
 * server checks. `onConfirm` answers null when done, or what to tell the cashier.
 */
export function RefundConfirm({ sale, amount, needsOwnerPin, onConfirm, onCancel }: {
  sale: TillSaleFieldsFragment;
  amount: string;
  needsOwnerPin: boolean;
  onConfirm: (ownerPin: string | null) => Promise<string | null>;
  onCancel: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `refund-${sale.transactionId}`;
  const what = [sale.note, sale.orderId ? `order ${sale.orderId}` : ""].filter(Boolean).join(" · ");

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const pin = needsOwnerPin ? String(new FormData(event.currentTarget).get("ownerPin") ?? "") : null;
    setBusy(true);
    setError(await onConfirm(pin));
    setBusy(false);
  }

  return (
    <form className="refund-confirm" aria-labelledby={`${id}-title`} onSubmit={submit} noValidate>
      <h3 id={`${id}-title`}>Confirm the refund</h3>
      <dl className="detail">
        <div><dt>Sale</dt><dd>{formatMoney(sale.amount, sale.currency)}</dd></div>
        <div><dt>Paid</dt><dd>{formatDateTime(sale.createdAt)}</dd></div>
        <div><dt>Paid by</dt><dd>{sale.payerName}</dd></div>
        <div><dt>Already refunded</dt><dd>{formatMoney(sale.refunded, sale.currency)}</dd></div>
        {what && <div className="wide"><dt>For</dt><dd>{what}</dd></div>}
      </dl>
      {needsOwnerPin && (
        <div className="field">
          <label htmlFor={`${id}-pin`}>Owner's PIN</label>
          <input id={`${id}-pin`} name="ownerPin" type="password" inputMode="numeric"
                 autoComplete="off" maxLength={6} />
          <span className="muted small">A cashier refunds only with the owner's PIN.</span>
        </div>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="request-actions">
        <button className="small-primary" type="submit" disabled={busy}>
          Refund {formatMoney(amount, sale.currency)}
        </button>
        <button className="small-secondary" type="button" onClick={onCancel}>Keep the sale</button>
      </div>
    </form>
  );
}

// The till and the dashboard show the same sales: a refund made in one is announced so
// that the other reads its sales again rather than offering what is no longer there.
const REFUNDED = "wallet:refunded";

export function announceRefund(): void {
  window.dispatchEvent(new Event(REFUNDED));
}

export function useOnRefund(reload: () => void): void {
  useEffect(() => {
    window.addEventListener(REFUNDED, reload);
    return () => window.removeEventListener(REFUNDED, reload);
  }, [reload]);
}
