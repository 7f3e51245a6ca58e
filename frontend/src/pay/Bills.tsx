import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { formatDate, ordinal } from "../shared/dates";
import {
  BillersDocument,
  BillSchedulesDocument,
  CancelBillScheduleDocument,
  PayBillDocument,
  SaveBillerDocument,
  ScheduleBillPaymentDocument,
  UpdateBillScheduleDocument,
  type BillScheduleFieldsFragment,
  type Recurrence,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { refusalText } from "../shared/refusal";
import { useStepUp } from "../shared/stepUp";

const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const WEEKDAY = new Intl.DateTimeFormat(undefined, { weekday: "long" });

/** "2027-01-31" for a date input: the run's local day. */
function localDay(value: unknown): string {
  const d = new Date(String(value));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** How often, in words: "monthly on the 31st (the last day in shorter months)". */
function cadence(s: BillScheduleFieldsFragment): string {
  if (s.recurrence === "MONTHLY" && s.dayOfMonth) {
    const short = s.dayOfMonth > 28 ? " (the last day in shorter months)" : "";
    return `monthly on the ${ordinal(s.dayOfMonth)}${short}`;
  }
  if (s.recurrence === "WEEKLY") return `weekly on ${WEEKDAY.format(new Date(String(s.nextRunAt)))}s`;
  return "once";
}

/** Save a biller with your account number, then pay it now or on a schedule. */
export function BillsPanel() {
  const [{ data }, refetch] = useQuery({ query: BillersDocument, requestPolicy: "network-only" });
  const [, save] = useMutation(SaveBillerDocument);
  const [, payBill] = useMutation(PayBillDocument);
  const [, scheduleBill] = useMutation(ScheduleBillPaymentDocument);
  const [{ data: schedules }, refetchSchedules] = useQuery({
    query: BillSchedulesDocument, requestPolicy: "network-only",
  });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [billerId, setBillerId] = useState<string | null>(null);
  const stepUp = useStepUp("pay this bill");
  const payForm = useRef<HTMLFormElement>(null);
  const payAgain = () => payForm.current?.requestSubmit();
  const key = useRef(crypto.randomUUID());
  const saved = data?.savedBillers ?? [];
  const billers = data?.billers ?? [];
  const chosen = billers.find((b) => b.merchantId === billerId) ?? billers[0];
  const reloadSchedules = () => refetchSchedules({ requestPolicy: "network-only" });

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
        timeZone: TIME_ZONE,
      })).data?.scheduleBillPayment;
      if (result?.__typename === "StepUpRequired") return stepUp.ask(result.methods, payAgain);
      if (result?.__typename === "BillSchedulePayload") {
        const s = result.schedule;
        setMessage({ ok: true, text: `Scheduled ${formatMoney(s.amount, s.currency)} to ${s.billerName} on ${formatDate(s.nextRunAt)}` });
        reloadSchedules();
      } else setMessage({ ok: false, text: refusalText(result) });
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
        <>
          <h3 id="bill-schedules-title">Scheduled payments</h3>
          <ul className="requests" data-testid="bill-schedules" aria-labelledby="bill-schedules-title">
            {(schedules?.billSchedules ?? []).map((s) => (
              <ScheduleRow key={s.id} schedule={s} onChanged={(text) => {
                setMessage({ ok: true, text });
                reloadSchedules();
              }} />
            ))}
          </ul>
        </>
      )}
      <form onSubmit={add} className="link-method" noValidate aria-label="Add a biller">
        <div className="field">
          <label htmlFor="biller-select">Biller</label>
          <select id="biller-select" name="biller" className="select" value={chosen?.merchantId ?? ""}
                  onChange={(event) => setBillerId(event.currentTarget.value)}>
            {billers.map((b) => (
              <option key={b.merchantId} value={b.merchantId}>{b.name}</option>
            ))}
          </select>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="biller-reference">Account number</label>
            <input id="biller-reference" name="reference" inputMode="numeric" autoComplete="off"
                   aria-describedby={chosen?.referenceFormat ? "biller-reference-format" : undefined} />
            {chosen?.referenceFormat && (
              <span id="biller-reference-format" className="muted small">
                {chosen.referenceFormat}, as on your {chosen.name} bill
              </span>
            )}
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

/** One scheduled payment: what, how often, when next; its payer may change or cancel it. */
function ScheduleRow({ schedule: s, onChanged }: {
  schedule: BillScheduleFieldsFragment; onChanged: (text: string) => void;
}) {
  const [, update] = useMutation(UpdateBillScheduleDocument);
  const [, cancel] = useMutation(CancelBillScheduleDocument);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const stepUp = useStepUp("change this payment");
  const form = useRef<HTMLFormElement>(null);
  const formId = `schedule-${s.id}`;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const fields = new FormData(event.currentTarget);
    const amount = String(fields.get("amount") ?? "").replace(/[$,\s]/g, "");
    const day = String(fields.get("day") ?? "");
    const result = (await update({
      scheduleId: s.id,
      amount: amount && amount !== s.amount ? amount : null,
      nextRunOn: day && day !== localDay(s.nextRunAt) ? day : null,
    })).data?.updateBillSchedule;
    if (result?.__typename === "StepUpRequired") {
      return stepUp.ask(result.methods, () => form.current?.requestSubmit());
    }
    if (result?.__typename !== "BillSchedulePayload") return setError(refusalText(result));
    setEditing(false);
    setError(null);
    const next = result.schedule;
    onChanged(`${next.billerName}: ${formatMoney(next.amount, next.currency)}, next on ${formatDate(next.nextRunAt)}`);
  }

  async function stop() {
    const result = (await cancel({ scheduleId: s.id })).data?.cancelBillSchedule;
    if (result?.__typename !== "BillSchedulePayload") return setError(refusalText(result));
    onChanged(`Cancelled the payments to ${s.billerName}`);
  }

  return (
    <li>
      <span>
        {s.billerName} · {formatMoney(s.amount, s.currency)} · {cadence(s)}
        {s.status === "ACTIVE" ? ` · next ${formatDate(s.nextRunAt)}` : ` · ${s.status.toLowerCase()}`}
        {s.lastError ? ` · ${s.lastError}` : ""}
      </span>
      {s.status === "ACTIVE" && !editing && (
        <div className="request-actions">
          <button className="small-secondary" onClick={() => setEditing(true)}
                  aria-label={`Change the payment to ${s.billerName}`}>Change</button>
          <button className="link" onClick={stop}
                  aria-label={`Cancel the payments to ${s.billerName}`}>Cancel payments</button>
        </div>
      )}
      {editing && (
        <form ref={form} onSubmit={submit} noValidate aria-label={`Change the payment to ${s.billerName}`}>
          <div className="row">
            <div className="field">
              <label htmlFor={`${formId}-amount`}>New amount</label>
              <input id={`${formId}-amount`} name="amount" inputMode="decimal" defaultValue={s.amount} />
            </div>
            <div className="field">
              <label htmlFor={`${formId}-day`}>Next payment on</label>
              <input id={`${formId}-day`} name="day" type="date" defaultValue={localDay(s.nextRunAt)} />
            </div>
          </div>
          {s.recurrence === "MONTHLY" && (
            <p className="muted small">Later payments follow on that day of each month.</p>
          )}
          <div className="request-actions">
            <button className="small-primary" type="submit">Save</button>
            <button className="small-secondary" type="button" onClick={() => { setEditing(false); setError(null); }}>
              Keep as it is
            </button>
          </div>
        </form>
      )}
      {stepUp.prompt}
      {error && <p className="error" role="alert">{error}</p>}
    </li>
  );
}
