import { lazy, Suspense } from "react";
import { Route, Routes } from "react-router";

import { ScreenTitle, SectionNav } from "../shared/SectionNav";
import { NotFound } from "../shell/NotFound";
import { useWallet } from "../shell/wallet";
import { ActivityList } from "./ActivityList";

// Charts are big: loaded when Budget is opened.
const Insights = lazy(() => import("./Insights"));

export const ACTIVITY_LINKS = [
  { to: "/activity", label: "All activity", end: true },
  { to: "/activity/budget", label: "Budget" },
];

/** What happened to the money: every line, and where it went (budgets,
 * insights, statements and exports). */
export function ActivityScreen() {
  const wallet = useWallet();
  return (
    <div className="screen">
      <ScreenTitle title="Activity" />
      <SectionNav label="Activity" links={ACTIVITY_LINKS} />
      <Suspense fallback={<p className="muted" role="status">Loading…</p>}>
        <Routes>
          <Route index element={<ActivityList refreshKey={wallet.changes} onChange={wallet.bump} />} />
          <Route path="budget" element={<Insights />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </div>
  );
}
