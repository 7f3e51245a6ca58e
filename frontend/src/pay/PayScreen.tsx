import { Navigate, Route, Routes, useSearchParams } from "react-router";

import { BalanceCarousel } from "../accounts/Balances";
import { ActivityList } from "../activity/ActivityList";
import { BillsPanel } from "./Bills";
import { ScreenTitle, SectionNav } from "../shared/SectionNav";
import { NotFound } from "../shell/NotFound";
import { useWallet } from "../shell/wallet";
import { ConvertForm } from "./ConvertForm";
import { FundingForm } from "./FundingForms";
import { PayMerchant } from "./PayMerchant";
import { RequestMoneyForm, RequestsPanel } from "./RequestsPanel";
import { SendMoneyForm } from "./SendMoneyForm";
import { SplitGroups } from "./SplitGroups";

export const PAY_LINKS = [
  { to: "/pay/send", label: "Send" },
  { to: "/pay/request", label: "Request" },
  { to: "/pay/scan", label: "Scan & pay" },
  { to: "/pay/add", label: "Add money" },
  { to: "/pay/withdraw", label: "Withdraw" },
  { to: "/pay/convert", label: "Convert" },
  { to: "/pay/split", label: "Split" },
  { to: "/pay/bills", label: "Bills" },
];

/** Moving money: one page per way of doing it, with the balances it comes from, the
 * requests waiting for an answer and the latest activity beside it (below on a phone). */
export function PayScreen() {
  const wallet = useWallet();
  const [search] = useSearchParams();
  return (
    <div className="screen">
      <ScreenTitle title="Pay" />
      <SectionNav label="Pay" links={PAY_LINKS} />
      <div className="two-columns">
        <div className="column-main">
          <Routes>
            <Route index element={<Navigate to="send" replace />} />
            <Route path="send" element={<SendMoneyForm />} />
            <Route path="request" element={<RequestMoneyForm onRequested={wallet.bump} />} />
            <Route path="scan" element={<PayMerchant initialReference={search.get("pay")} />} />
            <Route path="add" element={<FundingForm direction="add" />} />
            <Route path="withdraw" element={<FundingForm direction="withdraw" />} />
            <Route path="convert" element={<ConvertForm onConverted={wallet.refreshBalances} />} />
            <Route path="split" element={<SplitGroups username={wallet.username} onMoneyMoved={wallet.bump} />} />
            <Route path="bills" element={<BillsPanel />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </div>
        <aside className="column-side" aria-label="Your money">
          <BalanceCarousel />
          <RequestsPanel refreshKey={wallet.changes} />
          <ActivityList limit={5} refreshKey={wallet.changes} onChange={wallet.bump} />
        </aside>
      </div>
    </div>
  );
}
