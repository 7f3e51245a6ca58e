import { useState, type FormEvent } from "react";
import { useMutation } from "urql";

import { ConfirmDeliveryDocument, OpenDisputeDocument } from "../gql/graphql";
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
