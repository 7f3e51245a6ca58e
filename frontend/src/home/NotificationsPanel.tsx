import { useEffect, useRef } from "react";
import { Link } from "react-router";
import { useMutation, useQuery } from "urql";

import { MarkAllNotificationsReadDocument, NotificationCentreDocument } from "../gql/graphql";
import { useLiveNotifications } from "../notifications/live";

/** The newest unread notifications (money received, requests, failures); looks again
 * when the live unread count changes (no polling). The rest is in the centre. */
export function NotificationsPanel() {
  const live = useLiveNotifications();
  const [{ data }, refetch] = useQuery({
    query: NotificationCentreDocument,
    variables: { first: 5, before: null },
    requestPolicy: "network-only",
  });
  const [, markAll] = useMutation(MarkAllNotificationsReadDocument);

  // Look again when the count changes, not when it first arrives (the subscription's
  // snapshot): the look on opening is in flight then, and a second would tear it down.
  const seen = useRef<number | null>(null);
  useEffect(() => {
    if (live.unread === null) return;
    if (seen.current !== null && seen.current !== live.unread) refetch({ requestPolicy: "network-only" });
    seen.current = live.unread;
  }, [live.unread, refetch]);

  const unread = (data?.notifications ?? []).filter((n) => !n.read);
  if (unread.length === 0 || live.unread === 0) return null;
  return (
    <section className="card send notifications" aria-labelledby="notifications-title">
      <div className="card-title-row">
        <h2 id="notifications-title">Notifications</h2>
        <Link className="see-all" to="/notifications">See all</Link>
      </div>
      <ul data-testid="notifications">
        {unread.map((n) => (
          <li key={n.id}>
            {n.target ? <Link to={n.target.path}><strong>{n.title}</strong></Link> : <strong>{n.title}</strong>}
            <span className="muted small">{n.body}</span>
          </li>
        ))}
      </ul>
      <button className="link" onClick={async () => {
        const result = await markAll({});
        const answer = result.data?.markAllNotificationsRead;
        if (answer?.__typename === "MarkReadPayload" && answer.unreadCount != null) live.setUnread(answer.unreadCount);
        refetch({ requestPolicy: "network-only" });
      }}>
        Mark all as read
      </button>
    </section>
  );
}
