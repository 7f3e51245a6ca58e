import { lazy, Suspense } from "react";
import { Navigate, NavLink, Route, Routes, useLocation } from "react-router";

import { AccountsScreen } from "../accounts/AccountsScreen";
import { ActivityScreen } from "../activity/ActivityScreen";
import { HomeScreen } from "../home/HomeScreen";
import { Bell } from "../notifications/Bell";
import { LiveNotifications } from "../notifications/live";
import { PayScreen } from "../pay/PayScreen";
import { Icon, type IconName } from "../shared/icons";
import { NotFound } from "./NotFound";
import { WalletProvider } from "./wallet";

// Profile holds the rarely used screens (security, verification): loaded when opened.
const ProfileScreen = lazy(() => import("../settings/ProfileScreen"));
const NotificationCentre = lazy(() => import("../notifications/NotificationCentre"));

export const MAIN_NAV: { to: string; label: string; icon: IconName; end?: boolean }[] = [
  { to: "/", label: "Home", icon: "home", end: true },
  { to: "/pay", label: "Pay", icon: "pay" },
  { to: "/activity", label: "Activity", icon: "activity" },
  { to: "/accounts", label: "Cards & accounts", icon: "accounts" },
  { to: "/profile", label: "Profile", icon: "profile" },
];

/** The consumer's wallet: a bottom bar of five destinations on a phone, a side bar on a
 * wide screen; each screen is a URL (deep links, back and reload land on it). */
export function ConsumerApp({ username, onLoggedOut }: { username: string; onLoggedOut: () => void }) {
  const location = useLocation();
  // A payment link (`/?pay=R42`, also what the NFC record carries) opens Scan & pay.
  const payReference = new URLSearchParams(location.search).get("pay");
  if (location.pathname === "/" && payReference) {
    return <Navigate to={`/pay/scan?pay=${encodeURIComponent(payReference)}`} replace />;
  }
  return (
    <WalletProvider username={username} onLoggedOut={onLoggedOut}>
      <LiveNotifications>
      <div className="consumer">
        <a className="skip-link" href="#main">Skip to content</a>
        <header className="topbar consumer-topbar">
          <span className="brand">◈ Wallet</span>
          <span className="topbar-end">
            <span className="who">@{username}</span>
            <Bell />
          </span>
        </header>
        <nav className="main-nav" aria-label="Main">
          <div className="side-head">
            <span className="brand side-brand" aria-hidden="true">◈ Wallet</span>
            <Bell />
          </div>
          <ul>
            {MAIN_NAV.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.end}>
                  <Icon name={item.icon} />
                  <span className="nav-label">{item.label}</span>
                </NavLink>
              </li>
            ))}
          </ul>
          <span className="who side-who">@{username}</span>
        </nav>
        <main id="main" className="content consumer-content" tabIndex={-1}>
          <Suspense fallback={<p className="muted" role="status">Loading…</p>}>
            <Routes>
              <Route index element={<HomeScreen />} />
              <Route path="pay/*" element={<PayScreen />} />
              <Route path="activity/*" element={<ActivityScreen />} />
              <Route path="accounts/*" element={<AccountsScreen />} />
              <Route path="profile/*" element={<ProfileScreen />} />
              <Route path="notifications" element={<NotificationCentre />} />
              <Route path="*" element={<NotFound />} />
            </Routes>
          </Suspense>
        </main>
      </div>
      </LiveNotifications>
    </WalletProvider>
  );
}
