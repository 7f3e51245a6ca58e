import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  BillersDocument,
  BillSchedulesDocument,
  PayBillDocument,
  SaveBillerDocument,
  ScheduleBillPaymentDocument,
  type Recurrence,
} from "./gql/graphql";
import { formatMoney } from "./money";
import { useStepUp } from "./stepUp";

/** Save a biller with your account number, then pay it. */
export function BillsPanel() {
  const [{ data }, refetch] = useQuery({ query: BillersDocument, requestPolicy: "network-only" });
  const [, save] = useMutation(SaveBillerDocument);
  const [, payBill] = useMutation(PayBillDocument);
  const [, scheduleBill] = useMutation(ScheduleBillPaymentDocument);
  const [{ data: schedules }, refetchSchedules] = useQuery({
    query: BillSchedulesDocument, requestPolicy: "network-only",
  });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const stepUp = useStepUp("pay this bill");
  const payForm = useRef<HTMLFormElement>(null);
  const payAgain = () => payForm.current?.requestSubmit();
  const key = useRef(crypto.randomUUID());
  const saved = data?.savedBillers ?? [];

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = (await save({
      merchantId: String(form.get("biller")),
      accountReference: String(form.get("reference") ?? ""),
      nickname: String(form.get("nickname") ?? ""),
    })).data?.saveBiller;
    if (result?.__typename === "SavedBillerPayload") {
      setMessage({ ok: true, text: "Biller saved" });
      refetch({ requestPolicy: "network-only" });
    } else setMessage({ ok: false, text: result?.message ?? "Network problem" });
  }

  async function pay(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const when = String(form.get("when") ?? "");
    if (when) {
      const result = (await scheduleBill({
        savedBillerId: String(form.get("saved")),
        amount: String(form.get("amount")).replace(/[$,\s]/g, ""),
        firstRun: new Date(`${when}T09:00:00`).toISOString(),
        recurrence: String(form.get("repeat")) as Recurrence,
      })).data?.scheduleBillPayment;
      if (result?.__typename === "StepUpRequired") return stepUp.ask(result.methods, payAgain);
      if (result?.__typename === "BillSchedulePayload") {
        const s = result.schedule;
        setMessage({ ok: true, text: `Scheduled ${formatMoney(s.amount, s.currency)} to ${s.billerName} on ${new Date(s.nextRunAt).toLocaleDateString()}` });
        refetchSchedules({ requestPolicy: "network-only" });
      } else setMessage({ ok: false, text: result?.message ?? "Network problem" });
      return;
    }
    const result = (await payBill({
      savedBillerId: String(form.get("saved")),
      amount: String(form.get("amount")).replace(/[$,\s]/g, ""),
      idempotencyKey: key.current,
    })).data?.payBill;
    if (!result) return setMessage({ ok: false, text: "Network problem: press Pay bill again." });
    if (result.__typename === "StepUpRequired") return stepUp.ask(result.methods, payAgain); // same key
    key.current = crypto.randomUUID();
    if (result.__typename === "BillPaidPayload") {
      const t = result.transaction;
      setMessage({ ok: true, text: `Paid ${formatMoney(t.amount, t.currency)} to ${t.merchant}` });
    } else setMessage({ ok: false, text: result.message });
  }

  return (
    <section className="card send" aria-labelledby="bills-title">
      <h2 id="bills-title">Pay a bill</h2>
      {saved.length > 0 && (
        <form ref={payForm} onSubmit={pay} noValidate>
          <div className="field">
            <label htmlFor="bill-saved">Bill</label>
            <select id="bill-saved" name="saved" className="select">
              {saved.map((b) => (
                <option key={b.id} value={b.id}>{b.nickname || b.billerName} · {b.accountReference}</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="bill-amount">Amount (USD)</label>
            <input id="bill-amount" name="amount" inputMode="decimal" placeholder="0.00" />
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="bill-when">Pay on (empty: now)</label>
              <input id="bill-when" name="when" type="date" />
            </div>
            <div className="field">
              <label htmlFor="bill-repeat">Repeat</label>
              <select id="bill-repeat" name="repeat" className="select" defaultValue="ONCE">
                <option value="ONCE">Once</option>
                <option value="WEEKLY">Weekly</option>
                <option value="MONTHLY">Monthly</option>
              </select>
            </div>
          </div>
          <button className="primary" type="submit">Pay bill</button>
        </form>
      )}
      {stepUp.prompt}
      {(schedules?.billSchedules ?? []).length > 0 && (
        <ul className="requests" data-testid="bill-schedules">
          {(schedules?.billSchedules ?? []).map((s) => (
            <li key={s.id}>
              <span>{s.billerName} · {formatMoney(s.amount, s.currency)} · {s.recurrence.toLowerCase()} ·
                next {new Date(s.nextRunAt).toLocaleDateString()} · {s.status.toLowerCase()}
                {s.lastError ? ` · ${s.lastError}` : ""}</span>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} className="link-method" noValidate aria-label="Add a biller">
        <div className="field">
          <label htmlFor="biller-select">Biller</label>
          <select id="biller-select" name="biller" className="select">
            {(data?.billers ?? []).map((b) => (
              <option key={b.merchantId} value={b.merchantId}>{b.name}</option>
            ))}
          </select>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="biller-reference">Account number</label>
            <input id="biller-reference" name="reference" inputMode="numeric" />
          </div>
          <div className="field">
            <label htmlFor="biller-nickname">Nickname</label>
            <input id="biller-nickname" name="nickname" />
          </div>
        </div>
        <button className="small-secondary" type="submit">Save biller</button>
      </form>
      {message && <p className={message.ok ? "success" : "error"} role="status">{message.text}</p>}
    </section>
  );
}
