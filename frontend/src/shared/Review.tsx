import { useEffect, useRef, type ReactNode } from "react";
import { useQuery } from "urql";

import { WalletActionsDocument, type WalletActionName } from "../gql/graphql";
import "../pay/pay.css";

/** Two letters for an avatar: "@ann_lee" → "AL", "bob" → "BO", "ann@example.com" → "A",
 * a phone number → "#". */
export function initials(name: string): string {
  const plain = name.replace(/^@/, "");
  if (/^\+?[\d\s()-]+$/.test(plain)) return "#";
  if (plain.includes("@")) return plain[0].toUpperCase();
  const words = plain.split(/[\s_.-]+/).filter((w) => /[a-z]/i.test(w));
  if (words.length >= 2) return (words[0][0] + words[1][0]).toUpperCase();
  return (words[0] ?? plain).replace(/[^a-z]/gi, "").slice(0, 2).toUpperCase() || "?";
}

export function Avatar({ name }: { name: string }) {
  return <span className="avatar" aria-hidden="true">{initials(name)}</span>;
}

export type ReviewLine = { label: string; value: ReactNode; testId?: string; strong?: boolean };

/**
 * What is about to happen, before any money moves: who (name and avatar), then each line
 * (amount, fee, rate, what they get, when, the balance after), then Confirm and Cancel.
 * While confirming, the Confirm button says what is happening ("Sending…").
 */
export function Review({
  title, party, partyLabel = "To", lines, confirmLabel, busyLabel, busy, blocked = false, error, note, onConfirm,
  onCancel, children, testId = "review",
}: {
  title: string;
  party?: { name: string; detail?: string };
  partyLabel?: string;
  lines: ReviewLine[];
  confirmLabel: string;
  busyLabel: string;
  busy: boolean;
  /** Confirm waits for something else (a second-factor prompt): disabled, same label. */
  blocked?: boolean;
  error?: string | null;
  note?: ReactNode;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ReactNode;
  testId?: string;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Focus moves to the review, so that a screen reader reads what is being confirmed.
  useEffect(() => heading.current?.focus(), []);
  return (
    <div className="review" data-testid={testId} aria-busy={busy}>
      <h3 ref={heading} tabIndex={-1}>{title}</h3>
      {party && (
        <div className="review-party" data-testid="review-recipient">
          <Avatar name={party.name} />
          <div>
            <span className="review-party-label">{partyLabel}</span>
            <strong>{party.name}</strong>
            {party.detail && <span className="muted">{party.detail}</span>}
          </div>
        </div>
      )}
      <dl className="review-lines">
        {lines.map((line) => (
          <div key={line.label} className={line.strong ? "strong" : undefined} data-testid={line.testId}>
            <dt>{line.label}</dt>
            <dd>{line.value}</dd>
          </div>
        ))}
      </dl>
      {children}
      {note && <p className="muted review-note">{note}</p>}
      {error && <p className="error" role="status">{error}</p>}
      <div className="review-buttons">
        <button type="button" className="primary" onClick={onConfirm} disabled={busy || blocked}>
          {busy ? busyLabel : confirmLabel}
        </button>
        <button type="button" className="plain" onClick={onCancel} disabled={busy}>Cancel</button>
      </div>
    </div>
  );
}

export type ActionGate = { allowed: boolean; reason: string | null };

/** Whether the wallet may do `action` now, and why not (Wallet.actions). Unknown until
 * loaded: allowed (the command still decides). */
export function useWalletAction(action: WalletActionName): ActionGate {
  const [{ data }] = useQuery({ query: WalletActionsDocument, requestPolicy: "cache-and-network" });
  const found = data?.wallet?.actions.find((a) => a.action === action);
  return { allowed: found?.allowed ?? true, reason: found?.allowed ? null : found?.reason ?? null };
}

/** The reason an action is not possible, shown at its button (give the button
 * aria-describedby={id}). */
export function BlockedReason({ id, gate }: { id: string; gate: ActionGate }) {
  if (gate.allowed) return null;
  return <p id={id} className="blocked-reason" data-testid="blocked-reason">{gate.reason ?? "Not possible right now."}</p>;
}
