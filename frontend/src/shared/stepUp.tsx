import { useState, type FormEvent, type ReactNode } from "react";
import { useMutation } from "urql";

import {
  SendStepUpCodeDocument,
  StartPasskeyStepUpDocument,
  VerifyStepUpDocument,
  VerifyStepUpWithPasskeyDocument,
  type StepUpMethod,
} from "../gql/graphql";
import { answerWithPasskey, passkeyFailure } from "./passkeys";
import { refusalText } from "./refusal";

type Pending = { methods: StepUpMethod[]; retry: () => void; cancel?: () => void };

export type StepUp = {
  /** Ask for the second factor; once confirmed, `retry` runs the same action again (same
   * idempotency key); cancelled, `cancel` runs (e.g. a fresh key for the next attempt). */
  ask: (methods: StepUpMethod[], retry: () => void, cancel?: () => void) => void;
  /** The prompt while one is open: render it outside any form (forms cannot nest). */
  prompt: ReactNode;
  waiting: boolean;
};

/** The second-factor prompt for actions the API answers with StepUpRequired. */
export function useStepUp(why: string): StepUp {
  const [pending, setPending] = useState<Pending | null>(null);
  const prompt = pending && (
    <StepUpPrompt methods={pending.methods} why={why}
                  onConfirmed={() => { setPending(null); pending.retry(); }}
                  onCancel={() => { setPending(null); pending.cancel?.(); }} />
  );
  return {
    ask: (methods, retry, cancel) => setPending({ methods, retry, cancel }),
    prompt,
    waiting: pending !== null,
  };
}

const LABELS: Record<StepUpMethod, string> = {
  PIN: "Transaction PIN",
  TOTP: "Authenticator code",
  PASSKEY: "Passkey",
  CONTACT_CODE: "Password and a code we email you",
};

/** Asks for a second factor, then calls `onConfirmed` (the caller retries its request). */
export function StepUpPrompt({ methods, onConfirmed, onCancel, why = "send this much" }: {
  methods: StepUpMethod[]; onConfirmed: () => void; onCancel: () => void; why?: string;
}) {
  const [, verify] = useMutation(VerifyStepUpDocument);
  const [, sendCode] = useMutation(SendStepUpCodeDocument);
  const [, startPasskey] = useMutation(StartPasskeyStepUpDocument);
  const [, verifyPasskey] = useMutation(VerifyStepUpWithPasskeyDocument);
  const codeMethods = methods.filter((m) => m !== "PASSKEY");
  const [method, setMethod] = useState<StepUpMethod>(codeMethods[0] ?? "PIN");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function withPasskey() {
    setError(null);
    const started = (await startPasskey({})).data?.startPasskeyStepUp;
    if (started?.__typename !== "PasskeyOptionsPayload" || !started.challengeId) return setError(refusalText(started));
    let credential: string;
    try {
      credential = await answerWithPasskey(started.options);
    } catch (error) {
      return setError(passkeyFailure(error, "No passkey was used"));
    }
    const payload = (await verifyPasskey({ challengeId: started.challengeId, credential })).data?.verifyStepUpWithPasskey;
    if (payload?.__typename === "StepUpPayload") onConfirmed();
    else setError(refusalText(payload));
  }

  async function emailMeACode() {
    setError(null);
    setBusy("Sending a code…");
    const sent = (await sendCode({ channel: "EMAIL" })).data?.sendStepUpCode;
    setBusy(null);
    if (sent?.__typename === "StepUpCodeSentPayload") setSentTo(sent.sentTo);
    else setError(refusalText(sent));
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const code = String(form.get("code") ?? "").replace(/\s/g, "");
    const password = method === "CONTACT_CODE" ? String(form.get("password") ?? "") : null;
    setBusy("Checking…");
    const payload = (await verify({ method, code, password })).data?.verifyStepUp;
    setBusy(null);
    if (payload?.__typename === "StepUpPayload") onConfirmed();
    else setError(refusalText(payload));
  }

  const contactCode = method === "CONTACT_CODE";
  return (
    <form className="step-up" onSubmit={submit} noValidate aria-label="Confirm it's you">
      <p><strong>Confirm it's you</strong> to {why}.</p>
      {methods.includes("PASSKEY") && (
        <button className="primary" type="button" onClick={() => void withPasskey()}>Use a passkey</button>
      )}
      {codeMethods.length > 1 && (
        <div className="field">
          <label htmlFor="step-up-method">With</label>
          <select id="step-up-method" value={method} onChange={(e) => setMethod(e.target.value as StepUpMethod)}>
            {codeMethods.map((m) => <option key={m} value={m}>{LABELS[m]}</option>)}
          </select>
        </div>
      )}
      {contactCode && !sentTo && (
        <>
          <p className="muted">You have no second factor yet, so we check your password and a code we send to your email.</p>
          <button className="primary" type="button" disabled={busy !== null} onClick={() => void emailMeACode()}>
            {busy ?? "Email me a code"}
          </button>
        </>
      )}
      {contactCode && sentTo && (
        <>
          <div className="field">
            <label htmlFor="step-up-password">Your password</label>
            <input id="step-up-password" name="password" type="password" autoComplete="current-password" />
          </div>
          <div className="field">
            <label htmlFor="step-up-code">Code we sent to {sentTo}</label>
            <input id="step-up-code" name="code" inputMode="numeric" autoComplete="one-time-code" />
          </div>
        </>
      )}
      {!contactCode && codeMethods.length > 0 && (
        <div className="field">
          <label htmlFor="step-up-code">{LABELS[method]}</label>
          <input id="step-up-code" name="code" inputMode="numeric" type="password" autoComplete="one-time-code" />
        </div>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="link-buttons">
        {(!contactCode || sentTo) && codeMethods.length > 0 && (
          <button className={methods.includes("PASSKEY") ? "secondary" : "primary"} type="submit" disabled={busy !== null}>
            {busy ?? "Confirm"}
          </button>
        )}
        <button className="link" type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
