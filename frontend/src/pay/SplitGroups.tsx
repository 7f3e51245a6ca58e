import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  AddSplitExpenseDocument,
  AnswerSplitInvitationDocument,
  CreateSplitGroupDocument,
  SettleUpDocument,
  SplitGroupsDocument,
  SplitInvitationsDocument,
  SplitPaymentDocument,
  type SplitGroupsQuery,
  type SplitMethod,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { refusalText } from "../shared/refusal";
import { useStepUp } from "../shared/stepUp";

type Group = SplitGroupsQuery["splitGroups"][number];

const METHODS: [SplitMethod, string, string][] = [
  ["EQUAL", "Equally", ""],
  ["EXACT", "Exact amounts", "Amount"],
  ["PERCENT", "Percentages", "%"],
  ["SHARES", "Shares", "Shares"],
];

/** Bill splitting: invitations, groups, who owes whom, shared expenses and settling up. */
export function SplitGroups({ username, onMoneyMoved }: { username: string; onMoneyMoved?: () => void }) {
  const [{ data }, reload] = useQuery({ query: SplitGroupsDocument, requestPolicy: "network-only" });
  const [selected, setSelected] = useState<string | null>(null);
  const [, createGroup] = useMutation(CreateSplitGroupDocument);
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const groups = data?.splitGroups ?? [];
  const group = groups.find((g) => g.id === selected) ?? groups[0];

  function refresh() {
    reload({ requestPolicy: "network-only" });
  }

  async function submitGroup(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const members = String(form.get("members")).split(/[,\s]+/).filter(Boolean);
    const result = await createGroup({ input: { name: String(form.get("name")), members } });
    const payload = result.data?.createSplitGroup;
    if (payload?.__typename === "SplitGroupPayload") {
      setSelected(payload.group.id);
      setMessage(null);
      formElement.reset();
      refresh();
    } else setMessage({ kind: "error", text: refusalText(payload) });
  }

  return (
    <section className="card splits" aria-labelledby="splits-title">
      <h2 id="splits-title">Split bills</h2>
      <Invitations onJoined={(groupId) => { setSelected(groupId); refresh(); }} />
      {groups.length > 0 && (
        <div className="field">
          <label htmlFor="split-group">Group</label>
          <select id="split-group" value={group?.id} onChange={(e) => setSelected(e.target.value)}>
            {groups.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
          </select>
        </div>
      )}
      {group && <GroupDetail group={group} username={username} onChanged={() => { refresh(); onMoneyMoved?.(); }} />}
      <details className="new-group" open={groups.length === 0}>
        <summary>New group</summary>
        <form onSubmit={submitGroup} noValidate>
          <div className="field">
            <label htmlFor="group-name">Group name</label>
            <input id="group-name" name="name" placeholder="Lisbon trip" required />
          </div>
          <div className="field">
            <label htmlFor="group-members">Invite</label>
            <input id="group-members" name="members" placeholder="@sam, +14155550123, kim@example.com" />
          </div>
          <p className="muted small">People join when they accept; until then no expense can name them.</p>
          <button className="secondary" type="submit">Create group</button>
        </form>
      </details>
      {message && <p className={message.kind} role="status">{message.text}</p>}
    </section>
  );
}

/** Invitations waiting for your answer: nobody is in a group, or owes in it, without a yes. */
function Invitations({ onJoined }: { onJoined: (groupId: string) => void }) {
  const [{ data }, reload] = useQuery({ query: SplitInvitationsDocument, requestPolicy: "network-only" });
  const [, answer] = useMutation(AnswerSplitInvitationDocument);
  const [error, setError] = useState<string | null>(null);
  const invitations = data?.splitInvitations ?? [];
  if (invitations.length === 0 && !error) return null;

  async function respond(invitationId: string, accept: boolean) {
    const payload = (await answer({ input: { invitationId, accept } })).data?.answerSplitInvitation;
    if (payload?.__typename === "SplitInvitationPayload") {
      setError(null);
      reload({ requestPolicy: "network-only" });
      if (payload.group) onJoined(payload.group.id);
    } else setError(refusalText(payload));
  }

  return (
    <div className="invitations" data-testid="split-invitations">
      <h3>Invitations</h3>
      <ul className="requests" aria-label="Invitations">
        {invitations.map((i) => (
          <li key={i.id}>
            <span>@{i.invitedBy} invited you to <strong>{i.groupName}</strong></span>
            <span className="request-actions">
              <button className="small-primary" onClick={() => respond(i.id, true)}>Accept</button>
              <button className="small-secondary" onClick={() => respond(i.id, false)}>Decline</button>
            </span>
          </li>
        ))}
      </ul>
      {error && <p className="error" role="alert">{error}</p>}
    </div>
  );
}

function GroupDetail({ group, username, onChanged }: { group: Group; username: string; onChanged: () => void }) {
  const [, settleUp] = useMutation(SettleUpDocument);
  const [outcome, setOutcome] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const settleKey = useRef(crypto.randomUUID());
  const stepUp = useStepUp("settle up");
  const mine = group.positions.filter((p) => p.username === username);
  const currencies = [...new Set(group.positions.map((p) => p.currency))];

  async function settle(currency: string) {
    const result = await settleUp({ input: { groupId: group.id, currency, idempotencyKey: settleKey.current } });
    const payload = result.data?.settleUp;
    if (payload?.__typename === "SettleUpPayload") {
      const paid = payload.transfers.map((t) => `paid @${t.to} ${formatMoney(t.amount, payload.currency)}`);
      const asked = payload.requests.map((r) => `asked @${r.from} for ${formatMoney(r.amount, payload.currency)}`);
      setOutcome({ kind: "success", text: `Settled up: ${[...paid, ...asked].join(", ")}` });
      settleKey.current = crypto.randomUUID();
      onChanged();
    } else if (payload?.__typename === "StepUpRequired") {
      setOutcome(null);
      stepUp.ask(payload.methods, () => void settle(currency)); // again, the same key
    } else {
      if (payload) settleKey.current = crypto.randomUUID();
      setOutcome({ kind: "error", text: refusalText(payload) });
    }
  }

  return (
    <div className="group-detail" data-testid="split-group">
      <p className="muted small">{group.members.map((m) => `@${m}`).join(" · ")}</p>
      {group.invited.length > 0 && (
        <p className="muted small" data-testid="split-invited">Invited: {group.invited.join(" · ")}</p>
      )}
      <h3>Balances</h3>
      {group.positions.length === 0 ? (
        <p className="muted">Everyone is square.</p>
      ) : (
        <ul className="positions" aria-label="Balances">
          {group.positions.map((p) => (
            <li key={`${p.username}-${p.currency}`}>
              <span>@{p.username}{p.username === username ? " (you)" : ""}</span>
              <span className={p.net.startsWith("-") ? "amount-out" : "amount-in"}>
                {p.net.startsWith("-") ? "owes " : "is owed "}
                {formatMoney(p.net.replace("-", ""), p.currency)}
              </span>
            </li>
          ))}
        </ul>
      )}
      {group.suggestedPayments.length > 0 && (
        <>
          <h3>To settle</h3>
          <ul className="suggested" aria-label="Suggested payments">
            {group.suggestedPayments.map((s) => (
              <li key={`${s.payer}-${s.payee}-${s.currency}`}>
                @{s.payer} → @{s.payee}: {formatMoney(s.amount, s.currency)}
              </li>
            ))}
          </ul>
        </>
      )}
      {mine.length > 0 && currencies.filter((c) => mine.some((p) => p.currency === c)).map((currency) => (
        <button key={currency} className="primary" onClick={() => settle(currency)}>
          Settle up{currencies.length > 1 ? ` (${currency})` : ""}
        </button>
      ))}
      {stepUp.prompt}
      {outcome && <p className={outcome.kind} role="status">{outcome.text}</p>}
      <AddExpense group={group} username={username} onAdded={onChanged} />
      <h3>Expenses</h3>
      {group.expenses.length === 0 && <p className="muted">No expenses yet.</p>}
      <ul className="expenses">
        {group.expenses.map((e) => (
          <li key={e.id}>
            <span>
              <strong>{e.description}</strong>
              <span className="muted small"> · paid by @{e.paidBy}</span>
            </span>
            <span>{formatMoney(e.amount, e.currency)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function AddExpense({ group, username, onAdded }: { group: Group; username: string; onAdded: () => void }) {
  const [, addExpense] = useMutation(AddSplitExpenseDocument);
  const [method, setMethod] = useState<SplitMethod>("EQUAL");
  const [outcome, setOutcome] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const valueLabel = METHODS.find(([m]) => m === method)?.[2] ?? "";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const among = group.members.filter((m) => form.get(`in-${m}`) === "on");
    const values = method === "EQUAL" ? [] : among.map((m) => ({ member: m, value: String(form.get(`value-${m}`) || "0") }));
    const result = await addExpense({
      input: {
        groupId: group.id,
        description: String(form.get("description")),
        amount: String(form.get("amount")).replace(/[,\s$€£¥₹]/g, ""),
        currency: String(form.get("currency")),
        paidBy: String(form.get("paidBy")),
        method,
        among,
        values,
      },
    });
    const payload = result.data?.addSplitExpense;
    if (payload?.__typename === "SplitExpensePayload") {
      setOutcome({ kind: "success", text: "Expense added" });
      formElement.reset();
      setMethod("EQUAL");
      onAdded();
    } else setOutcome({ kind: "error", text: refusalText(payload) });
  }

  return (
    <details className="add-expense">
      <summary>Add an expense</summary>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="expense-description">What for</label>
          <input id="expense-description" name="description" placeholder="Dinner" required />
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="expense-amount">Amount</label>
            <input id="expense-amount" name="amount" inputMode="decimal" placeholder="0.00" required />
          </div>
          <div className="field">
            <label htmlFor="expense-currency">Currency</label>
            <select id="expense-currency" name="currency" defaultValue="USD">
              {["USD", "EUR", "GBP", "JPY", "INR", "BRL"].map((c) => <option key={c}>{c}</option>)}
            </select>
          </div>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="expense-paid-by">Paid by</label>
            <select id="expense-paid-by" name="paidBy" defaultValue={username}>
              {group.members.map((m) => <option key={m} value={m}>@{m}</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="expense-method">Split</label>
            <select id="expense-method" value={method} onChange={(e) => setMethod(e.target.value as SplitMethod)}>
              {METHODS.map(([m, label]) => <option key={m} value={m}>{label}</option>)}
            </select>
          </div>
        </div>
        <fieldset className="split-members">
          <legend>Between</legend>
          {group.members.map((m) => (
            <div key={m} className="split-member">
              <label>
                <input type="checkbox" name={`in-${m}`} defaultChecked /> @{m}
              </label>
              {method !== "EQUAL" && (
                <input aria-label={`${valueLabel} for @${m}`} name={`value-${m}`} inputMode="decimal"
                       placeholder={valueLabel} />
              )}
            </div>
          ))}
        </fieldset>
        <button className="secondary" type="submit">Add expense</button>
        {outcome && <p className={outcome.kind} role="status">{outcome.text}</p>}
      </form>
    </details>
  );
}

/** Split one of your merchant payments equally with a group, from its detail. */
export function SplitThisPayment({ transactionId, onSplit }: { transactionId: string; onSplit?: () => void }) {
  const [{ data }] = useQuery({ query: SplitGroupsDocument });
  const [, splitPayment] = useMutation(SplitPaymentDocument);
  const [outcome, setOutcome] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const groups = data?.splitGroups ?? [];
  if (groups.length === 0) return null;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const groupId = String(new FormData(event.currentTarget).get("group"));
    const payload = (await splitPayment({ input: { transactionId, groupId } })).data?.splitPayment;
    if (payload?.__typename === "SplitExpensePayload") {
      const shares = payload.expense.shares.map((s) => `@${s.username} ${s.amount}`).join(", ");
      setOutcome({ kind: "success", text: `Split: ${shares}` });
      onSplit?.();
    } else setOutcome({ kind: "error", text: refusalText(payload) });
  }

  return (
    <form className="split-payment" onSubmit={submit}>
      <label htmlFor={`split-${transactionId}`}>Split with</label>
      <select id={`split-${transactionId}`} name="group">
        {groups.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
      </select>
      <button className="secondary" type="submit">Split equally</button>
      {outcome && <p className={outcome.kind} role="status">{outcome.text}</p>}
    </form>
  );
}
