import { useEffect } from "react";
import { useQuery } from "urql";

import { formatDateTime } from "../shared/dates";
import { SystemStatusViewDocument } from "../gql/graphql";

/** Headline figures as a grid of small cards (label above, value below). */
function SystemStatusView({ figures }: { figures: [string, string][] }) {
  return (
    <dl className="figures" data-testid="system-figures">
      {figures.map(([label, value]) => (
        <div key={label} className="card">
          <dt className="muted small">{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function seconds(value: number): string {
  if (value < 1) return "under a second";
  if (value < 90) return `${Math.round(value)} seconds`;
  if (value < 5400) return `${Math.round(value / 60)} minutes`;
  return `${Math.round(value / 3600)} hours`;
}

/** The system page: the outbox, the worker's queue and the last run of each job. */
export default function SystemPage() {
  const [{ data }, reload] = useQuery({ query: SystemStatusViewDocument, requestPolicy: "network-only" });
  useEffect(() => {
    const timer = window.setInterval(() => reload({ requestPolicy: "network-only" }), 15_000);
    return () => window.clearInterval(timer);
  }, [reload]);
  const s = data?.systemStatus;
  if (!s) return <p className="muted" role="status">Loading…</p>;
  return (
    <>
      <h1>System</h1>
      <SystemStatusView
        figures={[
          ["Outbox backlog", `${s.outboxBacklog} events`],
          ["Outbox lag", s.outboxBacklog === 0 ? "none" : seconds(s.outboxLagSeconds)],
          ["Worker queue", `${s.queueDepth} jobs waiting`],
          ["Last ledger check", s.lastLedgerCheck
            ? `${s.lastLedgerCheck.ok ? "clean" : `${s.lastLedgerCheck.breachCount} breaches`}, ${formatDateTime(s.lastLedgerCheck.finishedAt)}`
            : "not yet"],
        ]}
      />
      <section className="card" aria-labelledby="job-runs">
        <h2 id="job-runs">Last run of each job</h2>
        {s.jobs.length === 0 && <p className="muted">No job has run since the worker started recording.</p>}
        <div className="table-scroll">
          <table className="ledger-table" data-testid="job-runs">
            <thead><tr><th>Job</th><th>Finished</th><th className="num">Took</th><th>Outcome</th></tr></thead>
            <tbody>
              {s.jobs.map((j) => (
                <tr key={j.task}>
                  <td>{j.task.replaceAll("_", " ")}</td>
                  <td>{formatDateTime(j.finishedAt)}</td>
                  <td className="num">{j.seconds.toFixed(2)} s</td>
                  <td className={j.outcome === "OK" ? "success" : "error"}>{j.outcome.toLowerCase()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
