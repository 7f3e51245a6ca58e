import { useRef, useState, type FormEvent } from "react";
import { useMutation } from "urql";

import { SendMoneyDocument } from "./gql/graphql";
import { formatMoney } from "./money";

type Outcome = { kind: "sent" | "refused"; text: string } | null;

/**
 * Send money to a phone, email or @username. One idempotency key per intended transfer:
 * a retry after a network error reuses it (no double send); a success starts a new one.
 */
export function SendMoneyForm() {
  const [{ fetching }, sendMoney] = useMutation(SendMoneyDocument);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const idempotencyKey = useRef(crypto.randomUUID());

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    setOutcome(null);
    const result = await sendMoney({
      input: {
        recipient: String(form.get("recipient")),
        amount: String(form.get("amount")).replace(/[$,\s]/g, ""),
        note: String(form.get("note") ?? ""),
        idempotencyKey: idempotencyKey.current,
      },
    });
    const payload = result.data?.sendMoney;
    if (!payload) {
      setOutcome({ kind: "refused", text: "Network problem: press Send again to retry safely." });
      return;
    }
    if (payload.__typename === "SendMoneyPayload") {
      const t = payload.transfer;
      const money = formatMoney(t.amount, t.currency);
      setOutcome({
        kind: "sent",
        text: t.recipientUsername
          ? `Sent ${money} to @${t.recipientUsername}`
          : `${money} is waiting for ${t.recipientContact}: we invited them to claim it`,
      });
      idempotencyKey.current = crypto.randomUUID();
      formElement.reset();
      return;
    }
    const details =
      payload.__typename === "ValidationError" ? payload.fieldErrors.map((e) => e.message).join(" ") : "";
    setOutcome({ kind: "refused", text: details || payload.message });
    idempotencyKey.current = crypto.randomUUID();
  }

  return (
    <section className="card send" aria-labelledby="send-title">
      <h2 id="send-title">Send money</h2>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="send-recipient">To</label>
          <input id="send-recipient" name="recipient" placeholder="Phone, email or @username"
                 autoComplete="off" required />
        </div>
        <div className="field">
          <label htmlFor="send-amount">Amount (USD)</label>
          <input id="send-amount" name="amount" inputMode="decimal" placeholder="0.00" required />
        </div>
        <div className="field">
          <label htmlFor="send-note">Note (optional)</label>
          <input id="send-note" name="note" maxLength={280} placeholder="What's it for?" />
        </div>
        {outcome && (
          <p className={outcome.kind === "sent" ? "success" : "error"} role="status">
            {outcome.text}
          </p>
        )}
        <button className="primary" type="submit" disabled={fetching}>
          {fetching ? "Sending…" : "Send"}
        </button>
      </form>
    </section>
  );
}
