import { Link } from "react-router";
import { useQuery } from "urql";

import { BalanceCarousel } from "../accounts/Balances";
import { ActivityList } from "../activity/ActivityList";
import { MoneyRequestsDocument } from "../gql/graphql";
import { RequestsPanel } from "../pay/RequestsPanel";
import { Icon, type IconName } from "../shared/icons";
import { formatMoney } from "../shared/money";
import { isZero, useWallet } from "../shell/wallet";
import { NotificationsPanel } from "./NotificationsPanel";
import { OnboardingChecklist } from "./Onboarding";
import { OfflineBanner } from "../notifications/OfflineBanner";
import { InstallApp } from "../notifications/InstallApp";

const ACTIONS: { to: string; label: string; icon: IconName }[] = [
  { to: "/pay/send", label: "Send", icon: "send" },
  { to: "/pay/request", label: "Request", icon: "request" },
  { to: "/pay/add", label: "Add", icon: "add" },
  { to: "/pay/scan", label: "Scan", icon: "scan" },
];

/** The first screen: what you have, the four things people do most, what needs you. */
export function HomeScreen() {
  const wallet = useWallet();
  const home = wallet.balances[0];
  const others = wallet.balances.slice(1).filter((b) => !isZero(b.available));
  return (
    <div className="screen home">
      <h1 className="greeting">Hi, {wallet.username}</h1>
      <OfflineBanner />
      <div className="home-hero">
        <section className="card total" aria-labelledby="total-title">
          <h2 id="total-title" className="label">Total balance{home ? ` in ${home.currency}` : ""}</h2>
          <p className="total-amount" data-testid="total-balance">
            {home ? formatMoney(home.available, home.currency) : "—"}
          </p>
          {others.length > 0 && (
            <p className="muted small">
              and {others.map((b) => formatMoney(b.available, b.currency)).join(", ")} in other currencies
            </p>
          )}
          {home && isZero(home.available) && others.length === 0 && (
            <p className="muted small">
              Nothing here yet: <Link to="/pay/add">add money</Link> from a card or bank, or{" "}
              <Link to="/pay/request">ask a friend</Link>.
            </p>
          )}
        </section>
        <nav className="home-actions" aria-label="Move money">
          {ACTIONS.map((a) => (
            <Link key={a.to} to={a.to} className="home-action">
              <Icon name={a.icon} size={26} />
              <span>{a.label}</span>
            </Link>
          ))}
        </nav>
      </div>
      {!wallet.offlineAsOf && <OnboardingChecklist refreshKey={wallet.changes} />}
      <div className="card-title-row balances-title">
        <h2>Balances</h2>
        <Link className="see-all" to="/accounts">Manage currencies</Link>
      </div>
      <BalanceCarousel />
      {wallet.status && wallet.status !== "active" && (
        <p className="error">This wallet is {wallet.status}.</p>
      )}
      {wallet.offlineAsOf ? (
        <section className="card empty-state" aria-labelledby="offline-title">
          <h2 id="offline-title">You are offline</h2>
          <p className="muted small">
            Your activity, requests and notifications show again when you are back online.
            Moving money needs a connection too.
          </p>
        </section>
      ) : (
        <div className="home-columns">
          <div className="home-main">
            <ActivityList limit={5} refreshKey={wallet.changes} onChange={wallet.bump} />
          </div>
          <div className="home-side">
            <NotificationsPanel />
            <InstallApp />
            <Pending />
          </div>
        </div>
      )}
    </div>
  );
}

/** Requests waiting for an answer and money on hold; says so when nothing waits. */
function Pending() {
  const wallet = useWallet();
  // What the requests panel below fetched (cache-only: the panel's own query is the one
  // request; this reads its answer to know whether anything waits).
  const [{ data }] = useQuery({ query: MoneyRequestsDocument, requestPolicy: "cache-only" });
  const requests = (data?.moneyRequests ?? []).filter((r) => r.status === "OPEN").length;
  const holds = wallet.balances.filter((b) => !isZero(b.reserved) || !isZero(b.pending));
  return (
    <>
      <RequestsPanel refreshKey={wallet.changes} />
      {holds.length > 0 && (
        <section className="card" aria-labelledby="holds-title">
          <h2 id="holds-title">Pending</h2>
          <ul className="holds" data-testid="holds">
            {holds.map((b) => (
              <li key={b.currency}>
                {!isZero(b.reserved) && <span>{formatMoney(b.reserved, b.currency)} on hold</span>}
                {!isZero(b.pending) && <span>{formatMoney(b.pending, b.currency)} on its way to you</span>}
              </li>
            ))}
          </ul>
          <p className="muted small">
            Holds are payments not yet final (a card check, a dispute, a bill due).{" "}
            <Link to="/activity">See them in Activity</Link>.
          </p>
        </section>
      )}
      {requests === 0 && holds.length === 0 && (
        <section className="card empty-state" aria-labelledby="nothing-title">
          <h2 id="nothing-title">Nothing waiting for you</h2>
          <p className="muted small">
            Requests to pay and money on hold show up here. Want money from someone?{" "}
            <Link to="/pay/request">Request it</Link>.
          </p>
        </section>
      )}
    </>
  );
}
