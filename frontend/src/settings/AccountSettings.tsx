import { useRef, useState, type FormEvent, type ReactNode } from "react";
import { useMutation } from "urql";

import {
  ChangePasswordDocument,
  SendVerificationCodeDocument,
  SetTransactionPinDocument,
  StartContactChangeDocument,
  VerifyContactDocument,
  type ContactChannel,
  type SecurityQuery,
  type StepUpMethod,
} from "../gql/graphql";
import { refusalText, type Refusal } from "../shared/refusal";
import { useStepUp } from "../shared/stepUp";

type Answer = Refusal & { methods?: StepUpMethod[] };
type Outcome = { ok: boolean; text: string } | null;

/**
 * A form whose action may answer StepUpRequired: it asks for the second factor, then
 * submits the same form again. `act` returns a success text, or the refusal.
 */
function GuardedForm({ label, why, act, submitText, children }: {
  label: string; why: string; submitText: string; children: ReactNode;
  act: (form: FormData) => Promise<string | Answer | null | undefined>;
}) {
  const formRef = useRef<HTMLFormElement>(null);
  const stepUp = useStepUp(why);
  const [outcome, setOutcome] = useState<Outcome>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const answer = await act(new FormData(form));
    if (typeof answer === "string") {
      form.reset();
      setOutcome({ ok: true, text: answer });
    } else if (answer?.__typename === "StepUpRequired") {
      setOutcome(null);
      stepUp.ask(answer.methods ?? [], () => formRef.current?.requestSubmit());
    } else setOutcome({ ok: false, text: refusalText(answer) });
  }

  return (
    <>
      <form ref={formRef} onSubmit={submit} noValidate aria-label={label}>
        {children}
        {outcome && <p className={outcome.ok ? "success" : "error"} role={outcome.ok ? "status" : "alert"}>{outcome.text}</p>}
        <button className="secondary" type="submit">{submitText}</button>
      </form>
      {stepUp.prompt}
    </>
  );
}

const CHANNEL_NAME: Record<ContactChannel, string> = { EMAIL: "email", PHONE: "phone number" };

/** One contact: shows it and whether it is proven; proves it, or changes it (code to the new one). */
function ContactRow({ channel, value, verified, onChanged }: {
  channel: ContactChannel; value: string; verified: boolean; onChanged: () => void;
}) {
  const [, startChange] = useMutation(StartContactChangeDocument);
  const [, sendCode] = useMutation(SendVerificationCodeDocument);
  const [, verify] = useMutation(VerifyContactDocument);
  const [codeSentTo, setCodeSentTo] = useState<string | null>(null);
  const [changing, setChanging] = useState(false);
  const [message, setMessage] = useState<Outcome>(null);
  const name = CHANNEL_NAME[channel];
  const id = channel.toLowerCase();

  async function proveCurrent() {
    const payload = (await sendCode({ channel })).data?.sendVerificationCode;
    if (payload?.__typename === "VerificationSentPayload") setCodeSentTo(payload.sentTo);
    else setMessage({ ok: false, text: refusalText(payload) });
  }

  async function confirm(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code")).replace(/\s/g, "");
    const payload = (await verify({ channel, code })).data?.verifyContact;
    if (payload?.__typename !== "ContactVerifiedPayload") return setMessage({ ok: false, text: refusalText(payload) });
    const claimed = payload.claimedTransfers.length;
    setMessage({ ok: true, text: `${payload.contact} is confirmed.${claimed ? ` ${claimed} payment(s) waiting for it are now yours.` : ""}` });
    setCodeSentTo(null);
    setChanging(false);
    onChanged();
  }

  return (
    <div className="contact" data-testid={`contact-${id}`}>
      <p>
        <span className="muted">{name[0].toUpperCase() + name.slice(1)}</span>{" "}
        <strong>{value}</strong>{" "}
        {verified ? <span className="badge">confirmed</span> : <span className="badge badge-pending">not confirmed</span>}
      </p>
      <div className="link-buttons">
        {!verified && !codeSentTo && <button className="link" type="button" onClick={() => void proveCurrent()}>Confirm it</button>}
        {!changing && <button className="link" type="button" onClick={() => { setChanging(true); setMessage(null); }}>Change {name}</button>}
      </div>
      {changing && !codeSentTo && (
        <GuardedForm label={`Change ${name}`} why={`change your ${name}`} submitText="Send a code"
                     act={async (form) => {
                       const payload = (await startChange({ channel, newContact: String(form.get("contact") ?? "").trim() })).data?.startContactChange;
                       if (payload?.__typename !== "ContactChangeStartedPayload") return payload;
                       setCodeSentTo(payload.sentTo);
                       return `Code sent to ${payload.sentTo}`;
                     }}>
          <div className="field">
            <label htmlFor={`new-${id}`}>New {name}</label>
            <input id={`new-${id}`} name="contact" type={channel === "EMAIL" ? "email" : "tel"}
                   autoComplete={channel === "EMAIL" ? "email" : "tel"} />
          </div>
        </GuardedForm>
      )}
      {codeSentTo && (
        <form onSubmit={confirm} noValidate aria-label={`Confirm ${name}`}>
          <div className="field">
            <label htmlFor={`${id}-code`}>Code we sent to {codeSentTo}</label>
            <input id={`${id}-code`} name="code" inputMode="numeric" autoComplete="one-time-code" />
          </div>
          <div className="link-buttons">
            <button className="primary" type="submit">Confirm</button>
            <button className="link" type="button" onClick={() => { setCodeSentTo(null); setChanging(false); }}>Cancel</button>
          </div>
        </form>
      )}
      {message && <p className={message.ok ? "success" : "error"} role={message.ok ? "status" : "alert"}>{message.text}</p>}
    </div>
  );
}

/** Email, phone, password and transaction PIN; changing any of them asks for a second factor. */
export function AccountSettings({ security, onChanged }: {
  security: NonNullable<SecurityQuery["security"]>; onChanged: () => void;
}) {
  const [, changePassword] = useMutation(ChangePasswordDocument);
  const [, setPin] = useMutation(SetTransactionPinDocument);
  const hasPin = security.stepUpMethods.includes("PIN");
  const [pinOpenAtFirst] = useState(!hasPin); // stays open after the first PIN is saved

  return (
    <div className="account-settings">
      <h3>Account</h3>
      <ContactRow channel="EMAIL" value={security.contacts.email} verified={security.contacts.emailVerified} onChanged={onChanged} />
      <ContactRow channel="PHONE" value={security.contacts.phone} verified={security.contacts.phoneVerified} onChanged={onChanged} />
      <details>
        <summary>Change password</summary>
        <GuardedForm label="Change password" why="change your password" submitText="Change password"
                     act={async (form) => {
                       const payload = (await changePassword({
                         currentPassword: String(form.get("current") ?? ""),
                         newPassword: String(form.get("new") ?? ""),
                       })).data?.changePassword;
                       if (payload?.__typename !== "PasswordChangedPayload") return payload;
                       const others = payload.signedOutSessions;
                       return `Password changed.${others ? ` ${others} other session(s) signed out.` : ""}`;
                     }}>
          <div className="field">
            <label htmlFor="current-password">Current password</label>
            <input id="current-password" name="current" type="password" autoComplete="current-password" />
          </div>
          <div className="field">
            <label htmlFor="new-password">New password</label>
            <input id="new-password" name="new" type="password" autoComplete="new-password" />
          </div>
        </GuardedForm>
      </details>
      <details open={pinOpenAtFirst}>
        <summary>{hasPin ? "Change transaction PIN" : "Set a transaction PIN"}</summary>
        <p className="muted">Confirms payments and other sensitive actions.</p>
        <GuardedForm label="Transaction PIN" why="change your PIN" submitText={hasPin ? "Change PIN" : "Set PIN"}
                     act={async (form) => {
                       const payload = (await setPin({ pin: String(form.get("pin") ?? "").trim() })).data?.setTransactionPin;
                       if (payload?.__typename !== "PinPayload") return payload;
                       onChanged();
                       return "PIN saved.";
                     }}>
          <div className="field">
            <label htmlFor="new-pin">New PIN (4 to 6 digits)</label>
            <input id="new-pin" name="pin" type="password" inputMode="numeric" autoComplete="off" maxLength={6} />
          </div>
        </GuardedForm>
      </details>
    </div>
  );
}
