import { type FormEvent, useEffect, useState } from "react";
import { useClient, useMutation, useQuery } from "urql";

import { formatMonth } from "../shared/dates";
import { RequestStatementDocument, StatementsDocument, VerifyStatementDocument } from "../gql/graphql";

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
      <VerifyStatement />
    </div>
  );
}

/** RFC 4180 CSV, as the export writes it (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

type Held = {
  currency: string; from: string; to: string; position: number;
  printed: string; computed: string;
};

/** Each currency's statement in an exported CSV, with its digest recomputed from the
 * rows it holds (the canonical text of docs/ledger.md, "Verifying a statement"). */
async function statementsIn(text: string): Promise<Held[]> {
  const [header, ...lines] = parseCsv(text).filter((r) => r.length > 1);
  if (!header || !header.includes("digest")) return [];
  const records = lines.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
  const held: Held[] = [];
  for (const currency of [...new Set(records.map((r) => r.currency))]) {
    const mine = records.filter((r) => r.currency === currency);
    const opening = mine.find((r) => r.line === "opening");
    const closing = mine.find((r) => r.line === "closing");
    if (!opening || !closing) continue;
    const canonical = [
      "wallet statement 1",
      `account ${opening.account}`,
      `currency ${currency}`,
      `period ${opening.period_from} ${opening.period_to}`,
      `position ${closing.position}`,
      `opening ${opening.running_balance}`,
      ...mine.filter((r) => r.line === "posting")
        .map((r) => `${r.position} ${r.posted_at} ${r.amount} ${r.running_balance}`),
      `closing ${closing.running_balance}`,
    ].map((l) => l + "\n").join("");
    const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
    const computed = [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
    held.push({
      currency, from: opening.period_from, to: opening.period_to,
      position: Number(closing.position), printed: closing.digest, computed,
    });
  }
  return held;
}

type Outcome = { currency: string; ok: boolean; text: string };

/** Check a statement against the ledger: a downloaded CSV (its rows are hashed here),
 * or the position and digest printed on a PDF. */
function VerifyStatement() {
  const client = useClient();
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [busy, setBusy] = useState(false);
  const [manual, setManual] = useState({ currency: "USD", from: "", to: "", position: "", digest: "" });

  async function ask(h: { currency: string; from: string; to: string; position: number; digest: string }): Promise<Outcome> {
    const result = await client.query(VerifyStatementDocument, {
      input: { currency: h.currency, from: h.from, to: h.to, position: h.position, digest: h.digest },
    }, { requestPolicy: "network-only" }).toPromise();
    const answer = result.data?.verifyStatement;
    if (answer?.__typename === "StatementVerified") {
      return {
        currency: h.currency, ok: true,
        text: `${h.currency} ${answer.from} to ${answer.to}: matches the ledger at position ${answer.position} ` +
              `(${answer.rows} ${answer.rows === 1 ? "row" : "rows"}, opening ${answer.opening}, closing ${answer.closing}).`,
      };
    }
    const why = answer && "message" in answer ? answer.message : "It could not be checked.";
    return { currency: h.currency, ok: false, text: `${h.currency}: ${why}` };
  }

  async function checkFile(file: File) {
    setBusy(true);
    const held = await statementsIn(await file.text());
    const found: Outcome[] = [];
    for (const h of held) {
      const outcome = await ask({ ...h, digest: h.computed });
      if (!outcome.ok && h.computed !== h.printed) {
        outcome.text += " Its rows no longer match the digest printed on it: they were changed.";
      }
      found.push(outcome);
    }
    if (held.length === 0) found.push({ currency: "", ok: false, text: "That file is not a statement CSV from this wallet." });
    setOutcomes(found);
    setBusy(false);
  }

  async function checkPrinted(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setOutcomes([await ask({ ...manual, position: Number(manual.position) })]);
    setBusy(false);
  }

  return (
    <div className="verify-statement">
      <h3>Verify a statement</h3>
      <p className="muted small">
        Choose a statement CSV: its rows are checked against the ledger. For a PDF, enter what
        is printed under each currency.
      </p>
      <label className="button secondary file-button">
        Choose a statement CSV
        <input type="file" accept=".csv,text/csv" className="visually-hidden" aria-label="Statement CSV"
               onChange={(e) => { const f = e.target.files?.[0]; if (f) void checkFile(f); e.target.value = ""; }} />
      </label>
      <details>
        <summary>Check a PDF statement</summary>
        <form onSubmit={checkPrinted} className="verify-form" aria-label="Printed statement">
          <div className="row">
            <div className="field">
              <label htmlFor="verify-currency">Currency</label>
              <input id="verify-currency" value={manual.currency} maxLength={3}
                     onChange={(e) => setManual({ ...manual, currency: e.target.value.toUpperCase() })} />
            </div>
            <div className="field">
              <label htmlFor="verify-position">Position</label>
              <input id="verify-position" inputMode="numeric" value={manual.position}
                     onChange={(e) => setManual({ ...manual, position: e.target.value })} />
            </div>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="verify-from">From</label>
              <input id="verify-from" type="date" value={manual.from}
                     onChange={(e) => setManual({ ...manual, from: e.target.value })} />
            </div>
            <div className="field">
              <label htmlFor="verify-to">To</label>
              <input id="verify-to" type="date" value={manual.to}
                     onChange={(e) => setManual({ ...manual, to: e.target.value })} />
            </div>
          </div>
          <div className="field">
            <label htmlFor="verify-digest">Digest</label>
            <input id="verify-digest" value={manual.digest} spellCheck={false}
                   onChange={(e) => setManual({ ...manual, digest: e.target.value.trim() })} />
          </div>
          <button className="secondary" type="submit" disabled={busy}>Verify</button>
        </form>
      </details>
      {busy && <p className="muted small">Checking…</p>}
      <ul className="verify-results" data-testid="verify-results" aria-live="polite">
        {outcomes.map((o, i) => (
          <li key={i} className={o.ok ? "verified" : "mismatch"}>{o.ok ? "✓ " : "✗ "}{o.text}</li>
        ))}
      </ul>
    </div>
  );
}
