import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import { useClient, useMutation } from "urql";

import {
  ActivityDocument,
  type ActivityQuery,
  CategorizeTransactionDocument,
  type SpendingCategory,
  type TransactionType,
} from "../gql/graphql";
import { PaymentProtection } from "./PaymentProtection";
import { SplitThisPayment } from "../pay/SplitGroups";
import { CATEGORIES } from "../shared/categories";
import { formatDateTime, formatTime } from "../shared/dates";
import { formatMoney } from "../shared/money";

type Edge = NonNullable<ActivityQuery["activity"]>["edges"][number];
type Line = Edge["node"];

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

const STATUS_TEXT: Partial<Record<string, string>> = {
  PENDING: "Pending",
  PROCESSING: "Processing",
  FAILED: "Failed",
  EXPIRED: "Expired",
  REVERSED: "Reversed",
};

/** The viewer's activity, newest first, loading older pages as the list scrolls. Each
 * booked line is a posting in the order it hit the balance, with the balance after it,
 * so a currency's balances add up line by line; pending and failed lines moved nothing. */
export function ActivityList({ refreshKey, onChange, limit }: {
  refreshKey: number; onChange?: () => void;
  /** Only the newest few lines, without filters, with a link to the whole list. */
  limit?: number;
}) {
  const client = useClient();
  const [edges, setEdges] = useState<Edge[]>([]);
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
        .query(ActivityDocument, { first: limit ?? PAGE_SIZE, after, filter },
               { requestPolicy: "network-only" })
        .toPromise();
      if (mine !== generation.current) return; // a newer filter or refresh superseded this
      setLoading(false);
      const page = result.data?.activity;
      if (!page) {
        setFailed(true);
        setHasMore(false);
        return;
      }
      setFailed(false);
      setEdges((current) => (after ? [...current, ...page.edges] : page.edges));
      setCursor(page.pageInfo.endCursor ?? null);
      setHasMore(limit ? false : page.pageInfo.hasNextPage);
    },
    [client, type, counterparty, limit],
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
  const inFlight = edges.some((e) => e.node.transaction?.status === "PROCESSING");
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
      <div className="card-title-row">
        {/* The full list is the Activity screen's own: its h1 already says so. */}
        <h2 id="activity-title" className={limit ? undefined : "visually-hidden"}>
          {limit ? "Recent activity" : "Activity"}
        </h2>
        {limit && <Link className="see-all" to="/activity">See all activity</Link>}
      </div>
      {!limit && <div className="filters">
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
      </div>}
      <ul className="activity-list" data-testid="activity">
        {edges.map(({ cursor, node: line }) => {
          // Opened by transaction and currency, so a pending line that gets booked (a new
          // line in its place) stays open.
          const key = line.transaction ? `${line.transaction.id}:${line.currency}` : cursor;
          return (
            <ActivityRow key={cursor} line={line} open={open === key}
                         onToggle={() => setOpen(open === key ? null : key)} onChange={onChange} />
          );
        })}
      </ul>
      {failed && <p className="error" role="alert">Your activity could not be loaded.</p>}
      {!loading && !failed && edges.length === 0 && (
        <p className="muted empty">
          No activity yet. <Link to="/pay/add">Add money</Link> or ask a friend to{" "}
          <Link to="/pay/request">send you some</Link>: every payment shows up here.
        </p>
      )}
      {loading && <p className="muted small">Loading…</p>}
      <div ref={sentinel} aria-hidden="true" />
    </section>
  );
}

function ActivityRow({ line, open, onToggle, onChange }: {
  line: Line; open: boolean; onToggle: () => void; onChange?: () => void;
}) {
  const item = line.transaction;
  const status = item?.status ?? "COMPLETED";
  const badge = STATUS_TEXT[status];
  // A booked line moved money whatever became of its transaction later; a failed or
  // expired one that never booked moved nothing.
  const amountClass = !line.booked && ["FAILED", "EXPIRED"].includes(status) ? "amount-void"
    : line.direction === "IN" ? "amount-in" : "amount-out";
  const counter = item?.counterAmount && item.counterCurrency && item.currency === line.currency
    ? formatMoney(item.counterAmount, item.counterCurrency) : null;
  return (
    <li data-booked={line.booked ? "true" : "false"} data-currency={line.currency}>
      <button className="activity-row" aria-expanded={open} onClick={onToggle}>
        <span className="activity-main">
          <span className="activity-title">{line.description}</span>
          <span className="muted small">
            {badge && <span className={`badge badge-${status.toLowerCase()}`}>{badge}</span>}
            {formatDateTime(line.at)}
            {item?.note && item.type !== "PROMOTIONAL_CREDIT" && item.type !== "REWARD" ? ` · ${item.note}` : ""}
          </span>
        </span>
        <span className="activity-amounts">
          <span className={amountClass} data-testid="line-amount">
            {line.direction === "IN" ? "+" : "−"}
            {formatMoney(line.amount, line.currency)}
          </span>
          {counter && (
            <span className="muted small">
              {item?.type === "FX" || line.direction === "OUT" ? "→ " : "from "}{counter}
            </span>
          )}
          {line.balanceAfter && (
            <span className="muted small" data-testid="line-balance">
              bal {formatMoney(line.balanceAfter, line.currency)}
            </span>
          )}
        </span>
      </button>
      {open && (
        <div className="detail" data-testid="transaction-detail">
          <dl>
            <div><dt>Status</dt><dd>{line.booked ? "booked" : status.toLowerCase()}{item && line.booked ? ` · ${status.toLowerCase()}` : ""}</dd></div>
            <div><dt>Amount</dt><dd>{formatMoney(line.amount, line.currency)}</dd></div>
            {item?.counterAmount && item.counterCurrency && (
              <div>
                <dt>{item.direction === "IN" && item.type !== "FX" ? "They sent" : "Converted to"}</dt>
                <dd>{formatMoney(item.counterAmount, item.counterCurrency)}</dd>
              </div>
            )}
            {item?.paymentMethod && <div><dt>Method</dt><dd>{item.paymentMethod}</dd></div>}
            {item?.recipientContact && <div><dt>Sent to</dt><dd>{item.recipientContact}</dd></div>}
            {item?.failureReason && <div><dt>Reason</dt><dd>{item.failureReason}</dd></div>}
            {item && <div><dt>Reference</dt><dd>#{item.id}</dd></div>}
            {line.position != null && <div><dt>Ledger position</dt><dd>{line.currency} {line.position}</dd></div>}
          </dl>
          {item && <CategoryPicker transactionId={item.id} category={item.category} onChange={() => onChange?.()} />}
          {item && item.type === "PAYMENT" && item.direction === "OUT" &&
           (item.status === "COMPLETED" || item.status === "PENDING") && (
            <PaymentProtection paymentId={item.id} pending={item.status === "PENDING"}
                               onChange={() => onChange?.()} />
          )}
          {item && item.type === "PAYMENT" && item.direction === "OUT" && item.status === "COMPLETED" && (
            <SplitThisPayment transactionId={item.id} />
          )}
          {item && (
            <ol className="status-history" aria-label="Status history">
              {item.history.map((h) => (
                <li key={`${h.toStatus}-${h.at}`}>
                  {h.toStatus.toLowerCase()} · {formatTime(h.at)}
                  {h.reason ? ` · ${h.reason}` : ""}
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </li>
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
