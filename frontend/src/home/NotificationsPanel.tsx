import { useEffect } from "react";
import { useMutation, useQuery } from "urql";

import { MarkNotificationsReadDocument, NotificationsDocument } from "../gql/graphql";

/** Unread notifications (money received, requests, failures), newest first. */
export function NotificationsPanel({ refreshKey }: { refreshKey: number }) {
  const [{ data }, refetch] = useQuery({ query: NotificationsDocument, requestPolicy: "network-only" });
  const [, markRead] = useMutation(MarkNotificationsReadDocument);

  useEffect(() => {
    // The worker writes notifications just after the change that caused them.
    const timers = [1500, 5000].map((ms) =>
      setTimeout(() => refetch({ requestPolicy: "network-only" }), ms));
    return () => timers.forEach(clearTimeout);
  }, [refreshKey, refetch]);

  const unread = (data?.notifications ?? []).filter((n) => !n.read);
  if (unread.length === 0) return null;
  return (
    <section className="card send notifications" aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notifications</h2>
      <ul data-testid="notifications">
        {unread.map((n) => (
          <li key={n.id}>
            <strong>{n.title}</strong>
            <span className="muted small">{n.body}</span>
          </li>
        ))}
      </ul>
      <button className="link" onClick={async () => {
        await markRead({});
        refetch({ requestPolicy: "network-only" });
      }}>
        Mark all as read
      </button>
    </section>
  );
}
