import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery, useSubscription } from "urql";

import { formatTime } from "../shared/dates";
import {
  CreatePaymentRequestDocument,
  PaymentRequestUpdatedDocument,
  RefundPaymentRequestDocument,
  TillRequestDocument,
  TillSalesDocument,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { announceRefund, RefundConfirm, useOnRefund } from "./RefundConfirm";
import { refusalText } from "../shared/refusal";
import { nfcErrorText, nfcSupported, writePayTag } from "../pay/nfc";
import "../pay/scan.css";

/** The request's reference in groups of four, to read out or type (any case, dashes or not). */
export function groupedCode(reference: string): string {
  return reference.match(/.{1,4}/g)?.join("-") ?? reference;
}

/**
 * The till: type an amount, show the QR code (and the NFC record), turn green when the
 * customer pays; refund from here too. It shows one payment request at a time, and
 * everything it shows comes from that request (see `TillRequest`).
 */
export function PointOfSale({ merchantId, merchantName, role }: {
  merchantId: string; merchantName: string; role: string | null | undefined;
}) {
  const [, createRequest] = useMutation(CreatePaymentRequestDocument);
  const [reference, setReference] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [{ data: sales }, reloadSales] = useQuery({
    query: TillSalesDocument, variables: { merchantId }, requestPolicy: "network-only",
  });
  const refreshSales = useCallback(() => reloadSales({ requestPolicy: "network-only" }), [reloadSales]);
  useOnRefund(refreshSales);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    const result = (await createRequest({
      input: {
        merchantId,
        amount: String(form.get("amount")).replace(/[$,\s]/g, ""),
        orderId: String(form.get("order") || "") || null,
        description: String(form.get("description") ?? ""),
      },
    })).data?.createPaymentRequest;
    if (!result) return setError("Network problem: try again.");
    if (result.__typename === "PaymentRequestPayload") setReference(result.request.id);
    else setError(result.message);
  }

  const recent = (sales?.merchantPayments ?? []).filter((s) => s.requestId);
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
      {/* Keyed by the reference: a new charge starts from nothing, so no status, sale or
          refund of the request before can show on it. */}
      {reference && (
        <TillRequest key={reference} reference={reference} ownerRole={role === "OWNER"}
                     onChanged={refreshSales} />
      )}
      {recent.length > 0 && (
        <>
          <h3 id="till-sales-title">Recent sales</h3>
          <ul className="requests till-sales" aria-labelledby="till-sales-title">
            {recent.map((s) => (
              <li key={s.transactionId}>
                <span>
                  {formatTime(s.createdAt)} · {formatMoney(s.amount, s.currency)} · {s.payerName}
                  {/[1-9]/.test(s.refunded) ? ` · refunded ${formatMoney(s.refunded, s.currency)}` : ""}
                </span>
                <button className="link" onClick={() => setReference(s.requestId!)}
                        aria-current={s.requestId === reference ? "true" : undefined}>
                  Open
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/**
 * One payment request on the till: its QR while open, "Paid ✓" once its own payment
 * arrives, and a refund of that payment only. The query and the subscription are keyed
 * by its reference, and an event for any other request is ignored.
 */
function TillRequest({ reference, ownerRole, onChanged }: {
  reference: string; ownerRole: boolean; onChanged: () => void;
}) {
  const [{ data, fetching }, refetch] = useQuery({
    query: TillRequestDocument, variables: { reference }, requestPolicy: "network-only",
  });
  useOnRefund(useCallback(() => refetch({ requestPolicy: "network-only" }), [refetch]));
  const [live] = useSubscription({ query: PaymentRequestUpdatedDocument, variables: { requestId: reference } });
  const [, refund] = useMutation(RefundPaymentRequestDocument);
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const refundKey = useRef(crypto.randomUUID());
  const event = live.data?.paymentRequestUpdated;
  const heard = event && event.id === reference ? event.status : null;

  useEffect(() => {
    if (!heard) return;
    refetch({ requestPolicy: "network-only" });
    onChanged();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [heard]);

  const request = data?.merchantPaymentRequest;
  if (!request || request.id !== reference) {
    return (
      <div className="pos-request" data-testid="pos-request">
        <p className="muted">{fetching ? "Loading…" : "This payment request is not available."}</p>
      </div>
    );
  }
  const sale = request.sale;
  const paid = request.status === "PAID" || heard === "PAID";
  // What is left to refund comes from the server (the app does no arithmetic on money).
  const left = sale && /[1-9]/.test(sale.refundable) ? sale.refundable : null;

  async function confirm(ownerPin: string | null): Promise<string | null> {
    if (!left) return null;
    const result = (await refund({
      input: { requestId: reference, amount: left, idempotencyKey: refundKey.current, ownerPin },
    })).data?.refundPaymentRequest;
    if (result?.__typename !== "RefundPayload") {
      refetch({ requestPolicy: "network-only" });  // what is left may have changed elsewhere
      return refusalText(result);
    }
    setDone(`Refunded ${formatMoney(result.amount, request!.currency)}`);
    setConfirming(false);
    refundKey.current = crypto.randomUUID();
    announceRefund();
    return null;
  }

  return (
    <div className={`pos-request${paid ? " paid" : ""}`} data-testid="pos-request">
      <p className="pos-amount">{request.amount && formatMoney(request.amount, request.currency)}</p>
      {request.description && <p className="muted small">{request.description}</p>}
      {paid ? (
        <p className="pos-status" role="status">Paid ✓</p>
      ) : request.status === "OPEN" ? (
        <>
          {/* The image needs this till's login (its cookie goes with the request). */}
          <img src={`/merchant/payment-requests/${request.id}/qr.svg`} alt="Payment QR code"
               width={220} height={220} />
          <p className="muted small">{nfcSupported() ? "Scan to pay, or tap" : "Scan to pay"} · code <strong>{groupedCode(request.id)}</strong></p>
          <TagWriter payUrl={request.payUrl} />
        </>
      ) : (
        <p className="muted" role="status">This request is {request.status.toLowerCase()}.</p>
      )}
      {sale && (
        <p className="muted small">
          {sale.payerName} · {formatTime(sale.createdAt)}
          {/[1-9]/.test(sale.refunded) ? ` · refunded ${formatMoney(sale.refunded, sale.currency)}` : ""}
        </p>
      )}
      {sale && left && !confirming && (
        <button className="small-secondary" onClick={() => {
          // Read the sale afresh: a refund from the dashboard may have left less.
          refetch({ requestPolicy: "network-only" });
          setDone(null);
          setConfirming(true);
        }}>
          Refund
        </button>
      )}
      {sale && left && confirming && (
        <RefundConfirm sale={sale} amount={left} needsOwnerPin={!ownerRole} onConfirm={confirm}
                       onCancel={() => setConfirming(false)} />
      )}
      {done && <p className="muted" role="status">{done}</p>}
    </div>
  );
}

type TagState = { step: "idle" } | { step: "waiting" } | { step: "written" } | { step: "failed"; text: string };

/**
 * Writes this request's pay link to the NFC sticker at the counter (Web NFC, Chrome on
 * Android; docs/nfc.md), and says where that is: waiting for the tag, written, or what
 * went wrong. Elsewhere it says NFC is not available, and the QR code above stays the way
 * to pay. Leaving the request (a new charge) stops a write still waiting for its tag.
 */
function TagWriter({ payUrl }: { payUrl: string }) {
  const [state, setState] = useState<TagState>({ step: "idle" });
  const pending = useRef<AbortController | null>(null);
  useEffect(() => () => pending.current?.abort(), []);

  if (!nfcSupported()) {
    return (
      <p className="nfc-status muted small" data-testid="nfc-status">
        NFC is not available on this device (only Chrome on Android has it): customers scan the QR code.
      </p>
    );
  }

  async function write() {
    pending.current?.abort();
    const controller = new AbortController();
    pending.current = controller;
    setState({ step: "waiting" });
    try {
      await writePayTag(payUrl, controller.signal);
      if (!controller.signal.aborted) setState({ step: "written" });
    } catch (error) {
      if (!controller.signal.aborted) setState({ step: "failed", text: nfcErrorText(error) });
    }
  }

  function cancel() {
    pending.current?.abort();
    pending.current = null;
    setState({ step: "idle" });
  }

  return (
    <div className={`nfc-writer nfc-writer-${state.step}`} data-testid="nfc-writer">
      {state.step === "waiting" ? (
        <button className="small-secondary" type="button" onClick={cancel}>Cancel</button>
      ) : (
        <button className="small-secondary" type="button" onClick={() => void write()}>
          {state.step === "written" ? "Write again" : "Write to NFC tag"}
        </button>
      )}
      <p className="nfc-status small" role="status" data-testid="nfc-status">
        {state.step === "idle" && "Write this sale to the counter's NFC tag: customers tap it to pay."}
        {state.step === "waiting" && "Waiting for the tag: hold it to the back of this phone…"}
        {state.step === "written" && "Written ✓ Customers can tap the tag to pay this sale."}
        {state.step === "failed" && state.text}
      </p>
    </div>
  );
}
