import { useState } from "react";
import { useClient, useQuery } from "urql";

import { formatDateTime } from "../shared/dates";
import { LedgerCheckNowDocument, LedgerCheckRunsDocument } from "../gql/graphql";

/** The scheduled ledger checks (every 5 minutes since the last clean run, nightly in
 * full), and a check run now. */
export default function ChecksPage() {
  const [{ data }, reload] = useQuery({ query: LedgerCheckRunsDocument, variables: { first: 50 }, requestPolicy: "network-only" });
  const client = useClient();
  const [now, setNow] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  async function checkNow() {
    setChecking(true);
    const result = await client.query(LedgerCheckNowDocument, {}, { requestPolicy: "network-only" }).toPromise();
    setChecking(false);
    const check = result.data?.ledgerCheck;
    setNow(!check ? "The check could not run." : check.ok
      ? "Every invariant holds right now."
      : `${check.breaches.length} breaches: ${check.breaches.map((b) => b.detail).join("; ")}`);
    reload({ requestPolicy: "network-only" });
  }

  const runs = data?.ledgerCheckRuns ?? [];
  return (
    <>
      <h1>Ledger checks</h1>
      <p className="muted">
        The worker checks the ledger's invariants every 5 minutes over what was posted since
        the last clean run, and everything nightly. A breach alerts admins and compliance; it
        freezes nothing by itself.
      </p>
      <div className="link-buttons">
        <button className="small-primary" onClick={checkNow} disabled={checking}>
          {checking ? "Checking every account…" : "Check the whole ledger now"}
        </button>
      </div>
      {now && <p role="status" className={now.startsWith("Every") ? "success" : "error"}>{now}</p>}
      <section className="card" aria-labelledby="check-runs">
        <h2 id="check-runs">Scheduled runs</h2>
        {runs.length === 0 && <p className="muted">No scheduled run yet: the worker runs the first within 5 minutes.</p>}
        <div className="table-scroll">
          <table className="ledger-table" data-testid="check-runs">
            <thead><tr><th>Finished</th><th>Mode</th><th>Postings</th><th>Result</th></tr></thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td>{formatDateTime(r.finishedAt)}</td>
                  <td>{r.mode}</td>
                  <td className="mono">{r.postingsAfter}–{r.postingsThrough}</td>
                  <td className={r.ok ? "success" : "error"}>
                    {r.ok ? "clean" : `${r.breachCount} breaches: ${r.breaches.map((b) => b.detail).join("; ")}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
