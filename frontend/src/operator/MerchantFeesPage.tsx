import { useQuery } from "urql";

import { formatDate, formatDateTime } from "../shared/dates";
import { MerchantFeeSchedulesDocument } from "../gql/graphql";
import { formatMoney } from "../shared/money";

function percent(bp: number): string {
  return `${(bp / 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}

/** Each merchant's fee, settlement schedule and last settlement batches. */
export default function MerchantFeesPage() {
  const [{ data }] = useQuery({ query: MerchantFeeSchedulesDocument, requestPolicy: "network-only" });
  const merchants = data?.merchantFees;
  if (!merchants) return <p className="muted" role="status">Loading…</p>;
  return (
    <>
      <h1>Merchant fees</h1>
      {merchants.length === 0 && <p className="muted">No merchants yet.</p>}
      <section className="card" aria-label="Merchants">
      <ul className="requests" data-testid="merchant-fees">
        {merchants.map((m) => (
          <li key={m.id} className="console-row">
            <p>
              <strong>{m.name}</strong>{" "}
              <span className={`badge ${m.status === "ACTIVE" && m.approvalStatus === "APPROVED" ? "" : "badge-pending"}`}>
                {m.approvalStatus === "APPROVED" ? m.status.toLowerCase() : m.approvalStatus.toLowerCase()}
              </span>
            </p>
            <p>
              Fee {percent(m.feePercentBp)}
              {m.fixedFees.map((f) => <span key={f.currency}> + {formatMoney(f.amount, f.currency)}</span>)} per payment
            </p>
            <p className="small">
              {m.scheduleInWords}
              {m.nextSettlementDue && ` Next: ${formatDateTime(m.nextSettlementDue)}.`}
            </p>
            {m.lastBatches.length > 0 && (
              <div className="table-scroll">
                <table className="ledger-table" aria-label={`Settlements of ${m.name}`}>
                  <thead><tr><th>Date</th><th className="num">Payments</th><th className="num">Gross</th><th className="num">Fees</th><th className="num">Net</th><th>Payout</th></tr></thead>
                  <tbody>
                    {m.lastBatches.map((b) => (
                      <tr key={b.id}>
                        <td>{formatDate(b.createdAt)}</td><td className="num">{b.payments}</td>
                        <td className="num">{formatMoney(b.gross, b.currency)}</td>
                        <td className="num">{formatMoney(b.fee, b.currency)}</td>
                        <td className="num">{formatMoney(b.net, b.currency)}</td>
                        <td>{b.payoutStatus.toLowerCase()}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </li>
        ))}
      </ul>
      </section>
    </>
  );
}
