import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { DecideDisputeDocument, DisputesToDecideDocument } from "../gql/graphql";
import { OperatorQueue } from "./OperatorQueue";
import { DisputeSummary } from "../shared/DisputeSummary";

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
