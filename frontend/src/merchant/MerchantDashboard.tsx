import { useCallback, useState, type FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";

import {
  AddMerchantStaffDocument,
  CreateMerchantApiKeyDocument,
  MerchantDashboardDocument,
  RefundPaymentDocument,
  ReplayWebhookDeliveryDocument,
  SetMerchantWebhookDocument,
  SettlementReportDocument,
} from "../gql/graphql";
import { formatDateTime } from "../shared/dates";
import { ApprovalNotice } from "./MerchantOnboarding";
import { formatMoney } from "../shared/money";
import { announceRefund, RefundConfirm, useOnRefund } from "./RefundConfirm";
import { refusalText } from "../shared/refusal";

/** The shop's back office: approval, balance, settlements (CSV), webhooks, API keys, staff. */
export function MerchantDashboard({ merchantId, approval }: { merchantId: string; approval: string }) {
  const client = useClient();
  const [{ data }, refetch] = useQuery({ query: MerchantDashboardDocument, variables: { merchantId },
                                         requestPolicy: "network-only" });
  const [, setWebhook] = useMutation(SetMerchantWebhookDocument);
  const [, replay] = useMutation(ReplayWebhookDeliveryDocument);
  const [, createKey] = useMutation(CreateMerchantApiKeyDocument);
  const [, addStaff] = useMutation(AddMerchantStaffDocument);
  const [, refund] = useMutation(RefundPaymentDocument);
  const [secret, setSecret] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  // The sale being refunded: confirmed (amount, time, payer) before anything moves.
  const [refunding, setRefunding] = useState<{ transactionId: string; amount: string; key: string } | null>(null);
  const reload = useCallback(() => refetch({ requestPolicy: "network-only" }), [refetch]);
  useOnRefund(reload);

  async function download(batchId: string) {
    const result = await client.query(SettlementReportDocument, { merchantId, batchId }).toPromise();
    const csv = result.data?.settlementReport;
    if (!csv) return;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    link.download = `settlement-${batchId}.csv`;
    link.click();
  }

  async function submitWebhook(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const url = String(new FormData(event.currentTarget).get("url") ?? "");
    const result = (await setWebhook({ merchantId, url })).data?.setMerchantWebhook;
    if (result?.__typename === "WebhookEndpointPayload") setSecret(`Signing secret (shown once): ${result.secret}`);
    else setNote(result?.message ?? "Network problem");
  }

  async function submitKey(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const label = String(new FormData(event.currentTarget).get("label") ?? "");
    const result = (await createKey({
      merchantId, label, scopes: ["PAYMENTS_WRITE", "PAYMENTS_READ", "REFUNDS_WRITE"],
    })).data?.createMerchantApiKey;
    if (result?.__typename === "ApiKeyPayload") setSecret(`API key (shown once): ${result.key}`);
    else setNote(result?.message ?? "Network problem");
  }

  async function submitStaff(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const username = String(new FormData(event.currentTarget).get("username") ?? "");
    const result = (await addStaff({ merchantId, username, role: "CASHIER" })).data?.addMerchantStaff;
    setNote(result?.__typename === "StaffPayload" ? `@${result.username} is now a cashier`
                                                  : result?.message ?? "Network problem");
  }

  return (
    <section className="card send" aria-labelledby="dashboard-title">
      <h2 id="dashboard-title">Shop dashboard</h2>
      <ApprovalNotice approval={approval} />
      <dl className="details" data-testid="merchant-balance">
        {(data?.merchantBalances ?? []).map((b) => (
          <div key={b.currency}>
            <dt>{b.currency} balance</dt>
            <dd>{formatMoney(b.available, b.currency)}</dd>
            <dt>Paying out</dt>
            <dd>{formatMoney(b.payingOut, b.currency)}</dd>
          </div>
        ))}
      </dl>
      <h3>Payments</h3>
      {(data?.merchantPayments ?? []).length === 0 && <p className="muted small">None yet.</p>}
      <ul className="requests" data-testid="merchant-payments">
        {(data?.merchantPayments ?? []).map((p) => (
          <li key={p.transactionId}>
            <span>
              #{p.transactionId} · {formatMoney(p.amount, p.currency)}
              {p.orderId ? ` · order ${p.orderId}` : ""} · {p.status.toLowerCase()}
              {/[1-9]/.test(p.refunded) ? ` · refunded ${formatMoney(p.refunded, p.currency)}` : ""}
              <span className="muted small"> · {formatDateTime(p.createdAt)} · {p.payerName}</span>
            </span>
            {p.status === "COMPLETED" && refunding?.transactionId !== p.transactionId && (
              <form className="row" onSubmit={(event) => {
                event.preventDefault();
                const amount = String(new FormData(event.currentTarget).get("amount") ?? "").replace(/[$,\s]/g, "");
                setRefunding({ transactionId: p.transactionId, amount, key: crypto.randomUUID() });
              }}>
                <div className="field">
                  <label htmlFor={`refund-amount-${p.transactionId}`}>Refund amount</label>
                  <input id={`refund-amount-${p.transactionId}`} name="amount" inputMode="decimal"
                         key={p.refundable} defaultValue={p.refundable} />
                </div>
                <button className="small-secondary" type="submit">Refund</button>
              </form>
            )}
            {refunding?.transactionId === p.transactionId && (
              <RefundConfirm sale={p} amount={refunding.amount} needsOwnerPin={false}
                             onCancel={() => setRefunding(null)}
                             onConfirm={async () => {
                const result = (await refund({ input: {
                  merchantId, transactionId: p.transactionId, amount: refunding.amount,
                  idempotencyKey: refunding.key,
                } })).data?.refundPayment;
                if (result?.__typename !== "RefundPayload") return refusalText(result);
                setNote(`Refunded ${formatMoney(result.amount, p.currency)} of #${p.transactionId}`);
                setRefunding(null);
                announceRefund();
                return null;
              }} />
            )}
          </li>
        ))}
      </ul>
      <h3>Settlements</h3>
      {(data?.settlementBatches ?? []).length === 0 && <p className="muted small">None yet.</p>}
      <ul className="requests">
        {(data?.settlementBatches ?? []).map((b) => (
          <li key={b.id}>
            <span>#{b.id} · {b.payments} payments · net {formatMoney(b.net, b.currency)} · fee {formatMoney(b.fee, b.currency)} · {b.payoutStatus.toLowerCase()}</span>
            <button className="link" onClick={() => download(b.id)}>Download CSV</button>
          </li>
        ))}
      </ul>
      <h3>Webhooks</h3>
      <form onSubmit={submitWebhook} className="row">
        <div className="field">
          <label htmlFor="webhook-url">Endpoint URL</label>
          <input id="webhook-url" name="url" placeholder="https://shop.example/hooks" />
        </div>
        <button className="small-secondary" type="submit">Save endpoint</button>
      </form>
      <ul className="requests" data-testid="webhook-log">
        {(data?.webhookDeliveries ?? []).map((d) => (
          <li key={d.id}>
            <span>{d.eventType} · {d.status.toLowerCase()} · {d.attempts} attempt(s)
              {d.lastError ? ` · ${d.lastError}` : ""}</span>
            <button className="link" onClick={async () => { await replay({ merchantId, deliveryId: d.id }); reload(); }}>
              Replay
            </button>
          </li>
        ))}
      </ul>
      <h3>API keys and staff</h3>
      <form onSubmit={submitKey} className="row">
        <div className="field">
          <label htmlFor="key-label">Key label</label>
          <input id="key-label" name="label" placeholder="web shop server" />
        </div>
        <button className="small-secondary" type="submit">Create API key</button>
      </form>
      <form onSubmit={submitStaff} className="row">
        <div className="field">
          <label htmlFor="staff-username">Cashier @username</label>
          <input id="staff-username" name="username" />
        </div>
        <button className="small-secondary" type="submit">Add cashier</button>
      </form>
      {secret && <p className="success small" role="status" data-testid="secret">{secret}</p>}
      {note && <p className="muted" role="status">{note}</p>}
    </section>
  );
}
