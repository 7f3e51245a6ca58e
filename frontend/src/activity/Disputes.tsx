import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  ConfirmDeliveryDocument,
  DecideDisputeDocument,
  DisputesToDecideDocument,
  MerchantDisputesDocument,
  OpenDisputeDocument,
  RespondToDisputeDocument,
  type DisputeFieldsFragment,
} from "../gql/graphql";
import { OperatorQueue } from "../shared/OperatorQueue";
import { formatMoney } from "../shared/money";

/** Buyer side, inside a payment's detail: confirm delivery, or open a dispute. */
export function PaymentProtection({ paymentId, pending, onChange }: {
  paymentId: string; pending: boolean; onChange: () => void;
}) {
  const [, openDispute] = useMutation(OpenDisputeDocument);
  const [, confirm] = useMutation(ConfirmDeliveryDocument);
  const [writing, setWriting] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "");
    const result = (await openDispute({ paymentId, reason })).data?.openDispute;
    if (result?.__typename === "DisputePayload") {
      setMessage(`Dispute opened: ${formatMoney(result.dispute.amount, result.dispute.currency)} is on hold`);
      setWriting(false);
      onChange();
    } else setMessage(result?.message ?? "Network problem: try again.");
  }

  return (
    <div className="protection">
      {pending && (
        <button className="small-primary" onClick={async () => {
          const result = (await confirm({ paymentId })).data?.confirmDelivery;
          setMessage(result?.__typename === "DeliveryConfirmedPayload" ? "Delivery confirmed" : result?.message ?? "");
          onChange();
        }}>Confirm delivery</button>
      )}
      {!writing && <button className="small-secondary" onClick={() => setWriting(true)}>Open a dispute</button>}
      {writing && (
        <form onSubmit={submit}>
          <div className="field">
            <label htmlFor={`reason-${paymentId}`}>What went wrong?</label>
            <input id={`reason-${paymentId}`} name="reason" />
          </div>
          <button className="small-primary" type="submit">Send dispute</button>
        </form>
      )}
      {message && <p className="muted small" role="status">{message}</p>}
    </div>
  );
}

function DisputeSummary({ d }: { d: DisputeFieldsFragment }) {
  return (
    <>
      <strong>#{d.id} · {formatMoney(d.amount, d.currency)} · {d.status.toLowerCase()}</strong>
      <span className="muted small">Buyer: {d.reason}</span>
      {d.merchantResponse && <span className="muted small">Merchant: {d.merchantResponse}</span>}
      {d.evidence.length > 0 && <span className="muted small">Evidence: {d.evidence.join(", ")}</span>}
    </>
  );
}

/** Merchant side: the shop's disputes, answered with a statement and files. */
export function MerchantDisputes({ merchantId, showEmpty = false }: { merchantId: string; showEmpty?: boolean }) {
  const [{ data }, refetch] = useQuery({ query: MerchantDisputesDocument, variables: { merchantId },
                                         requestPolicy: "network-only" });
  const [, respond] = useMutation(RespondToDisputeDocument);
  const disputes = data?.merchantDisputes ?? [];
  if (disputes.length === 0) {
    return showEmpty && data ? (
      <section className="card empty-state" aria-labelledby="merchant-disputes-title">
        <h2 id="merchant-disputes-title">Disputes</h2>
        <p className="muted">No disputes. If a customer disputes a payment, it shows here for you to answer.</p>
      </section>
    ) : null;
  }

  async function submit(event: FormEvent<HTMLFormElement>, disputeId: string) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const file = form.get("file");
    const files = [];
    if (file instanceof File && file.size > 0) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      files.push({ filename: file.name, contentBase64: btoa(String.fromCharCode(...bytes)) });
    }
    await respond({ disputeId, response: String(form.get("response") ?? ""), files });
    refetch({ requestPolicy: "network-only" });
  }

  return (
    <section className="card send" aria-labelledby="merchant-disputes-title">
      <h2 id="merchant-disputes-title">Disputes</h2>
      <ul className="requests" data-testid="merchant-disputes">
        {disputes.map((d) => (
          <li key={d.id}>
            <DisputeSummary d={d} />
            {(d.status === "OPEN" || d.status === "RESPONDED") && (
              <form onSubmit={(e) => submit(e, d.id)}>
                <div className="field">
                  <label htmlFor={`response-${d.id}`}>Your answer</label>
                  <input id={`response-${d.id}`} name="response" />
                </div>
                <div className="field">
                  <label htmlFor={`file-${d.id}`}>Evidence file</label>
                  <input id={`file-${d.id}`} name="file" type="file" />
                </div>
                <button className="small-primary" type="submit">Send answer</button>
              </form>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Mediators: decide disputes (refund 0 to all; the rest goes to the merchant). */
export function MediatorQueue() {
  const [{ data }, refetch] = useQuery({ query: DisputesToDecideDocument, requestPolicy: "network-only" });
  const [, decide] = useMutation(DecideDisputeDocument);
  const [message, setMessage] = useState<string | null>(null);
  const queue = data?.disputesToDecide;
  if (!queue) return null;

  async function submit(event: FormEvent<HTMLFormElement>, disputeId: string) {
    event.preventDefault();
    const refundAmount = String(new FormData(event.currentTarget).get("refund") ?? "0");
    const result = (await decide({ disputeId, refundAmount })).data?.decideDispute;
    setMessage(result?.__typename === "DisputePayload"
      ? `Dispute #${disputeId} ${result.dispute.status.toLowerCase()}`
      : result?.message ?? "Network problem");
    refetch({ requestPolicy: "network-only" });
  }

  return (
    <OperatorQueue id="mediator-title" title="Disputes to decide" testId="mediator-queue" items={queue} message={message}>
      {(d) => (
          <li key={d.id}>
            <DisputeSummary d={d} />
            <form onSubmit={(e) => submit(e, d.id)}>
              <div className="field">
                <label htmlFor={`refund-${d.id}`}>Refund to buyer</label>
                <input id={`refund-${d.id}`} name="refund" inputMode="decimal" placeholder="0.00" />
              </div>
              <button className="small-primary" type="submit">Decide</button>
            </form>
          </li>
      )}
    </OperatorQueue>
  );
}
