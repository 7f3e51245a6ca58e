import { useEffect, useState } from "react";
import { useMutation, useQuery } from "urql";

import {
  NotificationSettingsDocument,
  RegisterPushSubscriptionDocument,
  RemovePushSubscriptionDocument,
  SetLowBalanceAlertDocument,
  SetNotificationPreferenceDocument,
  type NotificationChannel,
  type NotificationKind,
} from "../gql/graphql";
import { useWallet } from "../shell/wallet";
import { InstallApp } from "./InstallApp";
import { base64UrlToBytes, bytesToBase64Url, registerServiceWorker } from "./pwa";
import "./notifications.css";

const KINDS: { kind: NotificationKind; label: string; hint: string }[] = [
  { kind: "MONEY_RECEIVED", label: "Money received", hint: "Someone paid you" },
  { kind: "REQUESTS", label: "Requests", hint: "Someone asks you for money, or pays your request" },
  { kind: "SECURITY", label: "Security alerts", hint: "New sign-ins, password and PIN changes" },
  { kind: "LOW_BALANCE", label: "Low balance", hint: "A balance goes below the amount you set below" },
  { kind: "WEEKLY_SUMMARY", label: "Weekly summary", hint: "What came in and went out last week" },
  { kind: "MARKETING", label: "News and offers", hint: "New features and rewards" },
];
const CHANNELS: { channel: NotificationChannel; label: string }[] = [
  { channel: "IN_APP", label: "In app" },
  { channel: "EMAIL", label: "Email" },
  { channel: "SMS", label: "Text" },
  { channel: "PUSH", label: "Push" },
];

/** Profile › Notifications: what reaches you on which channel, low-balance alerts,
 * push on this browser, and installing the app. */
export default function NotificationPreferences() {
  const [{ data, error }] = useQuery({ query: NotificationSettingsDocument, requestPolicy: "network-only" });
  if (error && !data) return <p className="error" role="alert">We could not load your settings. Check your connection and reload.</p>;
  if (!data) return <p className="muted" role="status">Loading…</p>;
  return (
    <div className="two-columns notification-settings">
      <div className="column-main">
        <PreferenceGrid initial={data.notificationPreferences ?? []} />
        <LowBalanceAlerts initial={data.lowBalanceAlerts ?? []} />
      </div>
      <div className="column-side">
        <PushOnThisDevice vapidPublicKey={data.vapidPublicKey} />
        <InstallApp />
      </div>
    </div>
  );
}

type Preference = { kind: NotificationKind; channel: NotificationChannel; enabled: boolean; locked: boolean };

function PreferenceGrid({ initial }: { initial: Preference[] }) {
  const [preferences, setPreferences] = useState(initial);
  const [message, setMessage] = useState<string | null>(null);
  const [saving, setPreference] = useMutation(SetNotificationPreferenceDocument);
  const find = (kind: NotificationKind, channel: NotificationChannel) =>
    preferences.find((p) => p.kind === kind && p.channel === channel);

  async function toggle(kind: NotificationKind, channel: NotificationChannel, enabled: boolean) {
    setMessage(null);
    const result = await setPreference({ input: { kind, channel, enabled } });
    const answer = result.data?.setNotificationPreference;
    if (answer?.__typename === "NotificationPreferencesPayload") {
      setPreferences(answer.preferences);
      setMessage("Saved.");
    } else if (answer && "message" in answer) {
      setMessage(answer.message);
    } else if (result.error) {
      setMessage("Not saved: we could not reach the wallet service. Try again.");
    }
  }

  return (
    <section className="card" aria-labelledby="prefs-title">
      <h2 id="prefs-title">What reaches you, and how</h2>
      <p className="muted small">Security alerts are always on, everywhere: they are how you hear about a sign-in that was not you.</p>
      <div className="pref-scroll">
        <table className="pref-grid" data-testid="preference-grid">
          <thead>
            <tr>
              <th scope="col"><span className="visually-hidden">Notification</span></th>
              {CHANNELS.map((c) => <th scope="col" key={c.channel}>{c.label}</th>)}
            </tr>
          </thead>
          <tbody>
            {KINDS.map((k) => (
              <tr key={k.kind}>
                <th scope="row">
                  {k.label}
                  <span className="muted small pref-hint">{k.hint}</span>
                  {preferences.some((p) => p.kind === k.kind && p.locked) && (
                    <span className="pref-locked">Always on</span>
                  )}
                </th>
                {CHANNELS.map((c) => {
                  const p = find(k.kind, c.channel);
                  if (!p) return <td key={c.channel} className="muted">—</td>;
                  return (
                    <td key={c.channel}>
                      <input
                        type="checkbox"
                        checked={p.enabled}
                        disabled={p.locked || saving.fetching}
                        aria-label={`${k.label} by ${c.label.toLowerCase()}${p.locked ? " (always on)" : ""}`}
                        data-testid={`pref-${k.kind}-${c.channel}`}
                        onChange={(e) => void toggle(k.kind, c.channel, e.target.checked)}
                      />
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small" role="status" aria-live="polite">{message}</p>
    </section>
  );
}

type Alert = { currency: string; threshold: string; armed: boolean };

function LowBalanceAlerts({ initial }: { initial: Alert[] }) {
  const wallet = useWallet();
  const [alerts, setAlerts] = useState(initial);
  const [message, setMessage] = useState<string | null>(null);
  const [, setAlert] = useMutation(SetLowBalanceAlertDocument);
  const currencies = [...new Set([...wallet.balances.map((b) => b.currency), ...alerts.map((a) => a.currency)])];

  async function save(currency: string, threshold: string | null) {
    setMessage(null);
    const result = await setAlert({ input: { currency, threshold } });
    const answer = result.data?.setLowBalanceAlert;
    if (answer?.__typename === "LowBalanceAlertsPayload") {
      setAlerts(answer.alerts);
      setMessage(threshold ? `We will tell you when your ${currency} balance goes below ${threshold}.` : `No low-balance alert for ${currency}.`);
    } else if (answer && "message" in answer) {
      setMessage(answer.message);
    } else {
      setMessage("Not saved: we could not reach the wallet service. Try again.");
    }
  }

  return (
    <section className="card" aria-labelledby="low-title">
      <h2 id="low-title">Low-balance alerts</h2>
      <p className="muted small">Hear about it when a balance goes below an amount you choose (once, until it is back up).</p>
      {currencies.length === 0 ? (
        <p className="muted small">Add money first: then set an alert for each currency you hold.</p>
      ) : (
        <ul className="low-balance-list">
          {currencies.map((currency) => (
            <LowBalanceRow key={currency} currency={currency}
              alert={alerts.find((a) => a.currency === currency) ?? null} onSave={save} />
          ))}
        </ul>
      )}
      <p className="muted small" role="status" aria-live="polite" data-testid="low-balance-status">{message}</p>
    </section>
  );
}

function LowBalanceRow({ currency, alert, onSave }: {
  currency: string; alert: Alert | null; onSave: (currency: string, threshold: string | null) => Promise<void>;
}) {
  const [value, setValue] = useState(alert?.threshold ?? "");
  useEffect(() => setValue(alert?.threshold ?? ""), [alert?.threshold]);
  return (
    <li>
      <form className="low-balance-row" onSubmit={(e) => { e.preventDefault(); void onSave(currency, value.trim() || null); }}>
        <label htmlFor={`low-${currency}`}>{currency} below</label>
        <input id={`low-${currency}`} inputMode="decimal" placeholder="e.g. 20.00" value={value}
          onChange={(e) => setValue(e.target.value)} />
        <button type="submit" className="small-primary">Save</button>
        {alert && (
          <button type="button" className="link" onClick={() => { setValue(""); void onSave(currency, null); }}>
            Remove
          </button>
        )}
      </form>
    </li>
  );
}

type PushState = "unsupported" | "checking" | "off" | "on" | "denied" | "working";

function PushOnThisDevice({ vapidPublicKey }: { vapidPublicKey: string }) {
  const [state, setState] = useState<PushState>("checking");
  const [message, setMessage] = useState<string | null>(null);
  const [, register] = useMutation(RegisterPushSubscriptionDocument);
  const [, remove] = useMutation(RemovePushSubscriptionDocument);

  useEffect(() => {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      setState("unsupported");
      return;
    }
    let cancelled = false;
    void (async () => {
      const registration = await registerServiceWorker();
      const existing = await registration?.pushManager.getSubscription().catch(() => null);
      if (cancelled) return;
      if (Notification.permission === "denied") setState("denied");
      else setState(existing ? "on" : "off");
    })();
    return () => { cancelled = true; };
  }, []);

  async function turnOn() {
    setMessage(null);
    setState("working");
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        setState(permission === "denied" ? "denied" : "off");
        return;
      }
      const registration = (await registerServiceWorker()) && (await navigator.serviceWorker.ready);
      if (!registration) throw new Error("no service worker");
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: base64UrlToBytes(vapidPublicKey),
      });
      const result = await register({
        input: {
          endpoint: subscription.endpoint,
          p256dh: bytesToBase64Url(subscription.getKey("p256dh")),
          auth: bytesToBase64Url(subscription.getKey("auth")),
        },
      });
      const answer = result.data?.registerPushSubscription;
      if (answer?.__typename === "PushSubscriptionPayload") {
        setState("on");
        setMessage("Push is on for this browser.");
      } else {
        await subscription.unsubscribe().catch(() => undefined);
        setState("off");
        setMessage(answer && "message" in answer ? answer.message : "Push could not be turned on. Try again.");
      }
    } catch {
      setState("off");
      setMessage("This browser could not subscribe to push notifications. Try again later.");
    }
  }

  async function turnOff() {
    setMessage(null);
    setState("working");
    const registration = await registerServiceWorker();
    const subscription = await registration?.pushManager.getSubscription().catch(() => null);
    if (subscription) {
      await remove({ endpoint: subscription.endpoint });
      await subscription.unsubscribe().catch(() => undefined);
    }
    setState("off");
    setMessage("Push is off for this browser.");
  }

  return (
    <section className="card" aria-labelledby="push-title">
      <h2 id="push-title">Push on this device</h2>
      {state === "unsupported" ? (
        <p className="muted small">This browser cannot show push notifications. Email and in-app notifications still reach you.</p>
      ) : state === "denied" ? (
        <p className="muted small">Notifications are blocked for this site. Allow them in your browser's site settings, then come back.</p>
      ) : (
        <>
          <p className="muted small">
            {state === "on"
              ? "This browser shows notifications you send by push, even when the wallet is closed."
              : "See payments and alerts on this device even when the wallet is closed."}
          </p>
          {state === "on" ? (
            <button className="secondary" onClick={turnOff}>Turn off push</button>
          ) : (
            <button className="small-primary" onClick={turnOn} disabled={state !== "off"}>
              {state === "working" ? "Turning on…" : state === "checking" ? "Checking…" : "Turn on push"}
            </button>
          )}
        </>
      )}
      <p className="muted small" role="status" aria-live="polite" data-testid="push-status">{message}</p>
    </section>
  );
}
