import { lazy, Suspense } from "react";
import { Link, Navigate, NavLink, Route, Routes } from "react-router";
import { useQuery } from "urql";

import { OperatorRoleDocument } from "../gql/graphql";
import { NotFound } from "../shell/NotFound";

// The operator console: its own full-screen mode at /operator/<page>, with its own
// navigation. Each page asks the API, which checks the role again on every field.
const LedgerExplorer = lazy(() => import("./LedgerExplorer"));
const AdjustmentsPage = lazy(() => import("./AdjustmentsPage"));
const ReconciliationPage = lazy(() => import("./ReconciliationPage"));
const StatementsPage = lazy(() => import("./StatementsPage"));
const MerchantFeesPage = lazy(() => import("./MerchantFeesPage"));
const QueuesPage = lazy(() => import("./OperatorConsole"));
const ChecksPage = lazy(() => import("./ChecksPage"));
const SystemPage = lazy(() => import("./SystemPage"));

type Page = { path: string; label: string; roles: string[] };

const READERS = ["SUPPORT", "COMPLIANCE", "ADMIN"];
export const PAGES: Page[] = [
  { path: "ledger", label: "Ledger", roles: READERS },
  { path: "adjustments", label: "Adjustments", roles: READERS },
  { path: "reconciliation", label: "Reconciliation", roles: READERS },
  { path: "statements", label: "Statements", roles: READERS },
  { path: "merchants", label: "Merchant fees", roles: READERS },
  { path: "queues", label: "Queues", roles: ["COMPLIANCE", "MEDIATOR", "ADMIN"] },
  { path: "checks", label: "Ledger checks", roles: READERS },
  { path: "system", label: "System", roles: READERS },
];

/** The console's own full-screen mode (its header and navigation; no wallet pages). */
export default function OperatorApp({ username }: { username: string }) {
  return (
    <div className="mode operator-mode">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar mode-topbar">
        <span className="brand">◈ Wallet<span className="brand-mode"> · Operations</span></span>
        <span className="who">@{username}</span>
      </header>
      <Console />
    </div>
  );
}

function Console() {
  const [{ data, fetching }] = useQuery({ query: OperatorRoleDocument });
  const role = data?.operatorRole ?? null;
  if (fetching && !data) return <main id="main" className="content"><p className="muted" role="status">Loading…</p></main>;
  if (!role) {
    return (
      <main id="main" className="content">
        <section className="card" aria-labelledby="console-closed">
          <h1 id="console-closed">Operator console</h1>
          <p>This console is for the wallet's operators. Your account has no operator role.</p>
          <p><Link to="/">Back to your wallet</Link></p>
        </section>
      </main>
    );
  }
  const pages = PAGES.filter((p) => p.roles.includes(role));
  return (
    <div className="console">
      <nav className="console-nav" aria-label="Operator console">
        <ul>
          {pages.map((p) => (
            <li key={p.path}>
              <NavLink to={`/operator/${p.path}`}>{p.label}</NavLink>
            </li>
          ))}
          <li className="console-exit"><Link to="/">Wallet</Link></li>
        </ul>
      </nav>
      <main id="main" className="console-page" tabIndex={-1}>
        <Suspense fallback={<p className="muted" role="status">Loading…</p>}>
          <Routes>
            {/* /operator opens the first page this role may see. */}
            <Route index element={<Navigate to={pages[0].path} replace />} />
            {pages.map((p) => (
              <Route key={p.path} path={p.path} element={<ConsolePage path={p.path} role={role} />} />
            ))}
            <Route path="*" element={<NotFound home="/operator" />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}

function ConsolePage({ path, role }: { path: string; role: string }) {
  switch (path) {
    case "ledger": return <LedgerExplorer />;
    case "adjustments": return <AdjustmentsPage role={role} />;
    case "reconciliation": return <ReconciliationPage role={role} />;
    case "statements": return <StatementsPage />;
    case "merchants": return <MerchantFeesPage />;
    case "queues": return <QueuesPage role={role} />;
    case "checks": return <ChecksPage />;
    default: return <SystemPage />;
  }
}
