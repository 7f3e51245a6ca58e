import { useState, type FormEvent } from "react";
import { useQuery } from "urql";

import { formatDay } from "../shared/dates";
import {
  BalanceSheetStatementDocument,
  CashFlowStatementQueryDocument,
  ProfitAndLossStatementDocument,
  TrialBalanceStatementDocument,
  type SectionFieldsFragment,
  type StatementLineFieldsFragment,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";

type Kind = "balance-sheet" | "profit-and-loss" | "cash-flow" | "trial-balance";
const KINDS: [Kind, string][] = [
  ["balance-sheet", "Balance sheet"],
  ["profit-and-loss", "Profit and loss"],
  ["cash-flow", "Cash flow"],
  ["trial-balance", "Trial balance"],
];
const CURRENCIES = ["USD", "EUR", "GBP", "JPY", "INR", "BRL"];

type Ask = { kind: Kind; currency: string; asOf: string; from: string; to: string };

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function monthStart(): string {
  return `${today().slice(0, 8)}01`;
}

function Lines({ lines, currency, trial = false }: {
  lines: StatementLineFieldsFragment[]; currency: string; trial?: boolean;
}) {
  return (
    <>
      {lines.map((l) => (
        <tr key={l.code}>
          <td>{l.name}<span className="muted small mono"> {l.code}{l.accounts > 1 ? ` (${l.accounts})` : ""}</span></td>
          {trial && <td className="num">{formatMoney(l.debits.amount, currency)}</td>}
          {trial && <td className="num">{formatMoney(l.credits.amount, currency)}</td>}
          {!trial && <td className="num">{formatMoney(l.balance.amount, currency)}</td>}
        </tr>
      ))}
    </>
  );
}

function Section({ title, section, currency }: { title: string; section: SectionFieldsFragment; currency: string }) {
  return (
    <>
      <tr className="section-row"><th colSpan={2}>{title}</th></tr>
      <Lines lines={section.lines} currency={currency} />
      <tr className="total-row"><td>Total {title.toLowerCase()}</td><td className="num">{formatMoney(section.total.amount, currency)}</td></tr>
    </>
  );
}

function Problem({ message }: { message: string }) {
  return <p className="error" role="alert">{message}</p>;
}

function BalanceSheet({ ask }: { ask: Ask }) {
  const [{ data }] = useQuery({ query: BalanceSheetStatementDocument, variables: { currency: ask.currency, asOf: ask.asOf } });
  const s = data?.balanceSheet;
  if (!s) return <p className="muted">Loading…</p>;
  if (s.__typename !== "BalanceSheet") return <Problem message={s.message} />;
  return (
    <table className="ledger-table statement" aria-label="Balance sheet">
      <caption>Balance sheet, {s.currency}, as of the end of {formatDay(s.asOf)}</caption>
      <tbody>
        <Section title="Assets" section={s.assets} currency={s.currency} />
        <Section title="Liabilities" section={s.liabilities} currency={s.currency} />
        <Section title="Equity" section={s.equity} currency={s.currency} />
        <tr className="total-row"><td>Liabilities and equity</td><td className="num">{formatMoney(s.liabilitiesAndEquity.amount, s.currency)}</td></tr>
        <tr><td colSpan={2} className={s.balances ? "success" : "error"}>{s.balances ? "Balances: assets equal liabilities and equity." : "Does not balance."}</td></tr>
      </tbody>
    </table>
  );
}

function ProfitAndLoss({ ask }: { ask: Ask }) {
  const [{ data }] = useQuery({ query: ProfitAndLossStatementDocument, variables: { currency: ask.currency, from: ask.from, to: ask.to } });
  const s = data?.profitAndLoss;
  if (!s) return <p className="muted">Loading…</p>;
  if (s.__typename !== "ProfitAndLoss") return <Problem message={s.message} />;
  return (
    <table className="ledger-table statement" aria-label="Profit and loss">
      <caption>Profit and loss, {s.currency}, {formatDay(s.from)} to {formatDay(s.to)}</caption>
      <tbody>
        <Section title="Revenue" section={s.revenue} currency={s.currency} />
        <Section title="Expenses" section={s.expenses} currency={s.currency} />
        <tr className="total-row"><td>Net income</td><td className="num">{formatMoney(s.netIncome.amount, s.currency)}</td></tr>
      </tbody>
    </table>
  );
}

function CashFlow({ ask }: { ask: Ask }) {
  const [{ data }] = useQuery({ query: CashFlowStatementQueryDocument, variables: { currency: ask.currency, from: ask.from, to: ask.to } });
  const s = data?.cashFlow;
  if (!s) return <p className="muted">Loading…</p>;
  if (s.__typename !== "CashFlowStatement") return <Problem message={s.message} />;
  const m = (amount: string) => formatMoney(amount, s.currency);
  return (
    <table className="ledger-table statement" aria-label="Cash flow">
      <caption>Cash flow, {s.currency}, {formatDay(s.from)} to {formatDay(s.to)}</caption>
      <thead><tr><th></th><th className="num">In</th><th className="num">Out</th><th className="num">Net</th></tr></thead>
      <tbody>
        <tr className="total-row"><td>Opening cash</td><td></td><td></td><td className="num">{m(s.opening.amount)}</td></tr>
        {s.lines.map((l) => (
          <tr key={l.category}><td>{l.name}</td><td className="num">{m(l.inflow.amount)}</td><td className="num">{m(l.outflow.amount)}</td><td className="num">{m(l.net.amount)}</td></tr>
        ))}
        <tr className="total-row"><td>Net change</td><td className="num">{m(s.totalInflow.amount)}</td><td className="num">{m(s.totalOutflow.amount)}</td><td className="num">{m(s.netChange.amount)}</td></tr>
        <tr className="total-row"><td>Closing cash</td><td></td><td></td><td className="num">{m(s.closing.amount)}</td></tr>
      </tbody>
    </table>
  );
}

function TrialBalance({ ask }: { ask: Ask }) {
  const [{ data }] = useQuery({ query: TrialBalanceStatementDocument, variables: { currency: ask.currency, asOf: ask.asOf } });
  const s = data?.trialBalance;
  if (!s) return <p className="muted">Loading…</p>;
  if (s.__typename !== "TrialBalance") return <Problem message={s.message} />;
  return (
    <table className="ledger-table statement" aria-label="Trial balance">
      <caption>Trial balance, {s.currency}, as of the end of {formatDay(s.asOf)}</caption>
      <thead><tr><th>Account</th><th className="num">Debits</th><th className="num">Credits</th></tr></thead>
      <tbody>
        <Lines lines={s.lines} currency={s.currency} trial />
        <tr className="total-row"><td>Total</td><td className="num">{formatMoney(s.totalDebits.amount, s.currency)}</td><td className="num">{formatMoney(s.totalCredits.amount, s.currency)}</td></tr>
        <tr><td colSpan={3} className={s.balanced ? "success" : "error"}>{s.balanced ? "Debits equal credits." : "Debits and credits differ."}</td></tr>
      </tbody>
    </table>
  );
}

function downloadUrl(ask: Ask, format: "csv" | "pdf"): string {
  const params = new URLSearchParams({ currency: ask.currency });
  if (ask.kind === "balance-sheet" || ask.kind === "trial-balance") params.set("asOf", ask.asOf);
  else { params.set("from", ask.from); params.set("to", ask.to); }
  return `/operator/books/${ask.kind}.${format}?${params}`;
}

/** The financial statements, for any day or period, on screen and to download. */
export default function StatementsPage() {
  const [ask, setAsk] = useState<Ask>({ kind: "balance-sheet", currency: "USD", asOf: today(), from: monthStart(), to: today() });
  const pointInTime = ask.kind === "balance-sheet" || ask.kind === "trial-balance";

  function show(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setAsk({
      kind: String(form.get("kind")) as Kind,
      currency: String(form.get("currency")),
      asOf: String(form.get("asOf") ?? ask.asOf) || ask.asOf,
      from: String(form.get("from") ?? ask.from) || ask.from,
      to: String(form.get("to") ?? ask.to) || ask.to,
    });
  }

  return (
    <>
      <h1>Financial statements</h1>
      <p className="muted">
        From the postings themselves, per currency: a past day shows the books as they stood
        at the end of that day (UTC).
      </p>
      <form className="card console-inline" onSubmit={show} aria-label="Which statement">
        <div className="field">
          <label htmlFor="statement-kind">Statement</label>
          <select id="statement-kind" name="kind" className="select" value={ask.kind}
            onChange={(e) => setAsk({ ...ask, kind: e.target.value as Kind })}>
            {KINDS.map(([k, label]) => <option key={k} value={k}>{label}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="statement-currency">Currency</label>
          <select id="statement-currency" name="currency" className="select" defaultValue={ask.currency}>
            {CURRENCIES.map((c) => <option key={c}>{c}</option>)}
          </select>
        </div>
        {pointInTime ? (
          <div className="field">
            <label htmlFor="statement-as-of">As of</label>
            <input id="statement-as-of" name="asOf" type="date" defaultValue={ask.asOf} required />
          </div>
        ) : (
          <>
            <div className="field">
              <label htmlFor="statement-from">From</label>
              <input id="statement-from" name="from" type="date" defaultValue={ask.from} required />
            </div>
            <div className="field">
              <label htmlFor="statement-to">To</label>
              <input id="statement-to" name="to" type="date" defaultValue={ask.to} required />
            </div>
          </>
        )}
        <button className="small-primary" type="submit">Show</button>
      </form>
      <section className="card" aria-label="Statement">
        <div className="table-scroll">
          {ask.kind === "balance-sheet" && <BalanceSheet ask={ask} />}
          {ask.kind === "profit-and-loss" && <ProfitAndLoss ask={ask} />}
          {ask.kind === "cash-flow" && <CashFlow ask={ask} />}
          {ask.kind === "trial-balance" && <TrialBalance ask={ask} />}
        </div>
        <div className="link-buttons">
          <a className="small-secondary" href={downloadUrl(ask, "csv")} download>Download CSV</a>
          <a className="small-secondary" href={downloadUrl(ask, "pdf")} download>Download PDF</a>
        </div>
      </section>
    </>
  );
}
