import { Link, Navigate, NavLink, Route, Routes } from "react-router";
import { useQuery } from "urql";

import { MerchantDisputes } from "./MerchantDisputes";
import { MyMerchantsDocument } from "../gql/graphql";
import { Icon } from "../shared/icons";
import { NotFound } from "../shell/NotFound";
import { MerchantDashboard } from "./MerchantDashboard";
import { OpenShop } from "./MerchantOnboarding";
import { PointOfSale } from "./PointOfSale";

/** The shop's own full-screen mode at /merchant/*: the till, the owner's dashboard and
 * the shop's disputes, with their own navigation (nothing of the personal wallet). */
export default function MerchantApp({ username }: { username: string }) {
  const [{ data, fetching }, reload] = useQuery({ query: MyMerchantsDocument });
  const shop = data?.myMerchants?.[0];
  const owner = shop?.role === "OWNER";
  const links = shop
    ? [
        { to: "/merchant/till", label: "Till" },
        ...(owner ? [{ to: "/merchant/dashboard", label: "Dashboard" }] : []),
        { to: "/merchant/disputes", label: "Disputes" },
      ]
    : [];
  return (
    <div className="mode merchant-mode">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar mode-topbar">
        <span className="brand">◈ Wallet<span className="brand-mode"> · {shop ? shop.name : "Business"}</span></span>
        <span className="who">@{username}</span>
      </header>
      <nav className="mode-nav" aria-label="Shop">
        <ul>
          {links.map((l) => (
            <li key={l.to}><NavLink to={l.to}>{l.label}</NavLink></li>
          ))}
          <li className="mode-exit">
            <Link to="/"><Icon name="back" size={18} /> My wallet</Link>
          </li>
        </ul>
      </nav>
      <main id="main" className="content mode-content" tabIndex={-1}>
        {fetching && !data ? (
          <p className="muted" role="status">Loading…</p>
        ) : !shop ? (
          <>
            <h1 className="visually-hidden">Open a shop</h1>
            <OpenShop onOpened={() => reload({ requestPolicy: "network-only" })} />
          </>
        ) : (
          <Routes>
            <Route index element={<Navigate to="till" replace />} />
            <Route path="till" element={
              <>
                <h1 className="visually-hidden">Till</h1>
                <div className="till">
                  <PointOfSale merchantId={shop.id} merchantName={shop.name} role={shop.role} />
                </div>
              </>
            } />
            <Route path="dashboard" element={owner ? (
              <>
                <h1 className="visually-hidden">Dashboard</h1>
                <MerchantDashboard merchantId={shop.id} approval={shop.approval} />
              </>
            ) : <Navigate to="/merchant/till" replace />} />
            <Route path="disputes" element={
              <>
                <h1 className="visually-hidden">Disputes</h1>
                <MerchantDisputes merchantId={shop.id} showEmpty />
              </>
            } />
            <Route path="*" element={<NotFound home="/merchant" />} />
          </Routes>
        )}
      </main>
    </div>
  );
}
