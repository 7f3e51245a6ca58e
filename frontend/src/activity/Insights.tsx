import { useState, type FormEvent } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, ComposedChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useMutation, useQuery } from "urql";

import {
  AddCategoryRuleDocument,
  DeleteBudgetDocument,
  DeleteCategoryRuleDocument,
  InsightsDocument,
  SetBudgetDocument,
  type InsightsQuery,
  type SpendingCategory,
} from "../gql/graphql";
import { CATEGORIES } from "../shared/categories";
import { BillReminders } from "./BillReminders";
import { ExportPanel } from "./ExportPanel";
import { formatMoney } from "../shared/money";
import { refusalText } from "../shared/refusal";

const LABEL = Object.fromEntries(CATEGORIES.map(([c, label]) => [c, label])) as Record<SpendingCategory, string>;
const BUDGETABLE = CATEGORIES.filter(([c]) => c !== "INCOME" && c !== "TRANSFERS");

const MONTH = new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" });
const DAY = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });

/** Budgets, spending trends (charts), financial health and category rules. */
export default function Insights() {
  const [currency, setCurrency] = useState("USD");
  const [{ data, error }, reload] = useQuery({ query: InsightsDocument, variables: { currency }, requestPolicy: "network-only" });
  const refresh = () => reload({ requestPolicy: "network-only" });
  if (error) return <p className="error" role="alert">Insights could not be loaded.</p>;
  if (!data) return <p className="muted">Loading…</p>;

  const months = data.spendingTrends;
  const used = CATEGORIES.filter(([c]) => months.some((m) => m.byCategory.some((b) => b.category === c)));
  const monthly = months.map((m) => ({
    label: MONTH.format(new Date(String(m.start))),
    income: Number(m.income),
    ...Object.fromEntries(m.byCategory.map((b) => [b.category, Number(b.amount)])),
  }));
  const weekly = data.weeklySpending.map((w) => ({ label: DAY.format(new Date(String(w.start))), spent: Number(w.expenses) }));
  const health = data.financialHealth;
  const thisMonth = months[months.length - 1];

  return (
    <section className="card insights" aria-labelledby="insights-title">
      <div className="card-title-row">
        <h2 id="insights-title">Insights</h2>
        <label className="visually-hidden" htmlFor="insights-currency">Currency</label>
        <select id="insights-currency" className="select small-select" value={currency} onChange={(e) => setCurrency(e.target.value)}>
          {["USD", "EUR", "GBP", "JPY", "INR", "BRL"].map((c) => <option key={c}>{c}</option>)}
        </select>
      </div>

      {health && (
        <div className="health" data-testid="health">
          <div className="score" aria-label="Financial health score">{health.score}</div>
          <dl className="details">
            <div><dt>Savings rate</dt><dd>{Math.round(Number(health.savingsRate) * 100)}%</dd></div>
            <div><dt>Buffer</dt><dd>{health.bufferMonths} mo</dd></div>
            <div><dt>Budgets on track</dt><dd>{Math.round(Number(health.budgetsOnTrack) * 100)}%</dd></div>
          </dl>
        </div>
      )}

      <h3>This month</h3>
      <p className="muted">
        In {formatMoney(thisMonth.income, currency)} · Out {formatMoney(thisMonth.expenses, currency)}
      </p>
      <ul className="category-totals" aria-label="Spending by category">
        {thisMonth.byCategory.map((b) => (
          <li key={b.category}><span>{LABEL[b.category]}</span><span>{formatMoney(b.amount, currency)}</span></li>
        ))}
      </ul>

      <h3>Monthly spending and income</h3>
      <div className="chart" data-testid="monthly-chart">
        <ResponsiveContainer width="100%" height={240}>
          <ComposedChart data={monthly} margin={{ top: 8, right: 8, left: -12, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" tick={{ fontSize: 12 }} />
            <YAxis tick={{ fontSize: 12 }} width={48} />
            <Tooltip formatter={(value) => formatMoney(Number(value).toFixed(currency === "JPY" ? 0 : 2), currency)} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            {used.map(([c, label, color]) => (
              <Bar key={c} dataKey={c} name={label} stackId="spent" fill={color} isAnimationActive={false} />
            ))}
            <Line type="linear" dataKey="income" name="Income" stroke="#14532d" strokeWidth={2} dot isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>

      <h3>Weekly spending</h3>
      <div className="chart" data-testid="weekly-chart">
        <ResponsiveContainer width="100%" height={180}>
          <BarChart data={weekly} margin={{ top: 8, right: 8, left: -12, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" tick={{ fontSize: 11 }} interval="preserveStartEnd" />
            <YAxis tick={{ fontSize: 12 }} width={48} />
            <Tooltip formatter={(value) => formatMoney(Number(value).toFixed(currency === "JPY" ? 0 : 2), currency)} />
            <Bar dataKey="spent" name="Spent" fill="#1f8a70" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>

      <Budgets budgets={data.budgets} onChange={refresh} />
      <Rules rules={data.categoryRules} onChange={refresh} />
      <BillReminders />
      <ExportPanel />
    </section>
  );
}

type Budget = InsightsQuery["budgets"][number];

function Budgets({ budgets, onChange }: { budgets: Budget[]; onChange: () => void }) {
  const [, setBudget] = useMutation(SetBudgetDocument);
  const [, deleteBudget] = useMutation(DeleteBudgetDocument);
  const [message, setMessage] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const result = await setBudget({
      input: {
        category: String(form.get("category")) as SpendingCategory,
        amount: String(form.get("amount")).replace(/[,\s$€£¥₹]/g, ""),
        currency: String(form.get("currency")),
        rollover: form.get("rollover") === "on",
      },
    });
    const payload = result.data?.setBudget;
    if (payload?.__typename === "BudgetPayload") {
      setMessage(null);
      formElement.reset();
      onChange();
    } else setMessage(refusalText(payload));
  }

  return (
    <div className="budgets">
      <h3>Budgets</h3>
      {budgets.length === 0 && <p className="muted">No budgets yet.</p>}
      <ul className="budget-list" aria-label="Budgets">
        {budgets.map((b) => (
          <li key={b.id} data-testid={`budget-${b.category}`}>
            <div className="budget-head">
              <strong>{LABEL[b.category]}</strong>
              <span>{formatMoney(b.spent, b.currency)} of {formatMoney(b.available, b.currency)}</span>
            </div>
            <div className={`progress${b.percent >= 100 ? " over" : b.percent >= 80 ? " near" : ""}`}
                 role="progressbar" aria-valuenow={b.percent} aria-valuemin={0} aria-valuemax={100}
                 aria-label={`${LABEL[b.category]} budget used`}>
              <span style={{ width: `${Math.min(b.percent, 100)}%` }} />
            </div>
            <div className="budget-foot muted small">
              <span>{b.percent}% used{b.rollover ? " · rolls over" : ""}</span>
              <button className="link" onClick={async () => { await deleteBudget({ id: b.id }); onChange(); }}>Remove</button>
            </div>
          </li>
        ))}
      </ul>
      <details>
        <summary>Set a budget</summary>
        <form onSubmit={submit} noValidate>
          <div className="row">
            <div className="field">
              <label htmlFor="budget-category">Category</label>
              <select id="budget-category" name="category">
                {BUDGETABLE.map(([c, label]) => <option key={c} value={c}>{label}</option>)}
              </select>
            </div>
            <div className="field">
              <label htmlFor="budget-amount">Monthly amount</label>
              <input id="budget-amount" name="amount" inputMode="decimal" placeholder="0.00" />
            </div>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="budget-currency">Currency</label>
              <select id="budget-currency" name="currency" defaultValue="USD">
                {["USD", "EUR", "GBP", "JPY", "INR", "BRL"].map((c) => <option key={c}>{c}</option>)}
              </select>
            </div>
            <label className="check"><input type="checkbox" name="rollover" /> Roll over what is left</label>
          </div>
          <button className="secondary" type="submit">Save budget</button>
        </form>
      </details>
      {message && <p className="error" role="status">{message}</p>}
    </div>
  );
}

type Rule = InsightsQuery["categoryRules"][number];

function Rules({ rules, onChange }: { rules: Rule[]; onChange: () => void }) {
  const [, addRule] = useMutation(AddCategoryRuleDocument);
  const [, deleteRule] = useMutation(DeleteCategoryRuleDocument);
  const [message, setMessage] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const payload = (await addRule({
      pattern: String(form.get("pattern")),
      category: String(form.get("category")) as SpendingCategory,
    })).data?.addCategoryRule;
    if (payload?.__typename === "CategoryRulePayload") {
      setMessage(null);
      formElement.reset();
      onChange();
    } else setMessage(refusalText(payload));
  }

  return (
    <div className="rules">
      <h3>Category rules</h3>
      <ul className="rule-list">
        {rules.map((r) => (
          <li key={r.id}>
            Payee contains “{r.pattern}” → {LABEL[r.category]}
            <button className="link" onClick={async () => { await deleteRule({ id: r.id }); onChange(); }}>Remove</button>
          </li>
        ))}
      </ul>
      <form className="row" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="rule-pattern">Payee contains</label>
          <input id="rule-pattern" name="pattern" placeholder="uber" />
        </div>
        <div className="field">
          <label htmlFor="rule-category">Put in</label>
          <select id="rule-category" name="category">
            {CATEGORIES.map(([c, label]) => <option key={c} value={c}>{label}</option>)}
          </select>
        </div>
        <button className="secondary" type="submit">Add rule</button>
      </form>
      {message && <p className="error" role="status">{message}</p>}
    </div>
  );
}
