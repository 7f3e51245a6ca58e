import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { formatDateTime } from "../shared/dates";
import {
  ApproveAdjustmentDocument,
  ChartOfAccountsDocument,
  LedgerAdjustmentsDocument,
  ProposeAdjustmentDocument,
  ProposeReversalDocument,
  RejectAdjustmentDocument,
  type AdjustmentFieldsFragment,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { pressed } from "./OperatorQueue";
import { refusalText } from "../shared/refusal";

function what(a: AdjustmentFieldsFragment, codes: Map<string, string>): string {
  if (a.kind === "reversal") return `Reverse transaction #${a.transactionId}`;
  const amount = a.amount && a.currency ? formatMoney(a.amount, a.currency) : "";
  const debit = codes.get(a.debitAccountId ?? "") ?? `#${a.debitAccountId}`;
  const credit = codes.get(a.creditAccountId ?? "") ?? `#${a.creditAccountId}`;
  return `${amount}: debit ${debit}, credit ${credit}`;
}

/** Proposals waiting for a second admin, and how past ones were decided. */
export default function AdjustmentsPage({ role }: { role: string }) {
  const admin = role === "ADMIN";
  const [{ data: open }, reloadOpen] = useQuery({
    query: LedgerAdjustmentsDocument, variables: { openOnly: true }, requestPolicy: "network-only",
  });
  const [{ data: all }, reloadAll] = useQuery({
    query: LedgerAdjustmentsDocument, variables: { openOnly: false }, requestPolicy: "network-only",
  });
  const [{ data: chart }] = useQuery({ query: ChartOfAccountsDocument });
  const [, approve] = useMutation(ApproveAdjustmentDocument);
  const [, reject] = useMutation(RejectAdjustmentDocument);
  const [, propose] = useMutation(ProposeAdjustmentDocument);
  const [, proposeReversal] = useMutation(ProposeReversalDocument);
  const [message, setMessage] = useState<string | null>(null);
  const [currency, setCurrency] = useState("USD");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const codes = new Map((chart?.chartOfAccounts ?? []).map((a) => [a.id, a.code]));

  function refresh(note: string) {
    setMessage(note);
    setErrors({});
    reloadOpen({ requestPolicy: "network-only" });
    reloadAll({ requestPolicy: "network-only" });
  }

  async function decide(event: FormEvent<HTMLFormElement>, id: string) {
    event.preventDefault();
    const note = String(new FormData(event.currentTarget).get("note") ?? "");
    const approving = pressed(event) === "approve";
    const result = approving
      ? (await approve({ id, note })).data?.approveAdjustment
      : (await reject({ id, note })).data?.rejectAdjustment;
    if (result?.__typename === "AdjustmentPayload") {
      const a = result.adjustment;
      refresh(approving
        ? `Adjustment #${id} approved and posted${a.entryId ? ` (entry #${a.entryId})` : ""}${a.resultTransactionId ? ` (reversal #${a.resultTransactionId})` : ""}`
        : `Adjustment #${id} rejected`);
    } else {
      setErrors({ ...errors, [id]: refusalText(result) });
    }
  }

  async function proposeEntry(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = (await propose({
      debitAccountId: String(form.get("debit") ?? ""),
      creditAccountId: String(form.get("credit") ?? ""),
      amount: String(form.get("amount") ?? ""),
      currency: String(form.get("currency") ?? "USD"),
      reason: String(form.get("reason") ?? ""),
    })).data?.proposeAdjustment;
    if (result?.__typename === "AdjustmentPayload") {
      refresh(`Adjustment #${result.adjustment.id} proposed: a second admin approves it`);
      event.currentTarget?.reset();
    } else setErrors({ ...errors, entry: refusalText(result) });
  }

  async function reverse(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = (await proposeReversal({
      transactionId: String(form.get("transaction") ?? ""),
      reason: String(form.get("reason") ?? ""),
    })).data?.reverseTransaction;
    if (result?.__typename === "AdjustmentPayload") {
      refresh(`Reversal #${result.adjustment.id} proposed: a second admin approves it`);
    } else setErrors({ ...errors, reversal: refusalText(result) });
  }

  const waiting = open?.ledgerAdjustments ?? [];
  const decided = (all?.ledgerAdjustments ?? []).filter((a) => a.status !== "proposed");
  const accounts = chart?.chartOfAccounts ?? [];
  return (
    <>
      <h1>Adjustments</h1>
      <p className="muted">
        Every hand-made change to the ledger takes two admins: one proposes, another approves.
        Nothing is posted before the approval.
      </p>
      {message && <p className="muted" role="status">{message}</p>}
      <section className="card" aria-labelledby="waiting-adjustments">
        <h2 id="waiting-adjustments">Waiting for approval ({waiting.length})</h2>
        {waiting.length === 0 && <p className="muted">Nothing waiting.</p>}
        <ul className="requests" data-testid="waiting-adjustments">
          {waiting.map((a) => (
            <li key={a.id} className="console-row" data-testid={`adjustment-${a.id}`}>
              <p><strong>#{a.id}</strong> · {what(a, codes)}</p>
              <p className="small">“{a.reason}” · proposed by operator #{a.proposedBy}, {formatDateTime(a.proposedAt)}
                {a.breakId && <> · for break #{a.breakId}</>}</p>
              {admin && (
                <form onSubmit={(e) => decide(e, a.id)} className="console-form">
                  <div className="field">
                    <label htmlFor={`adjustment-note-${a.id}`}>Note</label>
                    <input id={`adjustment-note-${a.id}`} name="note" maxLength={2000} />
                  </div>
                  <div className="link-buttons">
                    <button className="small-primary" type="submit" value="approve">Approve and post</button>
                    <button className="small-secondary" type="submit" value="reject">Reject</button>
                  </div>
                  {errors[a.id] && <p className="error" role="alert">{errors[a.id]}</p>}
                </form>
              )}
            </li>
          ))}
        </ul>
      </section>

      {admin && (
        <div className="console-columns">
          <form className="card" onSubmit={proposeEntry} aria-labelledby="propose-entry">
            <h2 id="propose-entry">Propose an adjusting entry</h2>
            <div className="row">
              <div className="field">
                <label htmlFor="adjust-currency">Currency</label>
                <select id="adjust-currency" name="currency" className="select" value={currency}
                  onChange={(e) => setCurrency(e.target.value)}>
                  {[...new Set(accounts.map((a) => a.currency))].sort().map((c) => <option key={c}>{c}</option>)}
                </select>
              </div>
              <div className="field">
                <label htmlFor="adjust-amount">Amount</label>
                <input id="adjust-amount" name="amount" inputMode="decimal" required />
              </div>
            </div>
            <div className="field">
              <label htmlFor="adjust-debit">Debit account</label>
              <select id="adjust-debit" name="debit" className="select" key={`d-${currency}`}>
                {accounts.filter((a) => a.currency === currency).map((a) => <option key={a.id} value={a.id}>{a.code}</option>)}
              </select>
            </div>
            <div className="field">
              <label htmlFor="adjust-credit">Credit account</label>
              <select id="adjust-credit" name="credit" className="select" key={`c-${currency}`}>
                {accounts.filter((a) => a.currency === currency).map((a) => <option key={a.id} value={a.id}>{a.code}</option>)}
              </select>
            </div>
            <div className="field">
              <label htmlFor="adjust-reason">Reason</label>
              <input id="adjust-reason" name="reason" maxLength={2000} required />
            </div>
            <button className="small-primary" type="submit">Propose</button>
            {errors.entry && <p className="error" role="alert">{errors.entry}</p>}
          </form>
          <form className="card" onSubmit={reverse} aria-labelledby="propose-reversal">
            <h2 id="propose-reversal">Propose a reversal</h2>
            <p className="muted small">A completed transfer between wallets, reversed with a new entry.</p>
            <div className="field">
              <label htmlFor="reverse-transaction">Transaction number</label>
              <input id="reverse-transaction" name="transaction" inputMode="numeric" required />
            </div>
            <div className="field">
              <label htmlFor="reverse-reason">Reason</label>
              <input id="reverse-reason" name="reason" maxLength={2000} required />
            </div>
            <button className="small-primary" type="submit">Propose reversal</button>
            {errors.reversal && <p className="error" role="alert">{errors.reversal}</p>}
          </form>
        </div>
      )}

      <section className="card" aria-labelledby="decided-adjustments">
        <h2 id="decided-adjustments">Decided</h2>
        {decided.length === 0 && <p className="muted">None yet.</p>}
        <ul className="requests" data-testid="decided-adjustments">
          {decided.map((a) => (
            <li key={a.id} className="console-row">
              <p>
                <span className={`badge ${a.status === "rejected" ? "badge-failed" : ""}`}>{a.status}</span>
                <strong>#{a.id}</strong> · {what(a, codes)}
              </p>
              <p className="small muted">
                “{a.reason}” · proposed by #{a.proposedBy}, decided by #{a.decidedBy}
                {a.decidedAt && <>, {formatDateTime(a.decidedAt)}</>}
                {a.decisionNote && <> · “{a.decisionNote}”</>}
              </p>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
