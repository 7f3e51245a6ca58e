import { useState, type FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";

import {
  AmlCasesDocument,
  ClearSanctionsMatchDocument,
  CloseAmlCaseDocument,
  DecideFraudReviewDocument,
  EscalateAmlCaseDocument,
  FraudReviewsDocument,
  FreezeWalletDocument,
  SarDocumentDocument,
  UnfreezeWalletDocument,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { OperatorQueue, pressed } from "./OperatorQueue";
import { DETECTORS } from "./PersonCases";
import { refusalText } from "../shared/refusal";

/** Compliance: payments the fraud rules held, to release or refuse. */
export function FraudReviewQueue() {
  const [{ data }, reload] = useQuery({ query: FraudReviewsDocument, requestPolicy: "network-only" });
  const [, decide] = useMutation(DecideFraudReviewDocument);
  const [message, setMessage] = useState<string | null>(null);
  const queue = data?.fraudReviews;
  if (!queue) return null;

  async function submit(event: FormEvent<HTMLFormElement>, id: string) {
    event.preventDefault();
    const approve = pressed(event) === "release";
    const note = String(new FormData(event.currentTarget).get("note") ?? "");
    const payload = (await decide({ id, approve, note })).data?.decideFraudReview;
    setMessage(payload?.__typename === "FraudDecisionPayload"
      ? `Payment #${id} ${approve ? "released" : "refused"}`
      : refusalText(payload));
    reload({ requestPolicy: "network-only" });
  }

  return (
    <OperatorQueue id="fraud-queue-title" title="Payments on hold" testId="fraud-queue" items={queue} message={message}>
      {(c) => (
          <li key={c.id} id={`fraud-review-${c.id}`}>
            <p>
              <strong>@{c.username}</strong> → @{c.recipientUsername} ·{" "}
              <strong>{formatMoney(c.amount, c.currency)}</strong> · score {c.score}
            </p>
            <ul className="muted">
              {c.hits.map((h) => <li key={h.code}>{h.detail} (+{h.score})</li>)}
            </ul>
            <form onSubmit={(e) => submit(e, c.id)}>
              <div className="field">
                <label htmlFor={`fraud-note-${c.id}`}>Note</label>
                <input id={`fraud-note-${c.id}`} name="note" />
              </div>
              <div className="link-buttons">
                <button className="primary" type="submit" value="release">Release</button>
                <button className="secondary" type="submit" value="refuse">Refuse</button>
              </div>
            </form>
          </li>
      )}
    </OperatorQueue>
  );
}

/**
 * Compliance: AML cases, escalated to a SAR draft, wallets frozen. A possible sanctions
 * match is cleared, saying why, when it is not the listed person (KYC approval waits for
 * that); a confirmed one stays open.
 */
export function AmlCaseList() {
  const [{ data }, reload] = useQuery({ query: AmlCasesDocument, requestPolicy: "network-only" });
  const [, escalate] = useMutation(EscalateAmlCaseDocument);
  const [, close] = useMutation(CloseAmlCaseDocument);
  const [, clear] = useMutation(ClearSanctionsMatchDocument);
  const [, freeze] = useMutation(FreezeWalletDocument);
  const [, unfreeze] = useMutation(UnfreezeWalletDocument);
  const client = useClient();
  const [message, setMessage] = useState<string | null>(null);
  const cases = data?.amlCases;
  if (!cases) return null;

  async function act(event: FormEvent<HTMLFormElement>, id: string) {
    event.preventDefault();
    const action = pressed(event);
    const text = String(new FormData(event.currentTarget).get("text") ?? "");
    let outcome: { __typename: string; message?: string } | null | undefined;
    if (action === "escalate") outcome = (await escalate({ id, narrative: text })).data?.escalateAmlCase;
    else if (action === "freeze") outcome = (await freeze({ id, reason: text })).data?.freezeWallet;
    else if (action === "unfreeze") outcome = (await unfreeze({ id })).data?.unfreezeWallet;
    else if (action === "clear") outcome = (await clear({ id, reason: text })).data?.clearSanctionsMatch;
    else outcome = (await close({ id, reason: text })).data?.closeAmlCase;
    const done = action === "clear" ? "match cleared" : "done";
    setMessage(outcome && !("code" in outcome) ? `Case #${id}: ${done}` : refusalText(outcome));
    reload({ requestPolicy: "network-only" });
  }

  async function download(caseId: string) {
    const result = await client.query(SarDocumentDocument, { caseId }, { requestPolicy: "network-only" }).toPromise();
    const blob = new Blob([JSON.stringify(result.data?.sarDocument, null, 2)], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `sar-case-${caseId}.json`;
    link.click();
    URL.revokeObjectURL(link.href);
  }

  return (
    <OperatorQueue id="aml-title" title="AML cases" empty="No open cases." testId="aml-cases" items={cases} message={message}>
      {(c) => (
          <li key={c.id} id={`aml-case-${c.id}`}>
            <p>
              <strong>{DETECTORS[c.detector] ?? c.detector}</strong> (case #{c.id}) · @{c.username} ·{" "}
              {c.status.toLowerCase()} · wallet {c.walletStatus.toLowerCase()}
              {c.frozenReason && ` (${c.frozenReason})`}
            </p>
            <p className="muted">{c.summary}</p>
            {c.blocksApproval && (
              <p className="error small">Their verification cannot be approved until this match is cleared.</p>
            )}
            {c.hasSar && (
              <button className="link" type="button" onClick={() => void download(c.id)}>Download SAR draft</button>
            )}
            <form onSubmit={(e) => act(e, c.id)}>
              <div className="field">
                <label htmlFor={`aml-text-${c.id}`}>Narrative or reason</label>
                <textarea id={`aml-text-${c.id}`} name="text" rows={2} />
              </div>
              <div className="link-buttons">
                {c.status === "OPEN" && <button className="primary" type="submit" value="escalate">Escalate to SAR</button>}
                {c.walletStatus === "FROZEN"
                  ? <button className="secondary" type="submit" value="unfreeze">Lift the freeze</button>
                  : <button className="secondary" type="submit" value="freeze">Freeze wallet</button>}
                {c.detector === "SANCTIONS"
                  ? <button className="secondary" type="submit" value="clear">Clear the match (not this person)</button>
                  : <button className="secondary" type="submit" value="close">Close case</button>}
              </div>
            </form>
          </li>
      )}
    </OperatorQueue>
  );
}
