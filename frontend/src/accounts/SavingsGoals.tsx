import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  CloseSavingsGoalDocument,
  CreateSavingsGoalDocument,
  MoveToSavingsGoalDocument,
  SavingsGoalsDocument,
  WithdrawFromSavingsGoalDocument,
  type SavingsGoalsQuery,
} from "../gql/graphql";
import { formatDay } from "../shared/dates";
import { formatMoney } from "../shared/money";
import { refusalText } from "../shared/refusal";

type Goal = SavingsGoalsQuery["savingsGoals"][number];

/** Savings goals: vaults with a target, funded by hand, round-ups and a weekly amount. */
export function SavingsGoals({ onMoneyMoved }: { onMoneyMoved?: () => void }) {
  const [{ data }, reload] = useQuery({ query: SavingsGoalsDocument, requestPolicy: "network-only" });
  const [, createGoal] = useMutation(CreateSavingsGoalDocument);
  const [message, setMessage] = useState<string | null>(null);
  const goals = data?.savingsGoals ?? [];
  const refresh = () => {
    reload({ requestPolicy: "network-only" });
    onMoneyMoved?.();
  };

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const payload = (await createGoal({
      input: {
        name: String(form.get("name")),
        target: String(form.get("target")).replace(/[,\s$€£¥₹]/g, ""),
        currency: String(form.get("currency")),
        targetDate: form.get("targetDate") ? String(form.get("targetDate")) : null,
        roundUp: form.get("roundUp") === "on",
        weeklyAmount: String(form.get("weekly") || "0").replace(/[,\s$€£¥₹]/g, ""),
      },
    })).data?.createSavingsGoal;
    if (payload?.__typename === "SavingsGoalPayload") {
      setMessage(null);
      formElement.reset();
      refresh();
    } else setMessage(refusalText(payload));
  }

  return (
    <section className="card goals" aria-labelledby="goals-title">
      <h2 id="goals-title">Savings goals</h2>
      {goals.length === 0 && <p className="muted">No goals yet. Start one below.</p>}
      <ul className="goal-list">
        {goals.map((g) => <GoalCard key={g.id} goal={g} onChange={refresh} />)}
      </ul>
      <details open={goals.length === 0}>
        <summary>New goal</summary>
        <form onSubmit={submit} noValidate>
          <div className="field">
            <label htmlFor="goal-name">Name</label>
            <input id="goal-name" name="name" placeholder="Holiday in Japan" />
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="goal-target">Target</label>
              <input id="goal-target" name="target" inputMode="decimal" placeholder="0.00" />
            </div>
            <div className="field">
              <label htmlFor="goal-currency">Currency</label>
              <select id="goal-currency" name="currency" defaultValue="USD">
                {["USD", "EUR", "GBP", "JPY", "INR", "BRL"].map((c) => <option key={c}>{c}</option>)}
              </select>
            </div>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="goal-date">By (optional)</label>
              <input id="goal-date" name="targetDate" type="date" />
            </div>
            <div className="field">
              <label htmlFor="goal-weekly">Every week</label>
              <input id="goal-weekly" name="weekly" inputMode="decimal" placeholder="0.00" />
            </div>
          </div>
          <label className="check"><input type="checkbox" name="roundUp" /> Round up my payments into it</label>
          <button className="secondary" type="submit">Create goal</button>
        </form>
      </details>
      {message && <p className="error" role="status">{message}</p>}
    </section>
  );
}

function GoalCard({ goal, onChange }: { goal: Goal; onChange: () => void }) {
  const [, moveIn] = useMutation(MoveToSavingsGoalDocument);
  const [, moveOut] = useMutation(WithdrawFromSavingsGoalDocument);
  const [, close] = useMutation(CloseSavingsGoalDocument);
  const [outcome, setOutcome] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const key = useRef(crypto.randomUUID());

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const out = submitter?.value === "out";
    const formElement = event.currentTarget;
    const amount = String(new FormData(formElement).get("amount")).replace(/[,\s$€£¥₹]/g, "");
    const input = { goalId: goal.id, amount, idempotencyKey: key.current };
    const payload = out
      ? (await moveOut({ input })).data?.withdrawFromSavingsGoal
      : (await moveIn({ input })).data?.moveToSavingsGoal;
    if (payload) key.current = crypto.randomUUID();
    if (payload?.__typename === "SavingsGoalPayload") {
      const moved = formatMoney(payload.moved ?? amount, goal.currency);
      setOutcome({ kind: "success", text: `${out ? "Took out" : "Added"} ${moved}` });
      formElement.reset();
      onChange();
    } else setOutcome({ kind: "error", text: refusalText(payload) });
  }

  const rules = [goal.roundUp ? "round-ups on" : null,
                 Number(goal.weeklyAmount) > 0 ? `${formatMoney(goal.weeklyAmount, goal.currency)} weekly` : null,
                 goal.targetDate ? `by ${formatDay(goal.targetDate)}` : null].filter(Boolean).join(" · ");
  return (
    <li className="goal" data-testid={`goal-${goal.name}`}>
      <div className="budget-head">
        <strong>{goal.name}</strong>
        <span>{formatMoney(goal.saved, goal.currency)} of {formatMoney(goal.target, goal.currency)}</span>
      </div>
      <div className="progress" role="progressbar" aria-valuenow={goal.percent} aria-valuemin={0}
           aria-valuemax={100} aria-label={`${goal.name} progress`}>
        <span style={{ width: `${goal.percent}%` }} />
      </div>
      <p className="muted small">{goal.percent}% saved{rules ? ` · ${rules}` : ""}</p>
      <form className="row goal-move" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`goal-amount-${goal.id}`}>Amount</label>
          <input id={`goal-amount-${goal.id}`} name="amount" inputMode="decimal" placeholder="0.00" />
        </div>
        <div className="goal-buttons">
          <button className="primary" type="submit" value="in">Add</button>
          <button className="secondary" type="submit" value="out">Take out</button>
        </div>
      </form>
      <button className="link" onClick={async () => {
        const payload = (await close({ goalId: goal.id })).data?.closeSavingsGoal;
        if (payload?.__typename === "SavingsGoalPayload") onChange();
        else setOutcome({ kind: "error", text: refusalText(payload) });
      }}>Close goal</button>
      {outcome && <p className={outcome.kind} role="status">{outcome.text}</p>}
    </li>
  );
}
