import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { Provider, useQuery } from "urql";

import { AuthScreen } from "./AuthScreen";
import { createApiClient } from "./client";
import { DevInbox } from "./DevInbox";
import { DevInboxEnabledDocument, ViewerDocument } from "./gql/graphql";
import { WalletScreen } from "./WalletScreen";

// The operator console is its own mode at /operator (only operators load it).
const OperatorApp = lazy(() => import("./OperatorApp"));

export function App() {
  // A new client (and WebSocket) per session, so a socket never outlives its login.
  const [sessionVersion, setSessionVersion] = useState(0);
  const api = useMemo(() => createApiClient(), [sessionVersion]);
  useEffect(() => () => api.dispose(), [api]);
  const onSessionChange = useCallback(() => setSessionVersion((v) => v + 1), []);

  return (
    <Provider value={api.urql}>
      <Shell onSessionChange={onSessionChange} />
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

function Shell({ onSessionChange }: { onSessionChange: () => void }) {
  const inboxPage = window.location.pathname === "/dev/inbox";
  const consolePage = window.location.pathname.startsWith("/operator");
  const [{ data, fetching, error }] = useQuery({
    query: ViewerDocument,
    requestPolicy: "network-only",
  });

  return (
    <div className={consolePage ? "app wide" : "app"}>
      <header className="topbar">
        <span className="brand" aria-label="Wallet">
          ◈ Wallet{consolePage && <span className="brand-mode"> · Operations</span>}
        </span>
        {data?.me && <span className="who">@{data.me.username}</span>}
      </header>
      <main className="content">
        {inboxPage ? (
          <DevInbox />
        ) : fetching && !data ? (
          <p className="muted" role="status">
            Loading…
          </p>
        ) : error ? (
          <p className="error" role="alert">
            We could not reach the wallet service. Check your connection and reload.
          </p>
        ) : data?.me && consolePage ? (
          <Suspense fallback={<p className="muted" role="status">Loading…</p>}>
            <OperatorApp />
          </Suspense>
        ) : data?.me ? (
          <WalletScreen username={data.me.username} onLoggedOut={onSessionChange} />
        ) : (
          <AuthScreen onLoggedIn={onSessionChange} />
        )}
      </main>
      {!inboxPage && <DevInboxLink />}
    </div>
  );
}
