import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { Provider, useQuery } from "urql";

import { AuthScreen } from "./auth/AuthScreen";
import { DevInbox } from "./dev/DevInbox";
import { DevInboxEnabledDocument, ViewerDocument } from "./gql/graphql";
import { createApiClient } from "./shared/client";
import { ConsumerApp } from "./shell/ConsumerApp";

// The merchant and operator modes are full screens of their own: loaded when opened.
const MerchantApp = lazy(() => import("./merchant/MerchantApp"));
const OperatorApp = lazy(() => import("./operator/OperatorApp"));

export function App() {
  // A new client (and WebSocket) per session, so a socket never outlives its login.
  const [sessionVersion, setSessionVersion] = useState(0);
  const api = useMemo(() => createApiClient(), [sessionVersion]);
  useEffect(() => () => api.dispose(), [api]);
  const onSessionChange = useCallback(() => setSessionVersion((v) => v + 1), []);

  return (
    <Provider value={api.urql}>
      <BrowserRouter>
        <Routes>
          <Route path="/dev/inbox" element={<div className="app"><main className="content"><DevInbox /></main></div>} />
          <Route path="*" element={<Shell onSessionChange={onSessionChange} />} />
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
function Shell({ onSessionChange }: { onSessionChange: () => void }) {
  const [{ data, fetching, error }] = useQuery({ query: ViewerDocument, requestPolicy: "network-only" });
  const me = data?.me;

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
            <AuthScreen onLoggedIn={onSessionChange} />
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
