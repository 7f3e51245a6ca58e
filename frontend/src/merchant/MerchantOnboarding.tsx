import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  DecideMerchantApplicationDocument,
  MerchantApplicationsDocument,
  OnboardMerchantDocument,
  type MerchantDecision,
} from "../gql/graphql";
import { OperatorQueue, pressed } from "../shared/OperatorQueue";
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

/** Compliance: businesses waiting for approval before their first payout. */
export function MerchantApplicationQueue() {
  const [{ data }, reload] = useQuery({ query: MerchantApplicationsDocument, requestPolicy: "network-only" });
  const [, decide] = useMutation(DecideMerchantApplicationDocument);
  const [message, setMessage] = useState<string | null>(null);
  const queue = data?.merchantApplications;
  if (!queue) return null;

  async function submit(event: FormEvent<HTMLFormElement>, merchantId: string) {
    event.preventDefault();
    const decision = (pressed(event) ?? "APPROVE") as MerchantDecision;
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "");
    const payload = (await decide({ merchantId, decision, reason })).data?.decideMerchantApplication;
    setMessage(payload?.__typename === "MerchantDecisionPayload"
      ? `${payload.application.name}: ${payload.application.status.toLowerCase()}`
      : refusalText(payload));
    reload({ requestPolicy: "network-only" });
  }

  return (
    <OperatorQueue id="merchant-queue-title" title="Businesses to approve" testId="merchant-queue"
                   items={queue} message={message}>
      {(m) => (
        <li key={m.merchantId}>
          <p>
            <strong>{m.name}</strong> · @{m.ownerUsername} ({m.ownerVerificationLevel.toLowerCase()}) ·
            MCC {m.mcc} · {m.city ? `${m.city}, ` : ""}{m.country}
          </p>
          <p className="muted">
            {m.legalName ?? "no legal name given"} ·{" "}
            {m.soleTrader ? "sole trader" : `registration ${m.registrationNumber ?? "not given"}`} ·{" "}
            {m.businessAddress ?? "no address given"}
          </p>
          <p className="muted">
            {m.website && <a href={m.website} target="_blank" rel="noreferrer noopener">{m.website}</a>}
            {m.website && m.description && " · "}
            {m.description}
          </p>
          <form onSubmit={(e) => submit(e, m.merchantId)}>
            <div className="field">
              <label htmlFor={`merchant-reason-${m.merchantId}`}>Why (kept for the audit)</label>
              <input id={`merchant-reason-${m.merchantId}`} name="reason" required />
            </div>
            <div className="link-buttons">
              <button className="primary" type="submit" value="APPROVE">Approve business</button>
              <button className="secondary" type="submit" value="REJECT">Reject business</button>
            </div>
          </form>
        </li>
      )}
    </OperatorQueue>
  );
}
