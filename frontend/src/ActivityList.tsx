import { useCallback, useEffect, useRef, useState } from "react";
import { useClient, useMutation } from "urql";

import {
  CategorizeTransactionDocument,
  type SpendingCategory,
  TransactionHistoryDocument,
  type TransactionHistoryQuery,
  type TransactionType,
} from "./gql/graphql";
import { PaymentProtection } from "./Disputes";
import { SplitThisPayment } from "./SplitGroups";
import { CATEGORIES } from "./categories";
import { formatDateTime, formatTime } from "./dates";
import { formatMoney } from "./money";

type Item = NonNullable<TransactionHistoryQuery["transactions"]>["edges"][number]["node"];

const PAGE_SIZE = 20;
const TYPE_LABELS: Partial<Record<TransactionType, string>> = {
  SEND: "Transfers",
  ADD: "Money added",
  WITHDRAWAL: "Withdrawals",
  REVERSAL: "Reversals",
  PAYMENT: "Payments",
  REFUND: "Refunds",
  FX: "Conversions",
  REWARD: "Rewards",
  SAVINGS: "Savings",
  PROMOTIONAL_CREDIT: "Promotions",
};

function title(item: Item): string {
  switch (item.type) {
    case "PROMOTIONAL_CREDIT":
      return item.note || "Promotional credit";
    case "ADD":
      return `Added from ${item.paymentMethod ?? "your bank"}`;
    case "WITHDRAWAL":
      return `Withdrawal to ${item.paymentMethod ?? "your bank"}`;
    case "REVERSAL":
      return item.direction === "IN" ? "Reversal: money back" : "Reversal";
    case "PAYMENT":
      return `Paid ${item.merchant ?? "a merchant"}`;
    case "REFUND":
      return `Refund from ${item.merchant ?? "a merchant"}`;
    case "REWARD":
      return item.note || "Reward";
    case "SAVINGS":
      return `Moved to ${item.savingsGoal ?? "savings"}`;
    case "SAVINGS_WITHDRAWAL":
      return `From ${item.savingsGoal ?? "savings"}`;
    case "FX":
      return `Converted to ${item.counterCurrency ?? "another currency"}`;
  }
  const who = item.counterparty ? `@${item.counterparty}` : item.recipientContact ?? "someone";
  return item.direction === "IN" ? `From ${who}` : `To ${who}`;
}

const STATUS_TEXT: Partial<Record<string, string>> = {
  PENDING: "Pending",
  PROCESSING: "Processing",
  FAILED: "Failed",
  EXPIRED: "Expired",
  REVERSED: "Reversed",
};

/** The viewer's transactions, newest first, loading older pages as the list scrolls. */
export function ActivityList({ refreshKey, onChange }: { refreshKey: number; onChange?: () => void }) {
  const client = useClient();
  const [items, setItems] = useState<Item[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(true);
  const [loading, setLoading] = useState(false);
  const [failed, setFailed] = useState(false);
  const [type, setType] = useState<TransactionType | "">("");
  const [counterparty, setCounterparty] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const generation = useRef(0);

  const load = useCallback(
    async (after: string | null) => {
      const mine = generation.current;
      setLoading(true);
      const filter = { type: type || null, counterparty: counterparty.trim() || null };
      const result = await client
        .query(TransactionHistoryDocument, { first: PAGE_SIZE, after, filter },
               { requestPolicy: "network-only" })
        .toPromise();
      if (mine !== generation.current) return; // a newer filter or refresh superseded this
      setLoading(false);
      const page = result.data?.transactions;
      if (!page) {
        setFailed(true);
        setHasMore(false);
        return;
      }
      setFailed(false);
      setItems((current) => (after ? [...current, ...page.edges.map((e) => e.node)]
                                    : page.edges.map((e) => e.node)));
      setCursor(page.pageInfo.endCursor ?? null);
      setHasMore(page.pageInfo.hasNextPage);
    },
    [client, type, counterparty],
  );

  // First page again whenever the filter changes or a balance change arrives.
  // Once more two seconds later: a load that crossed a burst of events (or failed under
  // load) does not leave the list stale.
  useEffect(() => {
    generation.current += 1;
    setCursor(null);
    setHasMore(true);
    void load(null);
    const again = setTimeout(() => {
      generation.current += 1;
      void load(null);
    }, 2000);
    return () => clearTimeout(again);
  }, [load, refreshKey]);

  // A card payment being confirmed (seconds): look again every few seconds too, so a live
  // event missed while the list was loading does not leave it showing "Processing".
  const inFlight = items.some((i) => i.status === "PROCESSING");
  useEffect(() => {
    if (!inFlight) return;
    const timer = setInterval(() => {
      generation.current += 1;
      void load(null);
    }, 3000);
    return () => clearInterval(timer);
  }, [inFlight, load]);

  useEffect(() => {
    const node = sentinel.current;
    if (!node) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && hasMore && !loading && cursor) void load(cursor);
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, [load, hasMore, loading, cursor]);

  return (
    <section className="card activity" aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <div className="filters">
        <label className="visually-hidden" htmlFor="activity-type">Type</label>
        <select id="activity-type" value={type}
                onChange={(e) => setType(e.target.value as TransactionType | "")}>
          <option value="">All activity</option>
          {Object.entries(TYPE_LABELS).map(([value, label]) => (
            <option key={value} value={value}>{label}</option>
          ))}
        </select>
        <label className="visually-hidden" htmlFor="activity-counterparty">With</label>
        <input id="activity-counterparty" placeholder="With @username" value={counterparty}
               onChange={(e) => setCounterparty(e.target.value)} />
      </div>
      <ul className="activity-list" data-testid="activity">
        {items.map((item) => (
          <li key={item.id}>
            <button className="activity-row" aria-expanded={open === item.id}
                    onClick={() => setOpen(open === item.id ? null : item.id)}>
              <span className="activity-main">
                <span className="activity-title">{title(item)}</span>
                <span className="muted small">
                  {STATUS_TEXT[item.status] && (
                    <span className={`badge badge-${item.status.toLowerCase()}`}>{STATUS_TEXT[item.status]}</span>
                  )}
                  {formatDateTime(item.createdAt)}
                  {item.note && item.type !== "PROMOTIONAL_CREDIT" && item.type !== "REWARD" ? ` · ${item.note}` : ""}
                </span>
              </span>
              <span className="activity-amounts">
                <span className={["FAILED", "EXPIRED"].includes(item.status) ? "amount-void"
                                 : item.direction === "IN" ? "amount-in" : "amount-out"}>
                  {item.direction === "IN" ? "+" : "−"}
                  {formatMoney(item.amount, item.currency)}
                </span>
                {item.counterAmount && item.counterCurrency && (
                  <span className="muted small">
                    {item.type === "FX" || item.direction === "OUT" ? "→ " : "from "}
                    {formatMoney(item.counterAmount, item.counterCurrency)}
                  </span>
                )}
                {item.runningBalance && (
                  <span className="muted small">
                    bal {formatMoney(item.runningBalance, item.currency)}
                  </span>
                )}
              </span>
            </button>
            {open === item.id && (
              <div className="detail" data-testid="transaction-detail">
                <dl>
                  <div><dt>Status</dt><dd>{item.status.toLowerCase()}</dd></div>
                  <div><dt>Amount</dt><dd>{formatMoney(item.amount, item.currency)}</dd></div>
                  {item.counterAmount && item.counterCurrency && (
                    <div>
                      <dt>{item.direction === "IN" && item.type !== "FX" ? "They sent" : "Converted to"}</dt>
                      <dd>{formatMoney(item.counterAmount, item.counterCurrency)}</dd>
                    </div>
                  )}
                  {item.paymentMethod && <div><dt>Method</dt><dd>{item.paymentMethod}</dd></div>}
                  {item.recipientContact && <div><dt>Sent to</dt><dd>{item.recipientContact}</dd></div>}
                  {item.failureReason && <div><dt>Reason</dt><dd>{item.failureReason}</dd></div>}
                  <div><dt>Reference</dt><dd>#{item.id}</dd></div>
                </dl>
                <CategoryPicker transactionId={item.id} category={item.category} onChange={() => onChange?.()} />
                {item.type === "PAYMENT" && item.direction === "OUT" &&
                 (item.status === "COMPLETED" || item.status === "PENDING") && (
                  <PaymentProtection paymentId={item.id} pending={item.status === "PENDING"}
                                     onChange={() => onChange?.()} />
                )}
                {item.type === "PAYMENT" && item.direction === "OUT" && item.status === "COMPLETED" && (
                  <SplitThisPayment transactionId={item.id} />
                )}
                <ol className="status-history" aria-label="Status history">
                  {item.history.map((h) => (
                    <li key={`${h.toStatus}-${h.at}`}>
                      {h.toStatus.toLowerCase()} · {formatTime(h.at)}
                      {h.reason ? ` · ${h.reason}` : ""}
                    </li>
                  ))}
                </ol>
              </div>
            )}
          </li>
        ))}
      </ul>
      {failed && <p className="error" role="alert">Your activity could not be loaded.</p>}
      {!loading && !failed && items.length === 0 && <p className="muted">No activity yet.</p>}
      {loading && <p className="muted small">Loading…</p>}
      <div ref={sentinel} aria-hidden="true" />
    </section>
  );
}

function CategoryPicker({ transactionId, category, onChange }: {
  transactionId: string; category: SpendingCategory; onChange: () => void;
}) {
  const [, categorize] = useMutation(CategorizeTransactionDocument);
  return (
    <div className="field category-picker">
      <label htmlFor={`category-${transactionId}`}>Category</label>
      <select id={`category-${transactionId}`} value={category}
              onChange={async (e) => {
                await categorize({ transactionId, category: e.target.value as SpendingCategory });
                onChange();
              }}>
        {CATEGORIES.map(([c, label]) => <option key={c} value={c}>{label}</option>)}
      </select>
    </div>
  );
}
