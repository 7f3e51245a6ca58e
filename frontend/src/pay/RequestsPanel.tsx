import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery, useSubscription } from "urql";

import {
  CancelMoneyRequestDocument,
  DeclineMoneyRequestDocument,
  MoneyRequestReceivedDocument,
  MoneyRequestsDocument,
  PayMoneyRequestDocument,
  RequestMoneyDocument,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { refusalText } from "../shared/refusal";
import { BlockedReason, useWalletAction } from "../shared/Review";
import { useRefetchOn } from "../shared/refetch";
import { useStepUp } from "../shared/stepUp";

/** Who a request you made is addressed to: the @username, or the email or phone you
 * typed (the server does not say whether a wallet has it until they answer). */
function payerName(r: { payerUsername?: string | null; payerContact?: string | null }): string {
  return r.payerUsername ? `@${r.payerUsername}` : r.payerContact ?? "them";
}

/** Ask someone for money. */
export function RequestMoneyForm({ onRequested }: { onRequested: () => void }) {
  const [{ fetching }, requestMoney] = useMutation(RequestMoneyDocument);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const idempotencyKey = useRef(crypto.randomUUID());
  const gate = useWalletAction("REQUEST");

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const result = (await requestMoney({
      input: {
        payer: String(form.get("payer")),
        amount: String(form.get("amount")).replace(/[$,\s]/g, ""),
        note: String(form.get("note") ?? ""),
        idempotencyKey: idempotencyKey.current,
      },
    })).data?.requestMoney;
    if (!result) return setOutcome({ ok: false, text: "Network problem: press Request again." });
    idempotencyKey.current = crypto.randomUUID();
    if (result.__typename === "MoneyRequestPayload") {
      const r = result.request;
      setOutcome({ ok: true, text: `Requested ${formatMoney(r.amount, r.currency)} from ${payerName(r)}` });
      formElement.reset();
      onRequested();
    } else setOutcome({ ok: false, text: refusalText(result) });
  }

  return (
    <section className="card send" aria-labelledby="request-title">
      <h2 id="request-title">Request money</h2>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="request-payer">From</label>
          <input id="request-payer" name="payer" placeholder="Phone, email or @username" autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="request-amount">Amount (USD)</label>
          <input id="request-amount" name="amount" inputMode="decimal" placeholder="0.00" />
        </div>
        <div className="field">
          <label htmlFor="request-note">What for?</label>
          <input id="request-note" name="note" maxLength={280} />
        </div>
        {outcome && <p className={outcome.ok ? "success" : "error"} role="status">{outcome.text}</p>}
        <BlockedReason id="request-blocked" gate={gate} />
        <button className="primary" type="submit" disabled={fetching || !gate.allowed}
                aria-describedby={gate.allowed ? undefined : "request-blocked"}>
          {fetching ? "Requesting…" : "Request"}
        </button>
      </form>
    </section>
  );
}

/** Open requests: pay or decline the ones you received, cancel the ones you made. Live. */
export function RequestsPanel({ refreshKey }: { refreshKey: number }) {
  const [{ data }, refetch] = useQuery({ query: MoneyRequestsDocument, requestPolicy: "network-only" });
  const [received] = useSubscription({ query: MoneyRequestReceivedDocument });
  const [, pay] = useMutation(PayMoneyRequestDocument);
  const [, decline] = useMutation(DeclineMoneyRequestDocument);
  const [, cancel] = useMutation(CancelMoneyRequestDocument);
  const [message, setMessage] = useState<string | null>(null);
  const stepUp = useStepUp("pay this request");
  const payKeys = useRef<Record<string, string>>({});
  const [paying, setPaying] = useState<string | null>(null);
  const gate = useWalletAction("SEND");

  // A request arrived, or money moved (a request may have been paid): look again.
  useRefetchOn([received.data, refreshKey], () => refetch({ requestPolicy: "network-only" }));

  const open = (data?.moneyRequests ?? []).filter((r) => r.status === "OPEN");
  if (open.length === 0) return null;

  async function act(id: string, action: "pay" | "decline" | "cancel") {
    setMessage(null);
    let result;
    if (action === "pay") {
      payKeys.current[id] ??= crypto.randomUUID();
      setPaying(id);
      const paid = await pay({ input: { requestId: id, idempotencyKey: payKeys.current[id] } })
        .then((r) => r.data?.payMoneyRequest)
        .finally(() => setPaying(null));
      if (paid?.__typename === "StepUpRequired") {
        stepUp.ask(paid.methods, () => void act(id, "pay")); // the same payment, same key
        return;
      }
      result = paid;
    } else if (action === "decline") {
      result = (await decline({ id })).data?.declineMoneyRequest;
    } else {
      result = (await cancel({ id })).data?.cancelMoneyRequest;
    }
    if (result && result.__typename !== "MoneyRequestPayload") setMessage(refusalText(result));
    refetch({ requestPolicy: "network-only" });
  }

  return (
    <section className="card send" aria-labelledby="requests-title">
      <h2 id="requests-title">Requests</h2>
      <ul className="requests" data-testid="requests">
        {open.map((r) => (
          <li key={r.id}>
            <div>
              <strong>
                {r.incoming ? `@${r.requesterUsername} asks you for` : `You asked ${payerName(r)} for`}{" "}
                {formatMoney(r.amount, r.currency)}
              </strong>
              {r.note && <span className="muted small"> · {r.note}</span>}
            </div>
            <div className="request-actions">
              {r.incoming ? (
                <>
                  <button className="small-primary" onClick={() => act(r.id, "pay")}
                          disabled={paying === r.id || !gate.allowed}
                          aria-describedby={gate.allowed ? undefined : "request-pay-blocked"}>
                    {paying === r.id ? "Paying…" : "Pay"}
                  </button>
                  <button className="small-secondary" onClick={() => act(r.id, "decline")}>Decline</button>
                </>
              ) : (
                <button className="small-secondary" onClick={() => act(r.id, "cancel")}>Cancel</button>
              )}
            </div>
          </li>
        ))}
      </ul>
      <BlockedReason id="request-pay-blocked" gate={gate} />
      {stepUp.prompt}
      {message && <p className="error" role="alert">{message}</p>}
    </section>
  );
}
