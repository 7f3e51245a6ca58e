import { formatDateTime } from "../shared/dates";
import { useWallet } from "../shell/wallet";
import "./notifications.css";

/** Shown while the balances are the last this device saw (offline, API unreachable). */
export function OfflineBanner() {
  const { offlineAsOf } = useWallet();
  if (!offlineAsOf) return null;
  return (
    <p className="offline-banner" role="status" data-testid="offline-banner">
      Offline — balances as of {formatDateTime(offlineAsOf)}
    </p>
  );
}
