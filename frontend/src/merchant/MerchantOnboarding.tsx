import { useState, type FormEvent } from "react";
import { useMutation } from "urql";

import { OnboardMerchantDocument } from "../gql/graphql";
import { refusalText } from "../shared/refusal";

const CATEGORIES = [
  ["5814", "Café or restaurant"],
  ["5411", "Grocery"],
  ["5942", "Books"],
  ["5999", "Other shop"],
  ["7299", "Services"],
] as const;

/**
 * Open a shop: the shop's details and the business behind it (KYB-lite). The owner must
 * be verified (Limits tab) first; the shop then waits for our approval before anything
 * is paid out to a bank.
 */
export function OpenShop({ onOpened }: { onOpened: () => void }) {
  const [open, setOpen] = useState(false);
  const [soleTrader, setSoleTrader] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [, onboard] = useMutation(OnboardMerchantDocument);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? "").trim();
    setError(null);
    const payload = (await onboard({
      input: {
        name: text("name"),
        mcc: text("mcc"),
        country: text("country").toUpperCase(),
        city: text("city"),
        legalName: text("legalName"),
        soleTrader,
        registrationNumber: soleTrader ? null : text("registrationNumber") || null,
        businessAddress: text("businessAddress"),
        website: text("website") || null,
        description: text("description"),
      },
    })).data?.onboardMerchant;
    if (payload?.__typename === "MerchantPayload") onOpened();
    else setError(refusalText(payload));
  }

  if (!open) {
    return (
      <section className="card" aria-labelledby="open-shop-title">
        <h2 id="open-shop-title">Sell with your wallet</h2>
        <p className="muted small">Take payments by QR code at a till or online.</p>
        <button className="secondary" type="button" onClick={() => setOpen(true)}>Open a shop</button>
      </section>
    );
  }
  return (
    <section className="card send" aria-labelledby="open-shop-title">
      <h2 id="open-shop-title">Open a shop</h2>
      <p className="muted small">
        You need basic verification (Limits tab). We check every business before paying its
        takings out to a bank.
      </p>
      <form onSubmit={submit} noValidate aria-label="Open a shop">
        <div className="field"><label htmlFor="shop-name">Shop name</label>
          <input id="shop-name" name="name" required /></div>
        <div className="row">
          <div className="field"><label htmlFor="shop-mcc">Kind of business</label>
            <select id="shop-mcc" name="mcc" defaultValue="5999">
              {CATEGORIES.map(([code, label]) => <option key={code} value={code}>{label}</option>)}
            </select></div>
          <div className="field"><label htmlFor="shop-country">Shop country (2 letters)</label>
            <input id="shop-country" name="country" maxLength={2} defaultValue="US" required /></div>
        </div>
        <div className="field"><label htmlFor="shop-city">City</label>
          <input id="shop-city" name="city" /></div>
        <div className="field"><label htmlFor="shop-legal-name">Business legal name</label>
          <input id="shop-legal-name" name="legalName" required /></div>
        <label>
          <input type="checkbox" checked={soleTrader} onChange={(e) => setSoleTrader(e.target.checked)} />{" "}
          I am a sole trader (no company registration)
        </label>
        {!soleTrader && (
          <div className="field"><label htmlFor="shop-registration">Company registration number</label>
            <input id="shop-registration" name="registrationNumber" required /></div>
        )}
        <div className="field"><label htmlFor="shop-address">Business address</label>
          <input id="shop-address" name="businessAddress" autoComplete="street-address" required /></div>
        <div className="field"><label htmlFor="shop-website">Website (optional)</label>
          <input id="shop-website" name="website" type="url" placeholder="https://" /></div>
        <div className="field"><label htmlFor="shop-description">What you sell</label>
          <input id="shop-description" name="description" /></div>
        {error && <p className="error" role="alert">{error}</p>}
        <button className="primary" type="submit">Send for approval</button>
      </form>
    </section>
  );
}

/** The shop's standing with us, shown to its owner above the dashboard. */
export function ApprovalNotice({ approval }: { approval: string }) {
  if (approval === "APPROVED") return null;
  return approval === "PENDING" ? (
    <p className="muted" data-testid="merchant-approval">
      Waiting for approval: you can take payments now; we pay them out to your bank once our
      team has checked your business.
    </p>
  ) : (
    <p className="error" data-testid="merchant-approval">
      Not approved: this shop cannot take payments. Its balance is safe with us; contact support.
    </p>
  );
}
