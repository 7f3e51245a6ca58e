import type { ReactNode } from "react";
import { Link, Route, Routes } from "react-router";

import { ScreenTitle, SectionNav } from "../shared/SectionNav";
import { NotFound } from "../shell/NotFound";
import { useWallet } from "../shell/wallet";
import { BalanceCarousel, OpenCurrency } from "./Balances";
import { RewardsPanel } from "./RewardsPanel";
import { SavingsGoals } from "./SavingsGoals";

export const ACCOUNTS_LINKS = [
  { to: "/accounts", label: "Balances", end: true },
  { to: "/accounts/goals", label: "Goals" },
  { to: "/accounts/rewards", label: "Rewards" },
];

/** Where the money is kept: a balance per currency, savings goals, rewards. */
export function AccountsScreen() {
  const wallet = useWallet();
  return (
    <div className="screen">
      <ScreenTitle title="Cards & accounts" />
      <SectionNav label="Cards & accounts" links={ACCOUNTS_LINKS} />
      <Routes>
        <Route index element={
          <>
            <BalanceCarousel manage />
            <OpenCurrency />
            <p className="muted small">
              Cards and bank accounts you add money from are saved when you{" "}
              <Link to="/pay/add">add money</Link>.
            </p>
          </>
        } />
        <Route path="goals" element={
          <WithBalances><SavingsGoals onMoneyMoved={wallet.refreshBalances} /></WithBalances>
        } />
        <Route path="rewards" element={
          <WithBalances>
            <RewardsPanel refreshKey={wallet.changes} onRedeemed={wallet.refreshBalances} />
          </WithBalances>
        } />
        <Route path="*" element={<NotFound />} />
      </Routes>
    </div>
  );
}

/** Goals and rewards move money in and out of the balances: shown beside them. */
function WithBalances({ children }: { children: ReactNode }) {
  return (
    <div className="two-columns">
      <div className="column-main">{children}</div>
      <aside className="column-side" aria-label="Your balances">
        <BalanceCarousel />
      </aside>
    </div>
  );
}
