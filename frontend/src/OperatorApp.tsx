import { lazy, Suspense, useEffect, useState } from "react";
import { useQuery } from "urql";

import { OperatorRoleDocument } from "./gql/graphql";

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

function currentPath(): string {
  return window.location.pathname.replace(/^\/operator\/?/, "").split("/")[0];
}

/** Move to another console page without reloading (the back button comes back). */
export function goTo(path: string) {
  window.history.pushState(null, "", `/operator/${path}`);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export default function OperatorApp() {
  const [{ data, fetching }] = useQuery({ query: OperatorRoleDocument });
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const onPop = () => setPath(currentPath());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const role = data?.operatorRole ?? null;
  if (fetching && !data) return <p className="muted" role="status">Loading…</p>;
  if (!role) {
    return (
      <section className="card" aria-labelledby="console-closed">
        <h1 id="console-closed">Operator console</h1>
        <p>This console is for the wallet's operators. Your account has no operator role.</p>
        <p><a href="/">Back to your wallet</a></p>
      </section>
    );
  }
  const pages = PAGES.filter((p) => p.roles.includes(role));
  const page = pages.find((p) => p.path === path) ?? pages[0];
  return (
    <div className="console">
      <nav className="console-nav" aria-label="Operator console">
        <ul>
          {pages.map((p) => (
            <li key={p.path}>
              <a
                href={`/operator/${p.path}`}
                aria-current={p === page ? "page" : undefined}
                onClick={(e) => { e.preventDefault(); goTo(p.path); }}
              >
                {p.label}
              </a>
            </li>
          ))}
          <li className="console-exit"><a href="/">Wallet</a></li>
        </ul>
      </nav>
      <div className="console-page">
        <Suspense fallback={<p className="muted" role="status">Loading…</p>}>
          {page.path === "ledger" && <LedgerExplorer />}
          {page.path === "adjustments" && <AdjustmentsPage role={role} />}
          {page.path === "reconciliation" && <ReconciliationPage role={role} />}
          {page.path === "statements" && <StatementsPage />}
          {page.path === "merchants" && <MerchantFeesPage />}
          {page.path === "queues" && <QueuesPage role={role} />}
          {page.path === "checks" && <ChecksPage />}
          {page.path === "system" && <SystemPage />}
        </Suspense>
      </div>
    </div>
  );
}
