import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { useClient, useMutation, useQuery, useSubscription } from "urql";

import {
  AddMerchantStaffDocument,
  CreateMerchantApiKeyDocument,
  CreatePaymentRequestDocument,
  MerchantApiKeysDocument,
  MerchantDashboardDocument,
  MerchantSalesDocument,
  NextPayoutsDocument,
  PaymentRequestUpdatedDocument,
  RefundPaymentDocument,
  ReplayWebhookDeliveryDocument,
  RevokeMerchantApiKeyDocument,
  SetMerchantWebhookDocument,
  SettlementReportDocument,
  TillRequestDocument,
  type ApiScope,
  type MerchantApiKeysQuery,
  type MerchantSalesSubscription,
  type NextPayoutsQuery,
  type PaymentRequestFieldsFragment,
} from "../gql/graphql";
import { RECONNECTED } from "../shared/client";
import { formatDate, formatDateTime, formatTime } from "../shared/dates";
import { ApprovalNotice } from "./MerchantOnboarding";
import { formatMoney } from "../shared/money";
import { announceRefund, RefundConfirm, useOnRefund } from "./RefundConfirm";
import { refusalText } from "../shared/refusal";
import "./dashboard.css";

const SCOPES: { scope: ApiScope; label: string }[] = [
  { scope: "PAYMENTS_WRITE", label: "Take payments" },
  { scope: "PAYMENTS_READ", label: "Read payments" },
  { scope: "REFUNDS_WRITE", label: "Refund" },
];
const SCOPE_LABEL = Object.fromEntries(SCOPES.map((s) => [s.scope, s.label])) as Record<string, string>;

/**
 * Call `catchUp` when what was pushed may have been missed: the live connection came
 * back after a drop, or the page is shown again after being hidden (a phone's browser
 * may have dropped it). Events, not polling.
 */
function useOnCatchUp(catchUp: () => void) {
  const latest = useRef(catchUp);
  useEffect(() => {
    latest.current = catchUp;
  });
  useEffect(() => {
    const run = () => latest.current();
    const shown = () => { if (document.visibilityState === "visible") run(); };
    window.addEventListener(RECONNECTED, run);
    document.addEventListener("visibilitychange", shown);
    return () => {
      window.removeEventListener(RECONNECTED, run);
      document.removeEventListener("visibilitychange", shown);
    };
  }, []);
}

/** "1 payment", "2 payments". */
function count(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? "" : "s"}`;
}

/** Copy `text`, or select it in `input` where the browser gives no clipboard. */
async function copyText(text: string, input: HTMLInputElement | null): Promise<string> {
  try {
    await navigator.clipboard.writeText(text);
    return "Copied";
  } catch {
    input?.select();
    return "Select it and copy it";
  }
}

/**
 * The shop's back office: approval, the next payout, sales as they arrive, settlements
 * (CSV), API keys, webhooks and staff.
 *
 * Live: `merchantSales` pushes every sale of the shop as it is paid or refunded (a
 * till's request, a static code, a bill, a pay link made here), and the dashboard
 * reloads its sales, balances and payout then; there is no polling.
 */
export function MerchantDashboard({ merchantId, approval }: { merchantId: string; approval: string }) {
  const client = useClient();
  const [{ data }, refetch] = useQuery({ query: MerchantDashboardDocument, variables: { merchantId },
                                         requestPolicy: "network-only" });
  const [payouts, refetchPayouts] = useQuery({ query: NextPayoutsDocument, variables: { merchantId },
                                               requestPolicy: "network-only" });
  const [, setWebhook] = useMutation(SetMerchantWebhookDocument);
  const [, replay] = useMutation(ReplayWebhookDeliveryDocument);
  const [, addStaff] = useMutation(AddMerchantStaffDocument);
  const [, refund] = useMutation(RefundPaymentDocument);
  const [secret, setSecret] = useState<Shown | null>(null);
  const [note, setNote] = useState<string | null>(null);
  // Sales that arrived while the page was open, highlighted until it is reloaded.
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const [heard, setHeard] = useState<string | null>(null);
  // The sale being refunded: confirmed (amount, time, payer) before anything moves.
  const [refunding, setRefunding] = useState<{ transactionId: string; amount: string; key: string } | null>(null);
  const reload = useCallback(() => {
    refetch({ requestPolicy: "network-only" });
    refetchPayouts({ requestPolicy: "network-only" });
  }, [refetch, refetchPayouts]);
  useOnRefund(reload);
  useOnCatchUp(reload);

  const onPaid = useCallback((transactionId: string | null) => {
    if (transactionId) setFresh((s) => new Set(s).add(transactionId));
    reload();
  }, [reload]);
  useSubscription(
    { query: MerchantSalesDocument, variables: { merchantId } },
    (_previous: unknown, event: MerchantSalesSubscription) => {
      onPaid(event.merchantSales.transactionId);
      return event;
    },
  );

  // Say a new sale out loud once its line is there (amount and payer come with it).
  const payments = data?.merchantPayments ?? [];
  const newest = payments.find((p) => fresh.has(p.transactionId));
  useEffect(() => {
    if (newest) setHeard(`New payment: ${formatMoney(newest.amount, newest.currency)} from ${newest.payerName}`);
  }, [newest?.transactionId]); // eslint-disable-line react-hooks/exhaustive-deps

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
    if (result?.__typename === "WebhookEndpointPayload") setSecret({ label: "Signing secret", value: result.secret });
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
    <section className="card dashboard" aria-labelledby="dashboard-title">
      <h2 id="dashboard-title">Shop dashboard</h2>
      <ApprovalNotice approval={approval} />
      <div className="dash-grid">
        <div className="dash-main">
        <section className="dash-panel dash-payout" aria-labelledby="payout-title">
          <h3 id="payout-title">Payouts</h3>
          <PayoutPreview previews={payouts.data?.nextPayouts} approval={approval} />
          <dl className="dash-balances" data-testid="merchant-balance">
            {(data?.merchantBalances ?? []).map((b) => (
              <div key={b.currency}>
                <dt>{b.currency} balance</dt>
                <dd>{formatMoney(b.available, b.currency)}</dd>
                <dt>Paying out</dt>
                <dd>{formatMoney(b.payingOut, b.currency)}</dd>
              </div>
            ))}
          </dl>
        </section>

        <section className="dash-panel dash-payments" aria-labelledby="payments-title">
          <div className="dash-heading">
            <h3 id="payments-title">Payments</h3>
            <span className="dash-live small muted">Payments appear here the moment they are made</span>
          </div>
          <p className="visually-hidden" role="status" aria-live="polite">{heard}</p>
          <PaymentLinks merchantId={merchantId} onPaid={onPaid} />
          {payments.length === 0 && <p className="muted small">No payments yet.</p>}
          <ul className="requests dash-sales" data-testid="merchant-payments" aria-labelledby="payments-title">
            {payments.map((p) => (
              <li key={p.transactionId} className={fresh.has(p.transactionId) ? "dash-fresh" : undefined}>
                <div className="dash-sale">
                  <span className="dash-sale-what">
                    <strong>{formatMoney(p.amount, p.currency)}</strong>
                    {p.orderId ? ` · order ${p.orderId}` : ""} · {p.status.toLowerCase()}
                    {/[1-9]/.test(p.refunded) ? ` · refunded ${formatMoney(p.refunded, p.currency)}` : ""}
                    {fresh.has(p.transactionId) && <span className="badge dash-new"> New</span>}
                  </span>
                  <span className="dash-sale-who">
                    <span className="dash-payer">{p.payerName}</span>
                    {" · "}
                    <time dateTime={p.createdAt} title={formatDateTime(p.createdAt)}>
                      <span className="dash-date">{formatDate(p.createdAt)}</span>
                      {", "}
                      <span className="dash-time">{formatTime(p.createdAt)}</span>
                    </time>
                  </span>
                  <span className="muted small">{p.note ? `${p.note} · ` : ""}#{p.transactionId}</span>
                </div>
                {p.status === "COMPLETED" && refunding?.transactionId !== p.transactionId && (
                  <form className="dash-refund" aria-label={`Refund #${p.transactionId}`} onSubmit={(event) => {
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
        </section>
        </div>

        <div className="dash-side">
        <ApiKeys merchantId={merchantId} secret={secret} onSecret={setSecret} />

        <section className="dash-panel" aria-labelledby="settlements-title">
          <h3 id="settlements-title">Settlements</h3>
          {(data?.settlementBatches ?? []).length === 0 && <p className="muted small">None yet.</p>}
          <ul className="requests">
            {(data?.settlementBatches ?? []).map((b) => (
              <li key={b.id} className="dash-line">
                <span>
                  {formatDate(b.createdAt)} · {count(b.payments, "payment")} · net {formatMoney(b.net, b.currency)}
                  {" "}· fee {formatMoney(b.fee, b.currency)} · {b.payoutStatus.toLowerCase()}
                </span>
                <button className="link" onClick={() => download(b.id)}
                        aria-label={`Download the CSV of the ${formatDate(b.createdAt)} settlement`}>
                  Download CSV
                </button>
              </li>
            ))}
          </ul>
        </section>

        <section className="dash-panel" aria-labelledby="webhooks-title">
          <h3 id="webhooks-title">Webhooks</h3>
          <form onSubmit={submitWebhook} className="dash-form">
            <div className="field">
              <label htmlFor="webhook-url">Endpoint URL</label>
              <input id="webhook-url" name="url" type="url" placeholder="https://shop.example/hooks" />
            </div>
            <button className="small-secondary" type="submit">Save endpoint</button>
          </form>
          {secret?.label === "Signing secret" && <Secret shown={secret} onDone={() => setSecret(null)} />}
          <ul className="requests" data-testid="webhook-log">
            {(data?.webhookDeliveries ?? []).map((d) => (
              <li key={d.id} className="dash-line">
                <span>{d.eventType} · {d.status.toLowerCase()} · {count(d.attempts, "attempt")}
                  {d.lastError ? ` · ${d.lastError}` : ""}</span>
                <button className="link" aria-label={`Replay ${d.eventType} delivery #${d.id}`}
                        onClick={async () => { await replay({ merchantId, deliveryId: d.id }); reload(); }}>
                  Replay
                </button>
              </li>
            ))}
          </ul>
        </section>

        <section className="dash-panel" aria-labelledby="staff-title">
          <h3 id="staff-title">Staff</h3>
          <form onSubmit={submitStaff} className="dash-form">
            <div className="field">
              <label htmlFor="staff-username">Cashier @username</label>
              <input id="staff-username" name="username" autoCapitalize="none" autoCorrect="off" />
            </div>
            <button className="small-secondary" type="submit">Add cashier</button>
          </form>
        </section>
        </div>
      </div>
      {note && <p className="muted" role="status">{note}</p>}
    </section>
  );
}

/** "Next payout: Dec 7, 2026, 1:00 AM, $11.96 (after $1.04 fees, 2 payments)", per currency. */
function PayoutPreview({ previews, approval }: {
  previews: NextPayoutsQuery["nextPayouts"] | undefined; approval: string;
}) {
  if (previews === undefined) return <p className="muted small">Loading…</p>;
  const waiting = (previews ?? []).some((p) => !p.at) || (previews ?? []).length === 0;
  return (
    <div data-testid="next-payout">
      {(previews ?? []).length === 0 && <p className="muted">Nothing to pay out yet: no payments since the last payout.</p>}
      {(previews ?? []).map((p) => {
        const amounts = `${formatMoney(p.net, p.currency)} (after ${formatMoney(p.fee, p.currency)} fees, ${count(p.payments, "payment")})`;
        if (p.payments === 0 && !/[1-9]/.test(p.net)) {
          return (
            <p key={p.currency} className="dash-payout-line">
              Nothing to pay out yet: no {p.currency} payments since the last payout.
              {p.at && <> The next payout runs <time dateTime={p.at}>{formatDateTime(p.at)}</time>.</>}
            </p>
          );
        }
        return (
          <p key={p.currency} className="dash-payout-line">
            {p.at ? (
              <>Next payout: <time dateTime={p.at}>{formatDateTime(p.at)}</time>, <strong>{amounts}</strong></>
            ) : (
              <>Next payout: not scheduled yet, <strong>{amounts}</strong> waiting</>
            )}
          </p>
        );
      })}
      {waiting && (previews ?? []).some((p) => !p.at) && (
        <p className="muted small">
          Payouts start once the shop is {approval === "APPROVED" ? "" : "approved and "}has a settlement
          account (a bank account to pay out to). Until then, payments wait safely in the shop's balance.
        </p>
      )}
    </div>
  );
}

/**
 * Ask for a payment from the dashboard: a pay link (and its code) to send to a customer.
 * Each open link is listened to, so its sale shows up the moment the customer pays.
 */
function PaymentLinks({ merchantId, onPaid }: { merchantId: string; onPaid: (transactionId: string | null) => void }) {
  const [, create] = useMutation(CreatePaymentRequestDocument);
  const [links, setLinks] = useState<PaymentRequestFieldsFragment[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const values = new FormData(form);
    const amount = String(values.get("amount") ?? "").replace(/[$,\s]/g, "");
    const description = String(values.get("description") ?? "").trim();
    const result = (await create({ input: { merchantId, amount, description, expiresInMinutes: 60 } }))
      .data?.createPaymentRequest;
    if (result?.__typename === "PaymentRequestPayload") {
      setLinks((l) => [result.request, ...l]);
      setError(null);
      form.reset();
    } else {
      setError(refusalText(result));
    }
  }

  return (
    <div className="dash-links">
      {!open ? (
        <button className="small-secondary" type="button" onClick={() => setOpen(true)}>Ask for a payment</button>
      ) : (
        <form className="dash-form" aria-label="Ask for a payment" onSubmit={submit}>
          <div className="field">
            <label htmlFor="link-amount">Amount (USD)</label>
            <input id="link-amount" name="amount" inputMode="decimal" required placeholder="0.00" />
          </div>
          <div className="field">
            <label htmlFor="link-description">What for</label>
            <input id="link-description" name="description" placeholder="Order, table, invoice…" />
          </div>
          <button className="small-primary" type="submit">Create pay link</button>
        </form>
      )}
      {error && <p className="error small" role="alert">{error}</p>}
      {links.length > 0 && (
        <ul className="dash-link-list" aria-label="Pay links">
          {links.map((l) => <PaymentLink key={l.id} request={l} onPaid={onPaid} />)}
        </ul>
      )}
    </div>
  );
}

function PaymentLink({ request, onPaid }: {
  request: PaymentRequestFieldsFragment; onPaid: (transactionId: string | null) => void;
}) {
  const client = useClient();
  const [live] = useSubscription({ query: PaymentRequestUpdatedDocument, variables: { requestId: request.id } });
  const [copied, setCopied] = useState<string | null>(null);
  // The request as read again after a reconnect (an event may have been missed meanwhile).
  const [reread, setReread] = useState<{ status: string; transactionId: string | null } | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const event = live.data?.paymentRequestUpdated;
  const heard = event && event.id === request.id ? event : reread;
  const status = heard?.status ?? request.status;
  const paid = status.toLowerCase() === "paid";
  const waiting = status.toLowerCase() === "open";
  useEffect(() => {
    if (heard) onPaid(heard.transactionId ?? null);
  }, [heard?.status, heard?.transactionId]); // eslint-disable-line react-hooks/exhaustive-deps
  useOnCatchUp(() => {
    if (paid) return;
    void client.query(TillRequestDocument, { reference: request.id }, { requestPolicy: "network-only" })
      .toPromise().then((r) => {
        const now = r.data?.merchantPaymentRequest;
        if (now && now.status !== request.status) setReread({ status: now.status, transactionId: now.transactionId ?? null });
      });
  });
  const amount = request.amount ? formatMoney(request.amount, request.currency) : "any amount";
  const code = request.id.replace(/(.{4})(?!$)/g, "$1-");
  return (
    <li className={paid ? "dash-link paid" : "dash-link"}>
      <span>
        <strong>{amount}</strong>{request.description ? ` · ${request.description}` : ""} ·{" "}
        <span role="status">{paid ? "Paid ✓" : waiting ? "waiting for the customer" : status.toLowerCase()}</span>
      </span>
      {waiting && (
        <div className="dash-copy">
          <input ref={input} readOnly value={request.payUrl} aria-label={`Pay link for ${amount}`}
                 onFocus={(e) => e.currentTarget.select()} />
          <button className="small-secondary" type="button" aria-label={`Copy the pay link for ${amount}`}
                  onClick={async () => setCopied(await copyText(request.payUrl, input.current))}>
            Copy
          </button>
        </div>
      )}
      {waiting && <span className="muted small">Code <strong data-testid="pay-code">{code}</strong>{copied ? ` · ${copied}` : ""}</span>}
    </li>
  );
}

type Shown = { label: "API key" | "Signing secret"; value: string };

/**
 * A secret shown once, with a copy button; one at a time on the page (a new one
 * replaces the last), and gone once the owner says it is stored.
 */
function Secret({ shown, onDone }: { shown: Shown; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const value = useRef<HTMLElement>(null);
  const id = `secret-${shown.label.replace(/\W+/g, "-").toLowerCase()}`;
  async function copy() {
    try {
      await navigator.clipboard.writeText(shown.value);
      setCopied("Copied");
    } catch {
      // No clipboard (plain HTTP, or permission refused): select it for the person.
      if (value.current) window.getSelection()?.selectAllChildren(value.current);
      setCopied("Select it and copy it");
    }
  }
  return (
    <div className="dash-secret" role="group" aria-labelledby={`${id}-title`} data-testid="secret">
      <p id={`${id}-title`} className="dash-secret-title">{`${shown.label} (shown once): `}</p>
      <div className="dash-copy">
        <code ref={value} className="dash-secret-value" aria-label={shown.label}>{shown.value}</code>
        <button className="small-primary" type="button" aria-label={`Copy the ${shown.label.toLowerCase()}`}
                onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p className="small">
        <strong>Store it now</strong> (in your server's secrets or a password manager): we keep only a
        fingerprint and cannot show it again.
      </p>
      <p className="small">
        {copied && <span role="status">{copied} · </span>}
        <button className="link" type="button" onClick={onDone}>I have stored it</button>
      </p>
    </div>
  );
}

type Key = NonNullable<MerchantApiKeysQuery["merchantApiKeys"]>[number];

/** The shop's API keys: create (the key shown once), list, revoke with a confirmation. */
function ApiKeys({ merchantId, secret, onSecret }: {
  merchantId: string; secret: Shown | null; onSecret: (shown: Shown | null) => void;
}) {
  const [{ data }, refetch] = useQuery({ query: MerchantApiKeysDocument, variables: { merchantId },
                                         requestPolicy: "network-only" });
  const [, createKey] = useMutation(CreateMerchantApiKeyDocument);
  const [, revokeKey] = useMutation(RevokeMerchantApiKeyDocument);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const keys = data?.merchantApiKeys ?? [];

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const values = new FormData(form);
    const label = String(values.get("label") ?? "").trim();
    const scopes = values.getAll("scope").map(String) as ApiScope[];
    const result = (await createKey({ merchantId, label, scopes })).data?.createMerchantApiKey;
    if (result?.__typename === "ApiKeyPayload") {
      onSecret({ label: "API key", value: result.key });
      setMessage(null);
      form.reset();
      refetch({ requestPolicy: "network-only" });
    } else {
      setMessage({ error: true, text: refusalText(result) });
    }
  }

  async function revoke(key: Key) {
    const result = (await revokeKey({ merchantId, keyId: key.id })).data?.revokeMerchantApiKey;
    setConfirming(null);
    if (result?.__typename === "ApiKeyRevokedPayload") {
      setMessage({ error: false, text: `Revoked “${key.label}”: it no longer works.` });
      refetch({ requestPolicy: "network-only" });
    } else {
      setMessage({ error: true, text: result && "message" in result ? result.message : "Network problem: try again." });
    }
  }

  return (
    <section className="dash-panel dash-keys" aria-labelledby="keys-title">
      <h3 id="keys-title">API keys</h3>
      <p className="muted small">For your web shop or server to take payments and refund through our API.</p>
      <form onSubmit={submit} className="dash-key-form" aria-label="Create an API key">
        <div className="field">
          <label htmlFor="key-label">Key label</label>
          <input id="key-label" name="label" placeholder="web shop server" required />
        </div>
        <fieldset className="dash-scopes">
          <legend>It may</legend>
          {SCOPES.map((s) => (
            <label key={s.scope}>
              <input type="checkbox" name="scope" value={s.scope} defaultChecked /> {s.label}
            </label>
          ))}
        </fieldset>
        <button className="small-secondary" type="submit">Create API key</button>
      </form>
      {secret?.label === "API key" && <Secret shown={secret} onDone={() => onSecret(null)} />}
      {message && <p className={message.error ? "error small" : "success small"} role="status">{message.text}</p>}
      {keys.length === 0 && <p className="muted small">No keys yet.</p>}
      <ul className="requests dash-key-list" data-testid="api-keys" aria-labelledby="keys-title">
        {keys.map((k) => (
          <li key={k.id} className={k.revokedAt ? "dash-key revoked" : "dash-key"}>
            <div className="dash-key-line">
              <span>
                <strong>{k.label}</strong> <code title="How the key starts">mk_{k.prefix}_…</code>
              </span>
              {k.revokedAt ? (
                <span className="badge badge-failed">Revoked {formatDate(k.revokedAt)}</span>
              ) : (
                <span className="badge dash-active">Active</span>
              )}
            </div>
            <span className="muted small">
              {k.scopes.map((s) => SCOPE_LABEL[s] ?? s.toLowerCase()).join(", ")} · created {formatDateTime(k.createdAt)}
            </span>
            {!k.revokedAt && confirming !== k.id && (
              <button className="link dash-revoke" type="button" aria-label={`Revoke the key ${k.label}`}
                      onClick={() => setConfirming(k.id)}>
                Revoke
              </button>
            )}
            {!k.revokedAt && confirming === k.id && (
              <div className="dash-confirm" role="group" aria-label={`Revoke the key ${k.label}?`}>
                <p className="small">
                  Revoke “{k.label}” (mk_{k.prefix}_…)? Anything using it stops working at once; this cannot be undone.
                </p>
                <div className="dash-confirm-buttons">
                  <button className="small-danger" type="button" onClick={() => void revoke(k)}>Revoke key</button>
                  <button className="small-secondary" type="button" onClick={() => setConfirming(null)}>Keep it</button>
                </div>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
