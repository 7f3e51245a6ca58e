import { formatMoney } from "../shared/money";

/** The AML detectors, as operators read them. */
export const DETECTORS: Record<string, string> = {
  STRUCTURING: "Structuring",
  RAPID_IN_OUT: "Rapid in and out",
  FAN_IN: "Fan-in",
  FAN_OUT: "Fan-out",
  SANCTIONS: "Sanctions match",
};

type AmlCaseRef = {
  id: string; detector: string; status: string; summary: string; createdAt: string;
  blocksApproval: boolean; clearedBy?: string | null; clearedAt?: string | null; closedReason?: string | null;
};
type HeldPayment = {
  id: string; status: string; amount: string; currency: string; recipientUsername?: string | null; createdAt: string;
};

const day = (at: string) => new Date(at).toLocaleDateString();

/**
 * Compliance, deciding a verification: what else is open about the person (AML cases,
 * sanctions matches cleared for them, payments held by the fraud rules), each linked to
 * where it is worked on in the console.
 */
export function PersonCases({ amlCases, fraudReviews }: { amlCases: AmlCaseRef[]; fraudReviews: HeldPayment[] }) {
  if (amlCases.length === 0 && fraudReviews.length === 0) {
    return <p className="muted small" data-testid="person-cases">No open AML cases or held payments.</p>;
  }
  return (
    <ul className="person-cases" data-testid="person-cases" aria-label="Open cases for this person">
      {amlCases.map((a) => (
        <li key={`aml-${a.id}`} className={a.blocksApproval ? "blocking" : undefined}>
          {a.status === "CLOSED" ? (
            <span>
              {DETECTORS[a.detector] ?? a.detector} (case #{a.id}) cleared by @{a.clearedBy}
              {a.clearedAt && ` on ${day(a.clearedAt)}`}: {a.closedReason}
            </span>
          ) : (
            <span>
              <a href={`#aml-case-${a.id}`}>{DETECTORS[a.detector] ?? a.detector}: AML case #{a.id}</a>
              {" "}· opened {day(a.createdAt)} · {a.status.toLowerCase()}
              {a.blocksApproval && <strong> · approval waits until compliance clears it</strong>}
            </span>
          )}
          <span className="muted small">{a.summary}</span>
        </li>
      ))}
      {fraudReviews.map((f) => (
        <li key={`fraud-${f.id}`}>
          <span>
            <a href={`#fraud-review-${f.id}`}>Payment on hold #{f.id}</a>
            {" "}· {formatMoney(f.amount, f.currency)}{f.recipientUsername && ` to @${f.recipientUsername}`}
            {" "}· held {day(f.createdAt)}
          </span>
        </li>
      ))}
    </ul>
  );
}
