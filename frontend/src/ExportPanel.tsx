import { useEffect, useState } from "react";
import { useMutation, useQuery } from "urql";

import { formatMonth } from "./dates";
import { RequestStatementDocument, StatementsDocument } from "./gql/graphql";

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Download transactions as CSV for any range, and monthly PDF statements. */
export function ExportPanel() {
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1))));
  const [to, setTo] = useState(isoDay(today));
  const [{ data }, reload] = useQuery({ query: StatementsDocument, requestPolicy: "network-only" });
  const [, requestStatement] = useMutation(RequestStatementDocument);
  const [waiting, setWaiting] = useState(false);
  const statements = data?.statements ?? [];

  // The worker builds a requested statement in a moment: look again until it is there.
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => reload({ requestPolicy: "network-only" }), 1000);
    return () => clearInterval(timer);
  }, [waiting, reload]);
  useEffect(() => {
    if (waiting && statements.length > 0) setWaiting(false);
  }, [waiting, statements.length]);

  async function askForThisMonth() {
    const month = isoDay(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1)));
    const payload = (await requestStatement({ month })).data?.requestStatement;
    if (payload?.__typename === "StatementRequestedPayload") setWaiting(true);
  }

  return (
    <div className="exports">
      <h3>Export</h3>
      <div className="row">
        <div className="field">
          <label htmlFor="export-from">From</label>
          <input id="export-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="export-to">To</label>
          <input id="export-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </div>
      </div>
      <a className="button secondary" href={`/export/transactions.csv?from=${from}&to=${to}`} download>
        Download CSV
      </a>
      <h3>Statements</h3>
      <ul className="statement-list">
        {statements.map((s) => (
          <li key={String(s.month)}>
            <a href={s.downloadUrl} download>Statement {formatMonth(s.month)} (PDF)</a>
          </li>
        ))}
      </ul>
      {waiting && <p className="muted" role="status">Preparing your statement…</p>}
      <button className="link" onClick={askForThisMonth}>Get this month's statement so far</button>
    </div>
  );
}
