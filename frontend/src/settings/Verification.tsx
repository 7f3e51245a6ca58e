import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  LimitsDocument,
  SubmitDocumentsDocument,
  SubmitIdentityDocument,
  VerificationDocument,
  type VerificationLevel,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { refusalText } from "../shared/refusal";

// Whole dollars without the ".00", so four columns fit a phone.
const usd = (amount: string) => formatMoney(amount, "USD").replace(/\.00$/, "");

const LEVEL_NAMES: Record<VerificationLevel, string> = {
  UNVERIFIED: "Unverified",
  BASIC: "Basic",
  FULL: "Fully verified",
  PREMIUM: "Premium",
};
const SCOPE_NAMES: Record<string, string> = {
  SEND: "Sending",
  ADD: "Adding money",
  WITHDRAW: "Withdraw",
  MERCHANT: "Shops and bills",
};

/** A chosen file as base64 (without the data: prefix) and its type. */
async function readFile(file: File): Promise<{ contentType: string; contentBase64: string }> {
  const dataUrl: string = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  return { contentType: file.type, contentBase64: dataUrl.slice(dataUrl.indexOf(",") + 1) };
}

/** Your verification level, the next step to raise it, and your limits with their usage. */
export function VerificationPanel() {
  const [{ data }, reload] = useQuery({ query: VerificationDocument, requestPolicy: "network-only" });
  const [{ data: limitsData }, reloadLimits] = useQuery({ query: LimitsDocument, requestPolicy: "network-only" });
  const [, submitIdentity] = useMutation(SubmitIdentityDocument);
  const [, submitDocuments] = useMutation(SubmitDocumentsDocument);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const verification = data?.verification;
  const limits = limitsData?.limits;
  const review = verification?.latestReview;

  function refresh() {
    reload({ requestPolicy: "network-only" });
    reloadLimits({ requestPolicy: "network-only" });
  }

  async function sendIdentity(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = {
      legalName: String(form.get("legalName")),
      dateOfBirth: String(form.get("dateOfBirth")),
      address: String(form.get("address")),
      country: String(form.get("country")),
    };
    setBusy(true);
    const payload = (await submitIdentity({ input })).data?.submitIdentity;
    setBusy(false);
    setMessage(payload?.__typename === "VerificationPayload" ? null : refusalText(payload));
    refresh();
  }

  async function sendDocuments(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const document = form.get("document");
    const selfie = form.get("selfie");
    if (!(document instanceof File) || !document.size || !(selfie instanceof File) || !selfie.size) {
      setMessage("Choose a photo of your document and a selfie");
      return;
    }
    setBusy(true);
    const input = {
      documentType: String(form.get("documentType")) as "PASSPORT" | "ID_CARD" | "DRIVING_LICENCE",
      documentNumber: String(form.get("documentNumber")),
      document: await readFile(document),
      selfie: await readFile(selfie),
    };
    const payload = (await submitDocuments({ input })).data?.submitDocuments;
    setBusy(false);
    setMessage(payload?.__typename === "VerificationPayload" ? null : refusalText(payload));
    refresh();
  }

  if (!verification) return <section className="card"><p className="muted">Loading…</p></section>;
  return (
    <section className="card verification" aria-labelledby="verification-title">
      <h2 id="verification-title">Verification and limits</h2>
      <p>
        Level: <strong data-testid="verification-level">{LEVEL_NAMES[verification.level]}</strong>
      </p>
      {review && (
        <p className={review.status === "REJECTED" ? "error" : "muted"} data-testid="review-status">
          {review.status === "PENDING" && "We are checking your details. We will tell you when it is done."}
          {review.status === "APPROVED" && `Approved: you are ${LEVEL_NAMES[review.grantedLevel ?? "BASIC"].toLowerCase()}.`}
          {review.status === "REJECTED" && `We could not verify you: ${review.reason}. You can try again.`}
          {review.status === "MORE_INFO" && `We need a little more: ${review.reason}.`}
        </p>
      )}
      {verification.nextStep === "IDENTITY" && (
        <form onSubmit={sendIdentity} noValidate aria-label="Verify your identity">
          <h3>Raise your limits: tell us who you are</h3>
          <div className="field"><label htmlFor="kyc-name">Full legal name</label>
            <input id="kyc-name" name="legalName" autoComplete="name" required /></div>
          <div className="row">
            <div className="field"><label htmlFor="kyc-dob">Date of birth</label>
              <input id="kyc-dob" name="dateOfBirth" type="date" autoComplete="bday" required /></div>
            <div className="field"><label htmlFor="kyc-country">Country (2 letters)</label>
              <input id="kyc-country" name="country" maxLength={2} autoComplete="country" required /></div>
          </div>
          <div className="field"><label htmlFor="kyc-address">Home address</label>
            <input id="kyc-address" name="address" autoComplete="street-address" required /></div>
          <button className="primary" type="submit" disabled={busy}>Verify</button>
        </form>
      )}
      {verification.nextStep === "DOCUMENTS" && (
        <form onSubmit={sendDocuments} noValidate aria-label="Upload your documents">
          <h3>Full verification: a document and a selfie</h3>
          <div className="row">
            <div className="field"><label htmlFor="kyc-doc-type">Document</label>
              <select id="kyc-doc-type" name="documentType">
                <option value="PASSPORT">Passport</option>
                <option value="ID_CARD">Identity card</option>
                <option value="DRIVING_LICENCE">Driving licence</option>
              </select></div>
            <div className="field"><label htmlFor="kyc-doc-number">Document number</label>
              <input id="kyc-doc-number" name="documentNumber" required /></div>
          </div>
          <div className="field"><label htmlFor="kyc-doc-file">Photo or scan of the document</label>
            <input id="kyc-doc-file" name="document" type="file" accept="image/jpeg,image/png,application/pdf" /></div>
          <div className="field"><label htmlFor="kyc-selfie">A selfie</label>
            <input id="kyc-selfie" name="selfie" type="file" accept="image/jpeg,image/png" capture="user" /></div>
          <p className="muted">Your documents are stored encrypted and seen only by our compliance team.</p>
          <button className="primary" type="submit" disabled={busy}>Send for review</button>
        </form>
      )}
      {message && <p className="error" role="alert">{message}</p>}
      {limits && (
        <>
          <h3>Your limits (US dollars)</h3>
          <table className="limits" data-testid="limits-table">
            <thead><tr><th>Kind</th><th>Each time</th><th>Left today</th><th>Left this month</th></tr></thead>
            <tbody>
              {limits.limits.map((l) => (
                <tr key={l.scope}>
                  <th scope="row">{SCOPE_NAMES[l.scope] ?? l.scope}</th>
                  <td>{usd(l.perTransaction)}</td>
                  <td>{usd(l.dailyRemaining)}<small className="muted">of {usd(l.daily)}</small></td>
                  <td>{usd(l.monthlyRemaining)}<small className="muted">of {usd(l.monthly)}</small></td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted" data-testid="balance-cap">
            {limits.balanceCap
              ? `You may hold up to ${usd(limits.balanceCap)}; you hold ${usd(limits.balance)}.`
              : `No cap on what you hold at this level; you hold ${usd(limits.balance)}.`}
          </p>
        </>
      )}
    </section>
  );
}
