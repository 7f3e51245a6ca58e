import { lazy, Suspense } from "react";
import { Link, Route, Routes, useNavigate } from "react-router";
import { useMutation } from "urql";

import { LogOutDocument } from "../gql/graphql";
import { forgetBalances } from "../notifications/offline";
import { Icon } from "../shared/icons";
import { ScreenTitle, SectionNav } from "../shared/SectionNav";
import { NotFound } from "../shell/NotFound";
import { useWallet } from "../shell/wallet";
import { SecurityPanel } from "./SecurityPanel";

const NotificationPreferences = lazy(() => import("../notifications/Preferences"));
const VerificationPanel = lazy(() => import("./Verification").then((m) => ({ default: m.VerificationPanel })));

export const PROFILE_LINKS = [
  { to: "/profile", label: "Overview", end: true },
  { to: "/profile/security", label: "Security" },
  { to: "/profile/notifications", label: "Notifications" },
  { to: "/profile/limits", label: "Limits & verification" },
];

/** The account itself: sign-in and security, verification and limits, the shop and the
 * console for those who have them, and logging out. */
export default function ProfileScreen() {
  return (
    <div className="screen">
      <ScreenTitle title="Profile" />
      <SectionNav label="Profile" links={PROFILE_LINKS} />
      <Suspense fallback={<p className="muted" role="status">Loading…</p>}>
        <Routes>
          <Route index element={<Overview />} />
          <Route path="security" element={<SecurityPanel />} />
          <Route path="notifications" element={<NotificationPreferences />} />
          <Route path="limits" element={<VerificationPanel />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </div>
  );
}

function Overview() {
  const wallet = useWallet();
  const [, logOut] = useMutation(LogOutDocument);
  const navigate = useNavigate();
  return (
    <div className="two-columns">
      <div className="column-main">
        <section className="card" aria-labelledby="account-title">
          <h2 id="account-title">@{wallet.username}</h2>
          <ul className="link-list">
            <li><Link to="/profile/security">Security: password, PIN, passkeys, sessions</Link></li>
            <li><Link to="/profile/notifications">Notifications: what reaches you, push, low-balance alerts</Link></li>
            <li><Link to="/profile/limits">Limits & verification</Link></li>
            <li><Link to="/activity/budget">Budgets, statements and exports</Link></li>
          </ul>
        </section>
        <section className="card" aria-labelledby="business-title">
          <h2 id="business-title">Business</h2>
          {wallet.shop ? (
            <>
              <p className="muted">Take payments at {wallet.shop.name}'s till, see its sales and disputes.</p>
              <Link className="small-primary mode-link" to="/merchant">
                <Icon name="shop" /> Open {wallet.shop.name}'s till
              </Link>
            </>
          ) : (
            <>
              <p className="muted">Sell with your wallet: customers pay by QR code or a link.</p>
              <Link className="small-secondary mode-link" to="/merchant">
                <Icon name="shop" /> Open a shop
              </Link>
            </>
          )}
        </section>
        {wallet.operatorRole && (
          <section className="card" aria-labelledby="console-link">
            <h2 id="console-link">Operations</h2>
            <p className="muted">Queues, the ledger, reconciliation and the books are in the console.</p>
            <Link className="small-primary mode-link" to="/operator">
              <Icon name="console" /> Open the operator console
            </Link>
          </section>
        )}
      </div>
      <div className="column-side">
        <section className="card" aria-labelledby="session-title">
          <h2 id="session-title">This device</h2>
          <p className="muted small">
            Signed in as @{wallet.username}. Other devices and sessions are under{" "}
            <Link to="/profile/security">Security</Link>.
          </p>
          <button className="secondary" onClick={async () => {
            await logOut({});
            forgetBalances();
            navigate("/", { replace: true }); // the next login starts at Home
            wallet.onLoggedOut();
          }}>
            Log out
          </button>
        </section>
      </div>
    </div>
  );
}
