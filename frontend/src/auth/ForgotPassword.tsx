import { useState, type FormEvent } from "react";
import { useMutation } from "urql";

import {
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  StartPasswordResetPasskeyDocument,
  type ContactChannel,
  type StepUpMethod,
} from "../gql/graphql";
import { answerWithPasskey, passkeyFailure, passkeysSupported } from "../shared/passkeys";
import { refusalText } from "../shared/refusal";

const FACTOR_LABELS: Partial<Record<StepUpMethod, string>> = {
  PIN: "Your transaction PIN",
  TOTP: "Authenticator code (or a recovery code)",
};

/** "Forgot your password?": a code to the verified email or phone, a new password, and
 * the account's second factor when it has one. Ends on the sign-in form. */
export function ForgotPassword({ onDone, onCancel }: { onDone: (message: string) => void; onCancel: () => void }) {
  const [, requestReset] = useMutation(RequestPasswordResetDocument);
  const [{ fetching }, resetPassword] = useMutation(ResetPasswordDocument);
  const [, startPasskey] = useMutation(StartPasswordResetPasskeyDocument);
  const [login, setLogin] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const [methods, setMethods] = useState<StepUpMethod[]>([]);
  const [method, setMethod] = useState<StepUpMethod | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function ask(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const who = String(form.get("login") ?? "").trim();
    const channel = String(form.get("channel") ?? "EMAIL") as ContactChannel;
    setError(null);
    const payload = (await requestReset({ login: who, channel })).data?.requestPasswordReset;
    if (payload?.__typename !== "PasswordResetRequested") return setError(refusalText(payload));
    setLogin(who);
    setSent(payload.message);
  }

  function finish(payload: { __typename: string; message?: string; methods?: StepUpMethod[] } | undefined) {
    if (payload?.__typename === "PasswordResetPayload") return onDone(payload.message ?? "Password changed.");
    if (payload?.__typename === "StepUpRequired" && payload.methods) {
      setMethods(payload.methods);
      setMethod(payload.methods.find((m) => m !== "PASSKEY") ?? null);
      setError(`${payload.message}: you have a second factor, so prove it as well.`);
      return;
    }
    setError(refusalText(payload as never));
  }

  async function reset(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const code = String(form.get("code") ?? "").replace(/\s/g, "");
    const factorCode = String(form.get("factorCode") ?? "").replace(/\s/g, "");
    setError(null);
    const input = {
      login,
      code,
      newPassword: String(form.get("newPassword") ?? ""),
      ...(method && methods.length ? { factor: method, factorCode } : {}),
    };
    finish((await resetPassword({ input })).data?.resetPassword);
  }

  async function withPasskey(form: HTMLFormElement) {
    const data = new FormData(form);
    const code = String(data.get("code") ?? "").replace(/\s/g, "");
    setError(null);
    const started = (await startPasskey({ login, code })).data?.startPasswordResetPasskey;
    if (started?.__typename !== "PasskeyOptionsPayload" || !started.challengeId) return setError(refusalText(started));
    let credential: string;
    try {
      credential = await answerWithPasskey(started.options);
    } catch (e) {
      return setError(passkeyFailure(e, "No passkey was used"));
    }
    const input = {
      login,
      code,
      newPassword: String(data.get("newPassword") ?? ""),
      factor: "PASSKEY" as StepUpMethod,
      passkeyChallengeId: started.challengeId,
      passkeyCredential: credential,
    };
    finish((await resetPassword({ input })).data?.resetPassword);
  }

  if (!sent) {
    return (
      <form onSubmit={ask} noValidate aria-label="Reset your password">
        <p className="muted">We send a code to your confirmed email or phone. It works once, for 15 minutes.</p>
        <div className="field">
          <label htmlFor="reset-login">Email, phone or username</label>
          <input id="reset-login" name="login" autoComplete="username" />
        </div>
        <div className="field">
          <label htmlFor="reset-channel">Send the code by</label>
          <select id="reset-channel" name="channel" defaultValue="EMAIL">
            <option value="EMAIL">Email</option>
            <option value="PHONE">Text message</option>
          </select>
        </div>
        {error && <p className="error" role="alert">{error}</p>}
        <button className="primary" type="submit">Send me a code</button>
        <button className="link" type="button" onClick={onCancel}>Back to log in</button>
      </form>
    );
  }

  const codeMethods = methods.filter((m) => m !== "PASSKEY");
  return (
    <form onSubmit={reset} noValidate aria-label="Choose a new password">
      <p className="muted" role="status">{sent}</p>
      <div className="field">
        <label htmlFor="reset-code">Code from the message</label>
        <input id="reset-code" name="code" inputMode="numeric" autoComplete="one-time-code" />
      </div>
      <div className="field">
        <label htmlFor="reset-new-password">New password</label>
        <input id="reset-new-password" name="newPassword" type="password" autoComplete="new-password" />
        <small className="muted">At least 10 characters, letters and digits.</small>
      </div>
      {codeMethods.length > 1 && (
        <div className="field">
          <label htmlFor="reset-factor">Confirm with</label>
          <select id="reset-factor" value={method ?? ""} onChange={(e) => setMethod(e.target.value as StepUpMethod)}>
            {codeMethods.map((m) => <option key={m} value={m}>{FACTOR_LABELS[m] ?? m}</option>)}
          </select>
        </div>
      )}
      {method && method !== "PASSKEY" && (
        <div className="field">
          <label htmlFor="reset-factor-code">{FACTOR_LABELS[method] ?? method}</label>
          <input id="reset-factor-code" name="factorCode" type="password" inputMode="numeric" autoComplete="one-time-code" />
        </div>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      {methods.includes("PASSKEY") && passkeysSupported() && (
        <button className="secondary" type="button" onClick={(e) => void withPasskey(e.currentTarget.form!)}>
          Confirm with a passkey
        </button>
      )}
      {(codeMethods.length > 0 || methods.length === 0) && (
        <button className="primary" type="submit" disabled={fetching}>
          {fetching ? "Saving…" : "Set new password"}
        </button>
      )}
      <button className="link" type="button" onClick={onCancel}>Back to log in</button>
    </form>
  );
}
