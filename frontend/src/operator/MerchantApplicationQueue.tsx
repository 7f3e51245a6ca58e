import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { DecideMerchantApplicationDocument, MerchantApplicationsDocument, type MerchantDecision } from "../gql/graphql";
import { OperatorQueue, pressed } from "./OperatorQueue";
import { refusalText } from "../shared/refusal";

/** Compliance: businesses waiting for approval before their first payout. */
export function MerchantApplicationQueue() {
  const [{ data }, reload] = useQuery({ query: MerchantApplicationsDocument, requestPolicy: "network-only" });
  const [, decide] = useMutation(DecideMerchantApplicationDocument);
  const [message, setMessage] = useState<string | null>(null);
  const queue = data?.merchantApplications;
  if (!queue) return null;

  async function submit(event: FormEvent<HTMLFormElement>, merchantId: string) {
    event.preventDefault();
    const decision = (pressed(event) ?? "APPROVE") as MerchantDecision;
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "");
    const payload = (await decide({ merchantId, decision, reason })).data?.decideMerchantApplication;
    setMessage(payload?.__typename === "MerchantDecisionPayload"
      ? `${payload.application.name}: ${payload.application.status.toLowerCase()}`
      : refusalText(payload));
    reload({ requestPolicy: "network-only" });
  }

  return (
    <OperatorQueue id="merchant-queue-title" title="Businesses to approve" testId="merchant-queue"
                   items={queue} message={message}>
      {(m) => (
        <li key={m.merchantId}>
          <p>
            <strong>{m.name}</strong> · @{m.ownerUsername} ({m.ownerVerificationLevel.toLowerCase()}) ·
            MCC {m.mcc} · {m.city ? `${m.city}, ` : ""}{m.country}
          </p>
          <p className="muted">
            {m.legalName ?? "no legal name given"} ·{" "}
            {m.soleTrader ? "sole trader" : `registration ${m.registrationNumber ?? "not given"}`} ·{" "}
            {m.businessAddress ?? "no address given"}
          </p>
          <p className="muted">
            {m.website && <a href={m.website} target="_blank" rel="noreferrer noopener">{m.website}</a>}
            {m.website && m.description && " · "}
            {m.description}
          </p>
          <form onSubmit={(e) => submit(e, m.merchantId)}>
            <div className="field">
              <label htmlFor={`merchant-reason-${m.merchantId}`}>Why (kept for the audit)</label>
              <input id={`merchant-reason-${m.merchantId}`} name="reason" required />
            </div>
            <div className="link-buttons">
              <button className="primary" type="submit" value="APPROVE">Approve business</button>
              <button className="secondary" type="submit" value="REJECT">Reject business</button>
            </div>
          </form>
        </li>
      )}
    </OperatorQueue>
  );
}
