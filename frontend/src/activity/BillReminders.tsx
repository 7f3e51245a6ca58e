import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  AcceptSuggestedBillReminderDocument,
  BillRemindersDocument,
  CreateBillReminderDocument,
  DeleteBillReminderDocument,
} from "../gql/graphql";
import { formatDay, ordinal } from "../shared/dates";
import { formatMoney } from "../shared/money";

/** Monthly bills: reminders set by hand or accepted from the detected ones. */
export function BillReminders() {
  const [{ data }, reload] = useQuery({ query: BillRemindersDocument, requestPolicy: "network-only" });
  const [, create] = useMutation(CreateBillReminderDocument);
  const [, accept] = useMutation(AcceptSuggestedBillReminderDocument);
  const [, remove] = useMutation(DeleteBillReminderDocument);
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => reload({ requestPolicy: "network-only" });

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const payload = (await create({
      input: {
        name: String(form.get("name")),
        amount: String(form.get("amount")).replace(/[,\s$€£¥₹]/g, ""),
        dayOfMonth: Number(form.get("day")),
      },
    })).data?.createBillReminder;
    if (payload?.__typename === "BillReminderPayload") {
      setMessage(null);
      formElement.reset();
      refresh();
    } else {
      setMessage(payload && "fieldErrors" in payload ? payload.fieldErrors.map((e) => e.message).join(" ")
        : payload && "message" in payload ? payload.message : "Network problem: try again.");
    }
  }

  return (
    <div className="reminders">
      <h3>Bill reminders</h3>
      <ul className="rule-list" aria-label="Bill reminders">
        {(data?.billReminders ?? []).map((r) => (
          <li key={r.id ?? r.name}>
            <span>{r.name} · about {formatMoney(r.amount, r.currency)} · due {formatDay(r.nextDue)}</span>
            <button className="link" onClick={async () => { if (r.id) await remove({ id: r.id }); refresh(); }}>Remove</button>
          </li>
        ))}
      </ul>
      {(data?.suggestedBillReminders ?? []).map((s, index) => (
        <p key={s.name} className="suggestion">
          You pay {s.name} about {formatMoney(s.amount, s.currency)} around the {ordinal(s.dayOfMonth)}.{" "}
          <button className="link" onClick={async () => { await accept({ index }); refresh(); }}>Remind me</button>
        </p>
      ))}
      <details>
        <summary>Add a reminder</summary>
        <form onSubmit={submit} noValidate>
          <div className="field">
            <label htmlFor="reminder-name">Bill</label>
            <input id="reminder-name" name="name" placeholder="Rent" />
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="reminder-amount">About (USD)</label>
              <input id="reminder-amount" name="amount" inputMode="decimal" placeholder="0.00" />
            </div>
            <div className="field">
              <label htmlFor="reminder-day">Due day (1-31)</label>
              <input id="reminder-day" name="day" inputMode="numeric" placeholder="1" />
            </div>
          </div>
          <button className="secondary" type="submit">Add reminder</button>
        </form>
      </details>
      {message && <p className="error" role="status">{message}</p>}
    </div>
  );
}
