import { NavLink } from "react-router";

import { useLiveNotifications } from "./live";

/** The bell in the header: the unread count, live; opens the notification centre. */
export function Bell({ className = "" }: { className?: string }) {
  const { unread } = useLiveNotifications();
  const count = unread ?? 0;
  const label = count === 0 ? "Notifications" : `Notifications, ${count} unread`;
  return (
    <NavLink to="/notifications" className={`bell ${className}`} aria-label={label} title={label} data-testid="bell">
      <svg className="icon" width={24} height={24} viewBox="0 0 24 24" aria-hidden="true" focusable="false"
           fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
        <path d="M6 16V11a6 6 0 1 1 12 0v5l1.5 2h-15zM10 20.5a2 2 0 0 0 4 0" />
      </svg>
      {count > 0 && (
        <span className="bell-count" data-testid="bell-count" aria-hidden="true">
          {count > 99 ? "99+" : count}
        </span>
      )}
    </NavLink>
  );
}
