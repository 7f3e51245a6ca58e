import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { formatDateTime, formatDay } from "../shared/dates";
import {
  ChartOfAccountsDocument,
  MatchBreakByHandDocument,
  ProposeBreakAdjustmentDocument,
  ReconcileDayDocument,
  ReconciliationItemsDocument,
  ReconciliationOverviewDocument,
  ResolvedBreaksDocument,
  type BreakFieldsFragment,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { pressed } from "./OperatorQueue";
import { refusalText } from "../shared/refusal";

const KINDS: Record<string, string> = {
  missing: "Missing from the file",
  duplicate: "Duplicate line",
  amount_mismatch: "Amount differs",
  unknown: "Unknown item",
};

const RESOLUTIONS: Record<string, string> = {
  arrived_late: "arrived late",
  matched_later: "matched when its record arrived",
  matched_by_hand: "matched by hand",
  adjusted: "adjusting entry approved",
};

function yesterday(): string {
  const d = new Date(Date.now() - 86_400_000);
  return d.toISOString().slice(0, 10);
}

function money(amount: string | null | undefined, currency: string): string {
  return amount == null ? "—" : formatMoney(amount, currency);
}

/** One open break and what an admin can do about it. */
function OpenBreak({ item, admin, onDone }: {
  item: BreakFieldsFragment; admin: boolean; onDone: (message: string) => void;
}) {
  const [{ data: chart }] = useQuery({ query: ChartOfAccountsDocument });
  const [, matchByHand] = useMutation(MatchBreakByHandDocument);
  const [, propose] = useMutation(ProposeBreakAdjustmentDocument);
  const [error, setError] = useState<string | null>(null);
  const counters = (chart?.chartOfAccounts ?? []).filter(
    (a) => a.currency === item.currency && a.purpose !== "gateway_clearing:sandbox",
  );

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = String(form.get("note") ?? "");
    if (pressed(event) === "hand") {
      const result = (await matchByHand({ breakId: item.id, note: text })).data?.matchBreakByHand;
      if (result?.__typename === "BreakResolvedPayload") onDone(`Break #${item.id} matched by hand`);
      else setError(refusalText(result));
    } else {
      const result = (await propose({
        breakId: item.id,
        counterAccountId: String(form.get("counter") ?? ""),
        reason: text,
      })).data?.proposeBreakAdjustment;
      if (result?.__typename === "AdjustmentPayload") {
        onDone(`Adjustment #${result.adjustment.id} proposed: a second admin approves it under Adjustments`);
      } else setError(refusalText(result));
    }
  }

  return (
    <li data-testid={`break-${item.id}`} className="console-row">
      <p>
        <span className={`badge badge-${item.kind === "unknown" || item.kind === "missing" ? "failed" : "pending"}`}>
          {KINDS[item.kind] ?? item.kind}
        </span>
        <strong>{item.reference || `transaction #${item.transactionId}`}</strong>
        {" · "}{item.source} file of {formatDay(item.businessDate)}
      </p>
      <p className="muted small">{item.detail}</p>
      <p className="small">
        Ledger {money(item.ledgerAmount, item.currency)} · File {money(item.fileAmount, item.currency)}
        {" · "}open since {formatDateTime(item.openedAt)}
      </p>
      {admin && (
        <form onSubmit={submit} className="console-form">
          <div className="field">
            <label htmlFor={`break-note-${item.id}`}>Note or reason</label>
            <input id={`break-note-${item.id}`} name="note" maxLength={1000} />
          </div>
          {item.kind !== "duplicate" && (
            <div className="field">
              <label htmlFor={`break-counter-${item.id}`}>Counter account (for an adjusting entry)</label>
              <select id={`break-counter-${item.id}`} name="counter" className="select" key={counters.length}
                defaultValue={counters.find((a) => a.purpose === "reconciliation_suspense")?.id}>
                {counters.map((a) => <option key={a.id} value={a.id}>{a.code}</option>)}
              </select>
            </div>
          )}
          <div className="link-buttons">
            <button className="small-secondary" type="submit" value="hand">Matched by hand</button>
            {item.kind !== "duplicate" && (
              <button className="small-primary" type="submit" value="adjust">Propose adjusting entry</button>
            )}
          </div>
          {error && <p className="error" role="alert">{error}</p>}
        </form>
      )}
    </li>
  );
}

function FileLines({ runId }: { runId: string }) {
  const [{ data }] = useQuery({ query: ReconciliationItemsDocument, variables: { runId } });
  const items = data?.reconciliationItems;
  if (!items) return <p className="muted">Loading…</p>;
  return (
    <div className="table-scroll">
      <table className="ledger-table">
        <thead>
          <tr><th>#</th><th>Kind</th><th>Reference</th><th>Counterparty</th><th className="num">Amount</th><th>Status</th></tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id}>
              <td>{i.line}</td><td>{i.kind}</td><td className="mono">{i.reference || "—"}</td>
              <td>{i.counterparty}</td><td className="num">{formatMoney(i.amount, i.currency)}</td>
              <td>{i.status === "matched" ? `matched (${i.matchedBy?.replaceAll("_", " ")})` : "break"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function ReconciliationPage({ role }: { role: string }) {
  const admin = role === "ADMIN";
  const [{ data }, reload] = useQuery({ query: ReconciliationOverviewDocument, requestPolicy: "network-only" });
  const [{ data: resolved }, reloadResolved] = useQuery({ query: ResolvedBreaksDocument, requestPolicy: "network-only" });
  const [{ fetching: reconciling }, reconcile] = useMutation(ReconcileDayDocument);
  const [message, setMessage] = useState<string | null>(null);
  const [openRun, setOpenRun] = useState<string | null>(null);

  function refresh(note: string) {
    setMessage(note);
    reload({ requestPolicy: "network-only" });
    reloadResolved({ requestPolicy: "network-only" });
  }

  async function runDay(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const day = String(new FormData(event.currentTarget).get("day") ?? "");
    const result = (await reconcile({ day })).data?.reconcileDay;
    if (result?.__typename === "ReconciledDayPayload") {
      const breaks = result.runs.reduce((n, r) => n + r.openBreaks, 0);
      refresh(`Reconciled ${formatDay(day)}: ${result.runs.length} files, ${breaks} open breaks`);
    } else setMessage(refusalText(result));
  }

  if (!data) return <p className="muted" role="status">Loading…</p>;
  const breaks = data.reconciliationBreaks ?? [];
  const done = (resolved?.reconciliationBreaks ?? []).filter((b) => b.status === "resolved");
  return (
    <>
      <h1>Reconciliation</h1>
      {message && <p className="muted" role="status">{message}</p>}
      {admin && (
        <form className="card console-inline" onSubmit={runDay}>
          <div className="field">
            <label htmlFor="reconcile-day">Day to reconcile</label>
            <input id="reconcile-day" name="day" type="date" defaultValue={yesterday()} required />
          </div>
          <button className="small-primary" type="submit" disabled={reconciling}>
            {reconciling ? "Fetching files…" : "Fetch and reconcile"}
          </button>
        </form>
      )}

      <section className="card" aria-labelledby="open-breaks">
        <h2 id="open-breaks">Open breaks ({breaks.length})</h2>
        {breaks.length === 0 && <p className="muted">Nothing open: the ledger agrees with every file.</p>}
        <ul className="requests" data-testid="open-breaks">
          {breaks.map((b) => <OpenBreak key={b.id} item={b} admin={admin} onDone={refresh} />)}
        </ul>
      </section>

      <section className="card" aria-labelledby="safeguarding">
        <h2 id="safeguarding">Safeguarding</h2>
        <p className="muted small">
          Customer money held (user and merchant balances at the end of the day) against the
          safeguarding account's closing balance on the bank statement.
        </p>
        {(data.safeguardingChecks ?? []).length === 0 && <p className="muted">No bank statement imported yet.</p>}
        <div className="table-scroll">
          <table className="ledger-table" data-testid="safeguarding">
            <thead><tr><th>Day</th><th className="num">Customer money</th><th className="num">Bank</th><th className="num">Difference</th></tr></thead>
            <tbody>
              {(data.safeguardingChecks ?? []).map((c) => (
                <tr key={`${c.businessDate}-${c.currency}-${c.checkedAt}`}>
                  <td>{formatDay(c.businessDate)}</td>
                  <td className="num">{formatMoney(c.customerMoney, c.currency)}</td>
                  <td className="num">{formatMoney(c.bankBalance, c.currency)}</td>
                  <td className={`num ${c.difference.startsWith("-") ? "error" : ""}`}>
                    {formatMoney(c.difference, c.currency)}{c.difference.startsWith("-") ? " shortfall" : ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section className="card" aria-labelledby="runs">
        <h2 id="runs">Files imported</h2>
        {(data.reconciliationRuns ?? []).length === 0 && <p className="muted">No files yet.</p>}
        <ul className="requests" data-testid="reconciliation-runs">
          {(data.reconciliationRuns ?? []).map((r) => (
            <li key={r.id} className="console-row">
              <p>
                <strong>{formatDay(r.businessDate)}</strong> · {r.source} ({r.format}) · {r.matched}/{r.items} matched
                {r.openBreaks > 0 && <> · <span className="error">{r.openBreaks} open</span></>}
              </p>
              <button className="small-secondary" onClick={() => setOpenRun(openRun === r.id ? null : r.id)}>
                {openRun === r.id ? "Hide lines" : `Lines of ${r.fileName}`}
              </button>
              {openRun === r.id && <FileLines runId={r.id} />}
            </li>
          ))}
        </ul>
      </section>

      <section className="card" aria-labelledby="resolved-breaks">
        <h2 id="resolved-breaks">Resolved</h2>
        {done.length === 0 && <p className="muted">None yet.</p>}
        <ul className="requests" data-testid="resolved-breaks">
          {done.map((b) => (
            <li key={b.id} className="console-row">
              <p>
                {KINDS[b.kind] ?? b.kind} · <span className="mono">{b.reference || `#${b.transactionId}`}</span>
                {" · "}{RESOLUTIONS[b.resolution ?? ""] ?? b.resolution}
              </p>
              {b.note && <p className="muted small">{b.note}</p>}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
