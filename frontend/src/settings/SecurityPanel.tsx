import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  FinishPasskeyRegistrationDocument,
  PasskeysDocument,
  RemovePasskeyDocument,
  StartPasskeyRegistrationDocument,
  ConfirmTotpEnrolmentDocument,
  DisableTotpDocument,
  RevokeSessionDocument,
  SecurityDocument,
  SessionsDocument,
  StartTotpEnrolmentDocument,
} from "../gql/graphql";
import { AccountSettings } from "./AccountSettings";
import { formatDate, formatDateTime } from "../shared/dates";
import { createPasskey, passkeyFailure, passkeysSupported } from "../shared/passkeys";
import { refusalText } from "../shared/refusal";
import { useStepUp } from "../shared/stepUp";

/** Two-step sign-in with an authenticator app (TOTP) and its recovery codes. */
export function SecurityPanel() {
  const [{ data }, reload] = useQuery({ query: SecurityDocument, requestPolicy: "network-only" });
  const [, start] = useMutation(StartTotpEnrolmentDocument);
  const [, confirm] = useMutation(ConfirmTotpEnrolmentDocument);
  const [, disable] = useMutation(DisableTotpDocument);
  const [enrolment, setEnrolment] = useState<{ secret: string; qrCode: string } | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const stepUp = useStepUp("change how you sign in");
  const security = data?.security;

  async function begin() {
    setMessage(null);
    const payload = (await start({})).data?.startTotpEnrolment;
    if (payload?.__typename === "TotpEnrolmentPayload") setEnrolment(payload);
    else if (payload?.__typename === "StepUpRequired") stepUp.ask(payload.methods, () => void begin());
    else setMessage(refusalText(payload));
  }

  async function finish(code: string) {
    const payload = (await confirm({ code })).data?.confirmTotpEnrolment;
    if (payload?.__typename === "RecoveryCodesPayload") {
      setCodes(payload.codes);
      setEnrolment(null);
      setMessage(null);
      reload({ requestPolicy: "network-only" });
    } else if (payload?.__typename === "StepUpRequired") stepUp.ask(payload.methods, () => void finish(code));
    else setMessage(refusalText(payload));
  }

  async function turnOff(code: string) {
    const payload = (await disable({ code })).data?.disableTotp;
    if (payload?.__typename === "TotpDisabledPayload") {
      setCodes(null);
      reload({ requestPolicy: "network-only" });
    } else if (payload?.__typename === "StepUpRequired") stepUp.ask(payload.methods, () => void turnOff(code));
    else setMessage(refusalText(payload));
  }

  const codeOf = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    return String(new FormData(event.currentTarget).get("code")).replace(/\s/g, "");
  };

  return (
    <section className="card security" aria-labelledby="security-title">
      <h2 id="security-title">Security</h2>
      {security && <AccountSettings security={security} onChanged={() => reload({ requestPolicy: "network-only" })} />}
      <h3>Two-step sign-in</h3>
      <p>
        Authenticator app: <strong data-testid="totp-status">{security?.totpEnabled ? "on" : "off"}</strong>
        {security?.totpEnabled && ` · ${security.recoveryCodesLeft} recovery codes left`}
      </p>
      {!security?.totpEnabled && !enrolment && (
        <button className="secondary" onClick={begin}>Set up an authenticator app</button>
      )}
      {enrolment && (
        <form onSubmit={(e) => void finish(codeOf(e))} noValidate>
          <p>Scan this with your authenticator app, or type the key by hand.</p>
          <img className="totp-qr" src={enrolment.qrCode} alt="Authenticator QR code" width={180} height={180} />
          <p className="mono" data-testid="totp-secret">{enrolment.secret}</p>
          <div className="field">
            <label htmlFor="totp-code">6-digit code from the app</label>
            <input id="totp-code" name="code" inputMode="numeric" autoComplete="one-time-code" />
          </div>
          <button className="primary" type="submit">Turn on</button>
        </form>
      )}
      {codes && (
        <div className="recovery" data-testid="recovery-codes">
          <p><strong>Recovery codes.</strong> Each works once if you lose your phone. Keep them safe: they are not shown again.</p>
          <ul>{codes.map((c) => <li key={c} className="mono">{c}</li>)}</ul>
        </div>
      )}
      {security?.totpEnabled && (
        <details>
          <summary>Turn the authenticator off</summary>
          <form onSubmit={(e) => void turnOff(codeOf(e))} noValidate>
            <div className="field">
              <label htmlFor="totp-off-code">Code (or a recovery code)</label>
              <input id="totp-off-code" name="code" autoComplete="one-time-code" />
            </div>
            <button className="secondary" type="submit">Turn off</button>
          </form>
        </details>
      )}
      {message && <p className="error" role="status">{message}</p>}
      {stepUp.prompt}
      <PasskeyList />
      <SessionsList />
      <h3>Your data</h3>
      <div className="link-buttons">
        <a className="button secondary" href="/export/my-data.json" download>Download my data (JSON)</a>
        <a className="button secondary" href="/export/my-data.zip" download>Download as CSV files (zip)</a>
      </div>
    </section>
  );
}

/** The user's passkeys: add one (this device or a security key), remove one. */
function PasskeyList() {
  const [{ data }, reload] = useQuery({ query: PasskeysDocument, requestPolicy: "network-only" });
  const [, start] = useMutation(StartPasskeyRegistrationDocument);
  const [, finish] = useMutation(FinishPasskeyRegistrationDocument);
  const [, remove] = useMutation(RemovePasskeyDocument);
  const [message, setMessage] = useState<string | null>(null);
  const stepUp = useStepUp("change how you sign in");

  async function add() {
    setMessage(null);
    const started = (await start({})).data?.startPasskeyRegistration;
    if (started?.__typename === "StepUpRequired") return stepUp.ask(started.methods, () => void add());
    if (started?.__typename !== "PasskeyOptionsPayload") return setMessage(refusalText(started));
    let credential: string;
    try {
      credential = await createPasskey(started.options);
    } catch (error) {
      return setMessage(passkeyFailure(error, "No passkey was made"));
    }
    const label = navigator.userAgent.includes("Mobile") ? "This phone" : "This computer";
    const payload = (await finish({ credential, label })).data?.finishPasskeyRegistration;
    if (payload?.__typename === "StepUpRequired") return stepUp.ask(payload.methods, () => void add());
    setMessage(payload?.__typename === "PasskeyPayload" ? `Passkey added: ${payload.passkey.label}` : refusalText(payload));
    reload({ requestPolicy: "network-only" });
  }

  async function drop(id: string) {
    const payload = (await remove({ id })).data?.removePasskey;
    if (payload?.__typename === "StepUpRequired") return stepUp.ask(payload.methods, () => void drop(id));
    if (payload?.__typename !== "PasskeyRemovedPayload") setMessage(refusalText(payload));
    reload({ requestPolicy: "network-only" });
  }

  const keys = data?.passkeys ?? [];
  return (
    <section aria-label="Passkeys">
      <h3>Passkeys</h3>
      <p className="muted">Sign in and confirm payments with your fingerprint, face or screen lock.</p>
      <ul className="sessions" data-testid="passkeys">
        {keys.map((k) => (
          <li key={k.id}>
            {k.label} <span className="muted">added {formatDate(k.createdAt)}</span>{" "}
            <button className="link" onClick={() => void drop(k.id)}>Remove</button>
          </li>
        ))}
      </ul>
      {passkeysSupported() && <button className="secondary" onClick={() => void add()}>Add a passkey</button>}
      {message && <p role="status">{message}</p>}
      {stepUp.prompt}
    </section>
  );
}

/** Where the user is signed in, with a sign-out for each other session. */
export function SessionsList() {
  const [{ data }, reload] = useQuery({ query: SessionsDocument, requestPolicy: "network-only" });
  const [, revoke] = useMutation(RevokeSessionDocument);
  return (
    <div className="sessions">
      <h3>Where you're signed in</h3>
      <ul className="rule-list" aria-label="Sessions">
        {(data?.sessions ?? []).map((s) => (
          <li key={s.id}>
            <span>
              {s.device}{s.current ? " (this device)" : ""}
              <span className="muted small"> · {s.ip} · {formatDateTime(s.lastSeen)}</span>
            </span>
            {!s.current && (
              <button className="link" onClick={async () => { await revoke({ id: s.id }); reload({ requestPolicy: "network-only" }); }}>
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <h3>Devices</h3>
      <ul className="rule-list" aria-label="Devices">
        {(data?.devices ?? []).map((d) => (
          <li key={d.id}>{d.label}<span className="muted small">last used {formatDate(d.lastSeen)}</span></li>
        ))}
      </ul>
    </div>
  );
}
