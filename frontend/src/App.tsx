import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { Provider, useQuery } from "urql";

import { AuthScreen } from "./auth/AuthScreen";
import { DevInbox } from "./dev/DevInbox";
import { DevInboxEnabledDocument, ViewerDocument } from "./gql/graphql";
import { lastBalances } from "./notifications/offline";
import { createSessionClient, SESSION_EXPIRED } from "./notifications/session";
import { ConsumerApp } from "./shell/ConsumerApp";

// The merchant and operator modes are full screens of their own: loaded when opened.
const MerchantApp = lazy(() => import("./merchant/MerchantApp"));
const OperatorApp = lazy(() => import("./operator/OperatorApp"));

export function App() {
  // A new client (and WebSocket) per session, so a socket never outlives its login.
  const [sessionVersion, setSessionVersion] = useState(0);
  const api = useMemo(() => createSessionClient(), [sessionVersion]);
  useEffect(() => () => api.dispose(), [api]);
  // The session ended under the user (revoked, expired, logged out elsewhere): the login
  // screen says so, at the same address; logging in opens that address again.
  const [expired, setExpired] = useState(false);
  const onSessionChange = useCallback(() => {
    setExpired(false);
    setSessionVersion((v) => v + 1);
  }, []);
  const onSessionExpired = useCallback(() => {
    setExpired(true);
    setSessionVersion((v) => v + 1);
  }, []);

  return (
    <Provider value={api.urql}>
      <BrowserRouter>
        <Routes>
          <Route path="/dev/inbox" element={<div className="app"><main className="content"><DevInbox /></main></div>} />
          <Route path="*" element={<Shell onSessionChange={onSessionChange} onSessionExpired={onSessionExpired} expired={expired} />} />
        </Routes>
      </BrowserRouter>
    </Provider>
  );
}

/** In development, a way to the Inbox page (where codes sent by email and text are). */
function DevInboxLink() {
  const [{ data }] = useQuery({ query: DevInboxEnabledDocument });
  if (!data?.devInboxEnabled) return null;
  return (
    <footer className="dev-footer">
      Development: emails and texts go to the <a href="/dev/inbox" target="_blank" rel="noreferrer">Inbox</a>
    </footer>
  );
}

const loading = <p className="muted" role="status">Loading…</p>;

/** Signed out: the login screen at whatever address was opened (after logging in, that
 * address opens). Signed in: the consumer wallet, or the shop's or the console's mode. */
function Shell({ onSessionChange, onSessionExpired, expired }: {
  onSessionChange: () => void; onSessionExpired: () => void; expired: boolean;
}) {
  const [{ data, fetching, error }, reloadViewer] = useQuery({ query: ViewerDocument, requestPolicy: "network-only" });
  const me = data?.me;

  // Signed in, an answer says "not authenticated": back to the login screen, here.
  useEffect(() => {
    if (!me) return;
    let done = false;
    const expire = () => {
      if (done) return;
      done = true;
      onSessionExpired();
    };
    window.addEventListener(SESSION_EXPIRED, expire);
    return () => window.removeEventListener(SESSION_EXPIRED, expire);
  }, [me, onSessionExpired]);

  // Offline (or the API unreachable) with balances seen before on this device: the
  // wallet opens on them, marked offline; back online, it signs in again as usual.
  const offline = !me && Boolean(error?.networkError) ? lastBalances() : null;
  useEffect(() => {
    if (!error?.networkError) return;
    const retry = () => reloadViewer({ requestPolicy: "network-only" });
    window.addEventListener("online", retry);
    return () => window.removeEventListener("online", retry);
  }, [error, reloadViewer]);
  if (offline) {
    return <ConsumerApp username={offline.username} onLoggedOut={onSessionChange} />;
  }

  if (!me) {
    return (
      <div className="app">
        <header className="topbar">
          <span className="brand">◈ Wallet</span>
        </header>
        <main id="main" className="content">
          {fetching && !data ? loading : error ? (
            <p className="error" role="alert">
              We could not reach the wallet service. Check your connection and reload.
            </p>
          ) : (
            <>
              {expired && (
                <p className="notice session-expired" role="alert" data-testid="session-expired">
                  Your session ended. Log in again to carry on where you were.
                </p>
              )}
              <AuthScreen onLoggedIn={onSessionChange} />
            </>
          )}
        </main>
        <DevInboxLink />
      </div>
    );
  }
  return (
    <>
      <Suspense fallback={loading}>
        <Routes>
          <Route path="/merchant/*" element={<MerchantApp username={me.username} />} />
          <Route path="/operator/*" element={<OperatorApp username={me.username} />} />
          <Route path="*" element={<ConsumerApp username={me.username} onLoggedOut={onSessionChange} />} />
        </Routes>
      </Suspense>
      <DevInboxLink />
    </>
  );
}
