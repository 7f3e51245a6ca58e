import type { FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { MerchantDisputesDocument, RespondToDisputeDocument } from "../gql/graphql";
import { DisputeSummary } from "../shared/DisputeSummary";

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
