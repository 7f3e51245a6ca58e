import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  CompleteLogInDocument,
  DeviceChallengeDocument,
  FinishPasskeyLogInDocument,
  LogInDocument,
  ReferralTermsDocument,
  SendLogInCodeDocument,
  SignUpDocument,
  StartPasskeyLogInDocument,
} from "../gql/graphql";
import { proveDevice, type DeviceProof } from "../shared/device";
import { ForgotPassword } from "./ForgotPassword";
import { passkeysSupported, answerWithPasskey, passkeyFailure } from "../shared/passkeys";
import { refusalText } from "../shared/refusal";
import { formatMoney } from "../shared/money";

/** A fresh proof that this browser holds its device key (null where it cannot). */
function useDeviceProof(): () => Promise<DeviceProof | null> {
  const [, challenge] = useMutation(DeviceChallengeDocument);
  return async () => {
    const issued = (await challenge({})).data?.deviceChallenge;
    return issued ? proveDevice(issued) : null;
  };
}

type Mode = "logIn" | "signUp" | "reset";
type FieldErrors = Record<string, string[]>;

const TITLES: Record<Mode, string> = {
  logIn: "Welcome back",
  signUp: "Create your wallet",
  reset: "Forgot your password?",
};

/** A friend's invitation link (`/?ref=<code>`) opens the sign-up form with the code. */
const invitation = new URLSearchParams(window.location.search).get("ref");

export function AuthScreen({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [mode, setMode] = useState<Mode>(invitation ? "signUp" : "logIn");
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <section className="card auth" aria-labelledby="auth-title">
      <h1 id="auth-title">{TITLES[mode]}</h1>
      {mode !== "reset" && (
        <div className="tabs" role="tablist">
          <button role="tab" aria-selected={mode === "logIn"} onClick={() => setMode("logIn")}>
            Log in
          </button>
          <button role="tab" aria-selected={mode === "signUp"} onClick={() => setMode("signUp")}>
            Sign up
          </button>
        </div>
      )}
      {mode === "logIn" ? (
        <LogInForm onDone={onLoggedIn} notice={notice} onForgot={() => { setNotice(null); setMode("reset"); }} />
      ) : mode === "signUp" ? (
        <SignUpForm onDone={onLoggedIn} />
      ) : (
        <ForgotPassword
          onDone={(message) => { setNotice(message); setMode("logIn"); }}
          onCancel={() => setMode("logIn")}
        />
      )}
    </section>
  );
}

function LogInForm({ onDone, onForgot, notice }: { onDone: () => void; onForgot: () => void; notice: string | null }) {
  const [{ fetching }, logIn] = useMutation(LogInDocument);
  const [, startPasskey] = useMutation(StartPasskeyLogInDocument);
  const [, finishPasskey] = useMutation(FinishPasskeyLogInDocument);
  const [, complete] = useMutation(CompleteLogInDocument);
  const [, sendCode] = useMutation(SendLogInCodeDocument);
  const deviceProof = useDeviceProof();
  const [message, setMessage] = useState<string | null>(null);
  const [ticket, setTicket] = useState<{ ticket: string; passkey: boolean } | null>(null);
  const [slowedDown, setSlowedDown] = useState<string | null>(null); // the login that waits
  const [codeSent, setCodeSent] = useState<string | null>(null);

  async function secondStep(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!ticket) return;
    const code = String(new FormData(event.currentTarget).get("code")).replace(/\s/g, "");
    const payload = (await complete({ ticket: ticket.ticket, code })).data?.completeLogIn;
    if (payload?.__typename === "AuthPayload") return onDone();
    setMessage(payload && "message" in payload ? payload.message : "Something went wrong.");
    if (payload?.__typename === "InvalidCredentials" && payload.message.startsWith("Sign in again")) setTicket(null);
  }

  async function withPasskey() {
    setMessage(null);
    const started = (await startPasskey({})).data?.startPasskeyLogIn;
    if (started?.__typename !== "PasskeyOptionsPayload" || !started.challengeId) {
      setMessage(started ? refusalText(started) : "Passkeys are not available right now.");
      return;
    }
    let credential: string;
    try {
      credential = await answerWithPasskey(started.options);
    } catch (error) {
      setMessage(passkeyFailure(error, "No passkey was used"));
      return;
    }
    const device = await deviceProof();
    const payload = (await finishPasskey({ challengeId: started.challengeId, credential, device })).data?.finishPasskeyLogIn;
    if (payload?.__typename === "AuthPayload") onDone();
    else setMessage(payload && "message" in payload ? payload.message : "Something went wrong.");
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const login = String(form.get("login"));
    setMessage(null);
    const unlockCode = String(form.get("unlockCode") ?? "").replace(/\s/g, "") || null;
    const result = await logIn({
      input: { login, password: String(form.get("password")), device: await deviceProof(), unlockCode },
    });
    const payload = result.data?.logIn;
    if (payload?.__typename === "AuthPayload") onDone();
    else if (payload?.__typename === "SecondFactorRequired") {
      setTicket({ ticket: payload.ticket, passkey: payload.methods.includes("PASSKEY") });
    } else {
      if (payload?.__typename === "RateLimited") setSlowedDown(login);
      setMessage(payload && "message" in payload ? payload.message : "Something went wrong.");
    }
  }

  async function emailMeACode() {
    if (!slowedDown) return;
    const sent = (await sendCode({ login: slowedDown })).data?.sendLogInCode;
    setCodeSent(sent?.__typename === "LogInCodeSentPayload" ? sent.message : (sent?.message ?? "Try again later."));
  }

  if (ticket) {
    return (
      <form onSubmit={secondStep} noValidate aria-label="Second step">
        <p>Open your authenticator app and enter the code for Wallet.</p>
        <Field label="Authenticator code (or a recovery code)" name="code" autoComplete="one-time-code" />
        <FormAlert message={message} />
        <button className="primary" type="submit">Continue</button>
        {ticket.passkey && passkeysSupported() && (
          <button className="secondary" type="button" onClick={() => void withPasskey()}>
            Use a passkey instead
          </button>
        )}
        <button className="link" type="button" onClick={() => { setTicket(null); setMessage(null); }}>
          Back
        </button>
      </form>
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      {notice && <p className="notice" role="status">{notice}</p>}
      <Field label="Email, phone or username" name="login" autoComplete="username" />
      <Field label="Password" name="password" type="password" autoComplete="current-password" />
      {codeSent && <Field label="Sign-in code from your email" name="unlockCode" autoComplete="one-time-code" />}
      <FormAlert message={message} />
      {slowedDown && !codeSent && (
        <p className="muted">
          Sign-in is slowed down after failed attempts. It's you?{" "}
          <button className="link" type="button" onClick={() => void emailMeACode()}>Email me a sign-in code</button>
        </p>
      )}
      {codeSent && <p className="muted" role="status">{codeSent}</p>}
      <button className="primary" type="submit" disabled={fetching}>
        {fetching ? "Logging in…" : "Log in"}
      </button>
      {passkeysSupported() && (
        <button className="secondary" type="button" onClick={() => void withPasskey()}>
          Sign in with a passkey
        </button>
      )}
      <p className="forgot">
        <button className="link" type="button" onClick={onForgot}>Forgot your password?</button>
      </p>
    </form>
  );
}

function SignUpForm({ onDone }: { onDone: () => void }) {
  const [{ fetching }, signUp] = useMutation(SignUpDocument);
  const [{ data: terms }] = useQuery({ query: ReferralTermsDocument, pause: !invitation });
  const deviceProof = useDeviceProof();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [message, setMessage] = useState<string | null>(null);
  const [referralNotice, setReferralNotice] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setErrors({});
    setMessage(null);
    const referralCode = String(form.get("referralCode") ?? "").trim();
    const result = await signUp({
      input: {
        email: String(form.get("email")),
        phone: String(form.get("phone")),
        username: String(form.get("username")),
        password: String(form.get("password")),
        device: await deviceProof(),
        referralCode: referralCode || null,
      },
    });
    const payload = result.data?.signUp;
    if (payload?.__typename === "AuthPayload") {
      // The link did its job; signing out later should not offer it again.
      if (invitation) window.history.replaceState(null, "", window.location.pathname);
      // A code that could not be used never stops the sign-up, but the person is told.
      if (payload.referralNotice) return setReferralNotice(payload.referralNotice);
      return onDone();
    }
    if (payload?.__typename === "ValidationError") {
      const byField: FieldErrors = {};
      for (const e of payload.fieldErrors) (byField[e.field] ??= []).push(e.message);
      setErrors(byField);
      setMessage(payload.message);
    } else {
      setMessage(payload?.message ?? "Something went wrong.");
    }
  }

  if (referralNotice) {
    return (
      <div className="referral-notice">
        <p role="status">{referralNotice}</p>
        <button className="primary" type="button" onClick={onDone}>Go to your wallet</button>
      </div>
    );
  }

  const offer = terms?.referralTerms;
  return (
    <form onSubmit={submit} noValidate>
      {invitation && offer && (
        <p className="invited" data-testid="invitation">
          A friend invited you: you get {formatMoney(offer.referredBonus.amount, offer.referredBonus.currency)} when
          you verify your identity and add, send or pay {formatMoney(offer.minimum.amount, offer.minimum.currency)} or
          more in your first {offer.days} days.
        </p>
      )}
      <Field label="Email" name="email" type="email" autoComplete="email" errors={errors.email} />
      <Field label="Phone" name="phone" type="tel" autoComplete="tel" errors={errors.phone}
             placeholder="+1 415 555 0123" />
      <Field label="Username" name="username" autoComplete="username" errors={errors.username} />
      <Field label="Password" name="password" type="password" autoComplete="new-password"
             errors={errors.password} hint="At least 10 characters, letters and digits." />
      <Field label="Invitation code (optional)" name="referralCode" autoComplete="off"
             defaultValue={invitation ?? undefined} errors={errors.referralCode}
             hint="From a friend's link: you both get a bonus." />
      <FormAlert message={message} />
      <button className="primary" type="submit" disabled={fetching}>
        {fetching ? "Creating…" : "Create wallet"}
      </button>
    </form>
  );
}

interface FieldProps {
  label: string;
  name: string;
  type?: string;
  autoComplete?: string;
  placeholder?: string;
  hint?: string;
  errors?: string[];
  defaultValue?: string;
}

function Field({ label, name, type = "text", autoComplete, placeholder, hint, errors, defaultValue }: FieldProps) {
  const id = `field-${name}`;
  const invalid = Boolean(errors?.length);
  return (
    <div className={`field${invalid ? " invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} type={type} autoComplete={autoComplete} defaultValue={defaultValue}
             placeholder={placeholder} aria-invalid={invalid}
             aria-describedby={invalid ? `${id}-errors` : undefined} />
      {hint && !invalid && <small className="muted">{hint}</small>}
      {invalid && (
        <ul className="field-errors" id={`${id}-errors`}>
          {errors!.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function FormAlert({ message }: { message: string | null }) {
  return message ? (
    <p className="error" role="alert">
      {message}
    </p>
  ) : null;
}
