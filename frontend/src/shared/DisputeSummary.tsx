import type { DisputeFieldsFragment } from "../gql/graphql";
import { formatMoney } from "./money";

/** A dispute in a line: amount, status, what each side said, the evidence. */
export function DisputeSummary({ d }: { d: DisputeFieldsFragment }) {
  return (
    <>
      <strong>#{d.id} · {formatMoney(d.amount, d.currency)} · {d.status.toLowerCase()}</strong>
      <span className="muted small">Buyer: {d.reason}</span>
      {d.merchantResponse && <span className="muted small">Merchant: {d.merchantResponse}</span>}
      {d.evidence.length > 0 && <span className="muted small">Evidence: {d.evidence.join(", ")}</span>}
    </>
  );
}
