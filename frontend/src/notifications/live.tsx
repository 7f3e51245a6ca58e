import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { useSubscription } from "urql";

import { NotificationReceivedDocument, type CentreNotificationFragment } from "../gql/graphql";

export type CentreNotification = CentreNotificationFragment;

type Live = {
  /** Unread notifications now (null until the first event, the snapshot, arrives). */
  unread: number | null;
  /** Notifications that arrived since the app opened, newest first. */
  arrived: CentreNotification[];
  /** A mutation answered with the new count (the subscription also tells, a moment later). */
  setUnread: (count: number) => void;
};

const LiveContext = createContext<Live | null>(null);

export function useLiveNotifications(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error("useLiveNotifications outside a LiveNotifications");
  return live;
}

/** The `notificationReceived` subscription for the whole session: the first event is the
 * unread count as it is (also after a reconnection), then one per new notification and
 * per read elsewhere. No polling. */
export function LiveNotifications({ children }: { children: ReactNode }) {
  const [{ data }] = useSubscription({ query: NotificationReceivedDocument });
  const [unread, setUnread] = useState<number | null>(null);
  const [arrived, setArrived] = useState<CentreNotification[]>([]);

  useEffect(() => {
    const event = data?.notificationReceived;
    if (!event) return;
    setUnread(event.unreadCount);
    const fresh = event.notification;
    if (fresh) setArrived((list) => (list.some((n) => n.id === fresh.id) ? list : [fresh, ...list]));
  }, [data]);

  return <LiveContext.Provider value={{ unread, arrived, setUnread }}>{children}</LiveContext.Provider>;
}
