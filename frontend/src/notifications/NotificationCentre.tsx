import { useEffect, useState } from "react";
import { Link } from "react-router";
import { useClient, useMutation, useQuery } from "urql";

import {
  MarkAllNotificationsReadDocument,
  MarkNotificationReadDocument,
  NotificationCentreDocument,
} from "../gql/graphql";
import { RECONNECTED } from "../shared/client";
import { formatDateTime } from "../shared/dates";
import { ScreenTitle } from "../shared/SectionNav";
import { useLiveNotifications, type CentreNotification } from "./live";
import "./notifications.css";

const PAGE = 20;

/** Every notification, newest first, a page at a time: when it came, where it leads;
 * mark one or all read. New ones appear at the top as they arrive. */
export default function NotificationCentre() {
  const live = useLiveNotifications();
  const client = useClient();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: NotificationCentreDocument,
    variables: { first: PAGE, before: null },
    requestPolicy: "network-only",
  });
  const [older, setOlder] = useState<CentreNotification[]>([]);
  const [more, setMore] = useState<boolean | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [readIds, setReadIds] = useState<Set<string>>(new Set());
  const [allReadAt, setAllReadAt] = useState<number | null>(null);
  const [, markOne] = useMutation(MarkNotificationReadDocument);
  const [marking, markAll] = useMutation(MarkAllNotificationsReadDocument);

  // Back from a dropped connection: what arrived meanwhile was not pushed; look again.
  useEffect(() => {
    const again = () => refetch({ requestPolicy: "network-only" });
    window.addEventListener(RECONNECTED, again);
    return () => window.removeEventListener(RECONNECTED, again);
  }, [refetch]);

  const first = data?.notifications ?? [];
  useEffect(() => {
    if (data?.notifications) setMore(data.notifications.length === PAGE);
  }, [data]);

  // Live arrivals not yet in the first page go on top.
  const known = new Set([...first, ...older].map((n) => n.id));
  const list = [...live.arrived.filter((n) => !known.has(n.id)), ...first, ...older];
  const isRead = (n: CentreNotification) => n.read || readIds.has(n.id) ||
    (allReadAt !== null && Date.parse(n.createdAt) <= allReadAt);
  const unreadShown = list.filter((n) => !isRead(n)).length;

  async function loadOlder() {
    const last = list[list.length - 1];
    if (!last) return;
    setLoadingMore(true);
    const result = await client
      .query(NotificationCentreDocument, { first: PAGE, before: last.id }, { requestPolicy: "network-only" })
      .toPromise();
    setLoadingMore(false);
    const page = result.data?.notifications ?? [];
    setOlder((o) => [...o, ...page]);
    setMore(page.length === PAGE);
  }

  async function read(n: CentreNotification) {
    if (isRead(n)) return;
    setReadIds((s) => new Set(s).add(n.id));
    const result = await markOne({ id: n.id });
    const answer = result.data?.markNotificationRead;
    if (answer?.__typename === "MarkReadPayload" && answer.unreadCount != null) live.setUnread(answer.unreadCount);
  }

  async function readAll() {
    const result = await markAll({});
    const answer = result.data?.markAllNotificationsRead;
    if (answer?.__typename === "MarkReadPayload") {
      setAllReadAt(Date.now());
      setReadIds(new Set(list.map((n) => n.id)));
      if (answer.unreadCount != null) live.setUnread(answer.unreadCount);
    }
  }

  return (
    <div className="screen notification-centre">
      <ScreenTitle title="Notifications">
        Money in and out, requests, and security alerts. Choose what reaches you, and how, in{" "}
        <Link to="/profile/notifications">notification settings</Link>.
      </ScreenTitle>
      <section className="card" aria-labelledby="centre-list-title">
        <div className="card-title-row">
          <h2 id="centre-list-title">
            {live.unread ? `${live.unread} unread` : "All caught up"}
          </h2>
          {(unreadShown > 0 || (live.unread ?? 0) > 0) && (
            <button className="link" onClick={readAll} disabled={marking.fetching}>Mark all as read</button>
          )}
        </div>
        {error && !data ? (
          <p className="error" role="alert">We could not load your notifications. Check your connection and try again.</p>
        ) : fetching && !data ? (
          <p className="muted" role="status">Loading…</p>
        ) : list.length === 0 ? (
          <div className="empty-state" data-testid="centre-empty">
            <p><strong>No notifications yet.</strong></p>
            <p className="muted small">
              When someone pays you, asks you for money, or signs in to your account, it shows up here.
              Start by <Link to="/pay/add">adding money</Link> or <Link to="/pay/request">requesting it from a friend</Link>.
            </p>
          </div>
        ) : (
          <ul className="centre-list" data-testid="centre-list">
            {list.map((n) => {
              const unread = !isRead(n);
              return (
                <li key={n.id} className={unread ? "unread" : "read"} data-testid="centre-item">
                  <span className="dot" aria-hidden="true" />
                  <div className="centre-body">
                    <p className="centre-title">
                      {n.target ? (
                        <Link to={n.target.path} onClick={() => void read(n)}>{n.title}</Link>
                      ) : (
                        <strong>{n.title}</strong>
                      )}
                      {unread && <span className="visually-hidden"> (unread)</span>}
                    </p>
                    {n.body && <p className="muted small">{n.body}</p>}
                    <time className="muted small" dateTime={n.createdAt}>{formatDateTime(n.createdAt)}</time>
                  </div>
                  {unread && (
                    <button className="link small" onClick={() => void read(n)} aria-label={`Mark “${n.title}” as read`}>
                      Mark read
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        {more && (
          <button className="secondary" onClick={loadOlder} disabled={loadingMore}>
            {loadingMore ? "Loading…" : "Show older"}
          </button>
        )}
      </section>
    </div>
  );
}
