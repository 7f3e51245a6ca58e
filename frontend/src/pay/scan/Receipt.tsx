import { useState } from "react";
import { useQuery } from "urql";

import { PaymentReceiptDocument } from "../../gql/graphql";
import { formatDateTime } from "../../shared/dates";
import { formatMoney } from "../../shared/money";
import type { Paid } from "./MerchantReview";

const STATUS: Record<string, string> = {
  COMPLETED: "Paid",
  INITIATED: "Processing",
  PENDING: "Processing",
  PROCESSING: "Processing",
  EXPIRED: "Expired",
  FAILED: "Failed",
  REVERSED: "Reversed",
};

function groupedReference(reference: string): string {
  return reference.match(/.{1,4}/g)?.join("-") ?? reference;
}

/**
 * The receipt of a merchant payment, as the wallet booked it: status and time come from
 * the payer's own transaction on the server (read back after paying), the rest from the
 * payment's answer. Share hands a plain-text copy to the phone's share sheet, or copies it.
 */
export function Receipt({ payment, reference, onDone }: {
  payment: Paid; reference: string; onDone: () => void;
}) {
  const [{ data }] = useQuery({
    query: PaymentReceiptDocument, variables: { id: payment.transactionId }, requestPolicy: "network-only",
  });
  const booked = data?.transaction;
  const [shared, setShared] = useState<string | null>(null);
  const status = booked ? STATUS[booked.status] ?? booked.status.toLowerCase() : "Paid";
  const amount = formatMoney(payment.amount, payment.currency);
  const when = booked ? formatDateTime(booked.createdAt) : null;
  const text = [
    `Receipt: ${amount} to ${payment.merchantName}`,
    `Status: ${status}`,
    `Reference: ${groupedReference(reference)}`,
    when ? `Time: ${when}` : null,
    `Transaction: ${payment.transactionId}`,
  ].filter(Boolean).join("\n");

  async function share() {
    setShared(null);
    try {
      if (navigator.share) {
        await navigator.share({ title: `Receipt from ${payment.merchantName}`, text });
        return;
      }
      await navigator.clipboard.writeText(text);
      setShared("Receipt copied");
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") return;  // closed the sheet
      setShared("Could not share; select the receipt's text to copy it.");
    }
  }

  return (
    <section className="receipt" aria-labelledby="receipt-title" data-testid="receipt">
      <p className="receipt-tick" aria-hidden="true">✓</p>
      <div role="status"><h3 id="receipt-title">Paid {amount} to {payment.merchantName}</h3></div>
      <dl className="review-lines">
        <div><dt>Status</dt><dd data-testid="receipt-status">{status}</dd></div>
        <div><dt>Merchant</dt><dd>{payment.merchantName}</dd></div>
        <div><dt>Amount</dt><dd>{amount}</dd></div>
        <div><dt>Reference</dt><dd className="mono">{groupedReference(reference)}</dd></div>
        {payment.orderId && <div><dt>Order</dt><dd>{payment.orderId}</dd></div>}
        <div><dt>Time</dt><dd>{when ?? "…"}</dd></div>
      </dl>
      <div className="review-actions">
        <button className="primary" type="button" onClick={() => void share()}>Share</button>
        <button className="link" type="button" onClick={onDone}>Done</button>
      </div>
      {shared && <p className="muted small" role="status">{shared}</p>}
    </section>
  );
}
