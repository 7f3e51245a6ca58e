import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  DecideKycReviewDocument,
  KycDocumentDocument,
  KycReviewsDocument,
  type KycDecision,
  type VerificationLevel,
} from "../gql/graphql";
import { OperatorQueue, pressed } from "./OperatorQueue";
import { PersonCases } from "./PersonCases";
import { refusalText } from "../shared/refusal";

/** Compliance: verification reviews waiting, with the documents to look at. */
export function KycReviewQueue() {
  const [{ data }, reload] = useQuery({ query: KycReviewsDocument, requestPolicy: "network-only" });
  const [, decide] = useMutation(DecideKycReviewDocument);
  const [message, setMessage] = useState<string | null>(null);
  const queue = data?.kycReviews;
  if (!queue) return null;

  async function submit(event: FormEvent<HTMLFormElement>, id: string, requested: VerificationLevel) {
    event.preventDefault();
    const decision = (pressed(event) ?? "APPROVE") as KycDecision;
    const form = new FormData(event.currentTarget);
    const reason = String(form.get("reason") ?? "") || null;
    const level = requested === "FULL" && form.get("premium") ? "PREMIUM" : null;
    const payload = (await decide({ id, decision, reason, level })).data?.decideKycReview;
    setMessage(payload?.__typename === "KycDecisionPayload"
      ? `Review #${id}: ${payload.review.status.toLowerCase().replace("_", " ")}`
      : refusalText(payload));
    reload({ requestPolicy: "network-only" });
  }

  return (
    <OperatorQueue id="kyc-queue-title" title="Verifications to review" testId="kyc-queue" items={queue} message={message}>
      {(c) => (
          <li key={c.review.id}>
            <p>
              <strong>@{c.username}</strong> asks for {c.review.requestedLevel.toLowerCase()} ·
              provider: {c.providerOutcome.toLowerCase()}{c.providerReasons.length > 0 && ` (${c.providerReasons.join("; ")})`}
            </p>
            <p className="muted">
              {c.legalName} · born {c.dateOfBirth} · {c.address}, {c.country}
              {c.documentType && ` · ${c.documentType.replace("_", " ")} ${c.documentNumber}`}
            </p>
            {c.documents.map((d) => <DocumentLink key={d.id} id={d.id} kind={d.kind} />)}
            <PersonCases amlCases={c.amlCases} fraudReviews={c.fraudReviews} />
            <form onSubmit={(e) => submit(e, c.review.id, c.review.requestedLevel)}>
              <div className="field">
                <label htmlFor={`kyc-reason-${c.review.id}`}>Reason for reject or more info (the customer reads it)</label>
                <input id={`kyc-reason-${c.review.id}`} name="reason" />
              </div>
              {c.review.requestedLevel === "FULL" && (
                <label><input type="checkbox" name="premium" /> Grant premium</label>
              )}
              <div className="link-buttons">
                <button className="primary" type="submit" value="APPROVE">Approve</button>
                <button className="secondary" type="submit" value="MORE_INFO">Ask for more</button>
                <button className="secondary" type="submit" value="REJECT">Reject</button>
              </div>
            </form>
          </li>
      )}
    </OperatorQueue>
  );
}

function DocumentLink({ id, kind }: { id: string; kind: string }) {
  const [open, setOpen] = useState(false);
  const [{ data }] = useQuery({ query: KycDocumentDocument, variables: { id }, pause: !open });
  const url = data?.kycDocument;
  return (
    <div className="kyc-document">
      <button className="link" type="button" onClick={() => setOpen(!open)}>
        {open ? "Hide" : "Show"} {kind === "SELFIE" ? "selfie" : "document"}
      </button>
      {open && url && (url.startsWith("data:image/")
        ? <img src={url} alt={kind === "SELFIE" ? "Selfie" : "Identity document"} style={{ maxWidth: "100%" }} />
        : <a href={url} download={`document-${id}.pdf`}>Download PDF</a>)}
    </div>
  );
}
