import { useState, type FormEvent } from "react";
import { useQuery } from "urql";

import { formatDateTime } from "../shared/dates";
import {
  AccountStatementViewDocument,
  JournalEntriesSearchDocument,
  LedgerAccountsSearchDocument,
  type EntryFieldsFragment,
  type JournalEntriesSearchQueryVariables,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";

function Entry({ entry, onAccount }: { entry: EntryFieldsFragment; onAccount: (id: string) => void }) {
  return (
    <li className="console-row" data-testid={`entry-${entry.id}`}>
      <p>
        <strong>Entry #{entry.id}</strong> · {entry.kind} · {formatDateTime(entry.createdAt)}
        {entry.transactionId && <> · transaction #{entry.transactionId}</>}
        {entry.reversesId && <> · reverses #{entry.reversesId}</>}
      </p>
      {entry.description && <p className="muted small">{entry.description}</p>}
      {entry.reference && <p className="small">Reference <span className="mono">{entry.reference}</span></p>}
      <div className="table-scroll">
        <table className="ledger-table" aria-label={`Postings of entry ${entry.id}`}>
          <thead><tr><th>Account</th><th className="num">Debit</th><th className="num">Credit</th></tr></thead>
          <tbody>
            {entry.postings.map((p) => (
              <tr key={p.id}>
                <td>
                  <button type="button" className="link-like mono" onClick={() => onAccount(p.accountId)}>{p.accountCode}</button>
                </td>
                <td className="num">{p.side === "D" ? formatMoney(p.amount, p.currency) : ""}</td>
                <td className="num">{p.side === "C" ? formatMoney(p.amount, p.currency) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </li>
  );
}

function Entries({ filter, onAccount }: { filter: JournalEntriesSearchQueryVariables; onAccount: (id: string) => void }) {
  const [after, setAfter] = useState<string[]>([]);
  const [{ data, fetching, error }] = useQuery({
    query: JournalEntriesSearchDocument,
    variables: { ...filter, after: after[after.length - 1] ?? null },
    requestPolicy: "network-only",
  });
  const entries = data?.journalEntries;
  if (error) return <p className="error" role="alert">{error.graphQLErrors[0]?.message ?? "That search did not work."}</p>;
  if (!entries) return <p className="muted">{fetching ? "Searching…" : ""}</p>;
  return (
    <>
      {entries.length === 0 && <p className="muted">No entries match.</p>}
      <ul className="requests" data-testid="journal-entries">
        {entries.map((e) => <Entry key={e.id} entry={e} onAccount={onAccount} />)}
      </ul>
      <div className="link-buttons">
        {after.length > 0 && <button className="small-secondary" onClick={() => setAfter(after.slice(0, -1))}>Newer</button>}
        {entries.length === 25 && (
          <button className="small-secondary" onClick={() => setAfter([...after, entries[entries.length - 1].id])}>Older</button>
        )}
      </div>
    </>
  );
}

function Statement({ accountId, onClose }: { accountId: string; onClose: () => void }) {
  const [{ data }] = useQuery({ query: AccountStatementViewDocument, variables: { accountId } });
  const s = data?.accountStatement;
  if (!s) return <p className="muted">Loading…</p>;
  if (s.__typename !== "AccountStatement") return <p className="error" role="alert">{"message" in s ? s.message : "No statement"}</p>;
  const m = (amount: string) => formatMoney(amount, s.currency);
  return (
    <section className="card" aria-labelledby="account-statement">
      <div className="card-title-row">
        <h2 id="account-statement">Statement of <span className="mono">{s.accountCode}</span></h2>
        <button className="small-secondary" onClick={onClose}>Close</button>
      </div>
      <div className="table-scroll">
        <table className="ledger-table">
          <thead><tr><th>When</th><th>Entry</th><th className="num">Debit</th><th className="num">Credit</th><th className="num">Balance</th></tr></thead>
          <tbody>
            <tr className="total-row"><td colSpan={4}>Opening balance</td><td className="num">{m(s.opening)}</td></tr>
            {s.lines.map((l) => (
              <tr key={l.position}>
                <td>{formatDateTime(l.createdAt)}</td>
                <td>#{l.entryId} {l.kind}<span className="muted small"> {l.description}</span></td>
                <td className="num">{l.side === "D" ? m(l.amount) : ""}</td>
                <td className="num">{l.side === "C" ? m(l.amount) : ""}</td>
                <td className="num">{m(l.balanceAfter)}</td>
              </tr>
            ))}
            <tr className="total-row"><td colSpan={4}>Closing balance{s.complete ? "" : " (first 200 postings shown)"}</td><td className="num">{m(s.closing)}</td></tr>
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The ledger explorer: accounts with balances, journal entries by account, transaction,
 * reference or date, an entry's postings and an account's statement. */
export default function LedgerExplorer() {
  const [search, setSearch] = useState<string | null>(null);
  const [currency, setCurrency] = useState("USD");
  const [filter, setFilter] = useState<JournalEntriesSearchQueryVariables | null>(null);
  const [statementOf, setStatementOf] = useState<string | null>(null);
  const [{ data: accounts }] = useQuery({
    query: LedgerAccountsSearchDocument,
    variables: { search: search || null, ownerType: search ? null : "SYSTEM" },
  });

  function findAccounts(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSearch(String(new FormData(event.currentTarget).get("search") ?? "").trim());
  }

  function findEntries(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? "").trim() || null;
    setFilter({
      accountId: value("account"),
      transactionId: value("transaction"),
      reference: value("reference"),
      from: value("from"),
      to: value("to"),
      kind: value("kind"),
    });
  }

  function showAccount(id: string) {
    setStatementOf(id);
    setFilter({ accountId: id });
  }

  return (
    <>
      <h1>Ledger</h1>
      <section className="card" aria-labelledby="accounts-title">
        <h2 id="accounts-title">Accounts</h2>
        <form className="console-inline" onSubmit={findAccounts}>
          <div className="field">
            <label htmlFor="account-search">Code or username</label>
            <input id="account-search" name="search" placeholder="system:USD or @alice" maxLength={200} />
          </div>
          <button className="small-primary" type="submit">Find accounts</button>
        </form>
        <div className="console-inline">
          <p className="muted small">{search ? `Accounts matching “${search}”` : "The chart of accounts (system accounts)"}</p>
          <div className="field">
            <label htmlFor="account-currency">Currency</label>
            <select id="account-currency" className="select" value={currency} onChange={(e) => setCurrency(e.target.value)}>
              {["All", "USD", "EUR", "GBP", "JPY", "INR", "BRL"].map((c) => <option key={c}>{c}</option>)}
            </select>
          </div>
        </div>
        <div className="table-scroll">
          <table className="ledger-table" data-testid="ledger-accounts">
            <thead><tr><th>Account</th><th className="wide-only">Type</th><th className="wide-only">Owner</th><th className="num">Balance</th><th></th></tr></thead>
            <tbody>
              {(accounts?.ledgerAccounts ?? []).filter((a) => currency === "All" || a.currency === currency).map((a) => (
                <tr key={a.id}>
                  <td className="mono">{a.code}</td>
                  <td className="wide-only">{a.accountType.toLowerCase()}{a.status !== "ACTIVE" && <span className="badge badge-failed">{a.status.toLowerCase()}</span>}</td>
                  <td className="wide-only">{a.ownerName ? `@${a.ownerName}` : a.ownerType.toLowerCase()}</td>
                  <td className="num">{formatMoney(a.posted, a.currency)}</td>
                  <td><button className="small-secondary" onClick={() => showAccount(a.id)}>Statement</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      {statementOf && <Statement accountId={statementOf} onClose={() => setStatementOf(null)} />}

      <section className="card" aria-labelledby="entries-title">
        <h2 id="entries-title">Journal entries</h2>
        <form className="console-inline" onSubmit={findEntries} key={filter?.accountId ?? "search"}>
          <div className="field">
            <label htmlFor="entry-account">Account number</label>
            <input id="entry-account" name="account" inputMode="numeric" defaultValue={filter?.accountId ?? ""} />
          </div>
          <div className="field">
            <label htmlFor="entry-transaction">Transaction number</label>
            <input id="entry-transaction" name="transaction" inputMode="numeric" />
          </div>
          <div className="field">
            <label htmlFor="entry-reference">Reference or description</label>
            <input id="entry-reference" name="reference" maxLength={200} />
          </div>
          <div className="field">
            <label htmlFor="entry-kind">Kind</label>
            <input id="entry-kind" name="kind" placeholder="p2p, adjustment…" maxLength={200} />
          </div>
          <div className="field">
            <label htmlFor="entry-from">From</label>
            <input id="entry-from" name="from" type="date" />
          </div>
          <div className="field">
            <label htmlFor="entry-to">To</label>
            <input id="entry-to" name="to" type="date" />
          </div>
          <button className="small-primary" type="submit">Find entries</button>
        </form>
        {filter ? <Entries key={JSON.stringify(filter)} filter={filter} onAccount={showAccount} /> : <p className="muted">Search by any of these, or leave them empty for the newest entries.</p>}
      </section>
    </>
  );
}
