import { useRef, useState, type FormEvent } from "react";
import { useMutation, useSubscription } from "urql";

import {
  CreatePaymentRequestDocument,
  PaymentRequestUpdatedDocument,
  RefundPaymentDocument,
  type PaymentRequestFieldsFragment,
} from "./gql/graphql";
import { formatMoney } from "./money";

/** The request's reference in groups of four, to read out or type (any case, dashes or not). */
export function groupedCode(reference: string): string {
  return reference.match(/.{1,4}/g)?.join("-") ?? reference;
}

/**
 * The till: type an amount, show the QR code (and the NFC record), turn green when the
 * customer pays; refund from here too.
 */
export function PointOfSale({ merchantId, merchantName }: { merchantId: string; merchantName: string }) {
  const [, createRequest] = useMutation(CreatePaymentRequestDocument);
  const [, refund] = useMutation(RefundPaymentDocument);
  const [request, setRequest] = useState<PaymentRequestFieldsFragment | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [refunded, setRefunded] = useState<string | null>(null);
  const refundKey = useRef(crypto.randomUUID());
  const [live] = useSubscription({
    query: PaymentRequestUpdatedDocument,
    variables: { requestId: request?.id ?? "" },
    pause: !request,
  });
  const paid = live.data?.paymentRequestUpdated?.status === "PAID";
  const transactionId = live.data?.paymentRequestUpdated?.transactionId;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    setRefunded(null);
    const result = (await createRequest({
      input: {
        merchantId,
        amount: String(form.get("amount")).replace(/[$,\s]/g, ""),
        orderId: String(form.get("order") || "") || null,
        description: String(form.get("description") ?? ""),
      },
    })).data?.createPaymentRequest;
    if (!result) return setError("Network problem: try again.");
    if (result.__typename === "PaymentRequestPayload") {
      setRequest(result.request);
      refundKey.current = crypto.randomUUID();
    } else setError(result.message);
  }

  async function refundAll() {
    if (!request?.amount || !transactionId) return;
    const result = (await refund({
      input: { merchantId, transactionId, amount: request.amount, idempotencyKey: refundKey.current },
    })).data?.refundPayment;
    if (result?.__typename === "RefundPayload") {
      setRefunded(`Refunded ${formatMoney(result.amount, request.currency)}`);
    } else setError(result?.message ?? "Network problem: try again.");
  }

  return (
    <section className="card send" aria-labelledby="pos-title">
      <h2 id="pos-title">{merchantName} · point of sale</h2>
      <form onSubmit={submit} noValidate>
        <div className="row">
          <div className="field">
            <label htmlFor="pos-amount">Charge (USD)</label>
            <input id="pos-amount" name="amount" inputMode="decimal" placeholder="0.00" />
          </div>
          <div className="field">
            <label htmlFor="pos-order">Order #</label>
            <input id="pos-order" name="order" placeholder="optional" />
          </div>
        </div>
        <div className="field">
          <label htmlFor="pos-description">Description</label>
          <input id="pos-description" name="description" placeholder="e.g. 2 flat whites" />
        </div>
        {error && <p className="error" role="alert">{error}</p>}
        <button className="primary" type="submit">Show QR code</button>
      </form>
      {request && (
        <div className={`pos-request${paid ? " paid" : ""}`} data-testid="pos-request">
          <p className="pos-amount">{request.amount && formatMoney(request.amount, request.currency)}</p>
          {paid ? (
            <p className="pos-status" role="status">Paid ✓</p>
          ) : (
            <>
              {/* The image needs this till's login (its cookie goes with the request). */}
              <img src={`/merchant/payment-requests/${request.id}/qr.svg`} alt="Payment QR code"
                   width={220} height={220} />
              <p className="muted small">Scan to pay, or tap · code <strong>{groupedCode(request.id)}</strong></p>
            </>
          )}
          {paid && !refunded && (
            <button className="small-secondary" onClick={refundAll}>Refund</button>
          )}
          {refunded && <p className="muted" role="status">{refunded}</p>}
        </div>
      )}
    </section>
  );
}
