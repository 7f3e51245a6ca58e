import { useEffect, useRef, useState, type ReactNode } from "react";

import { formatDateTime } from "./dates";
import { Avatar } from "./Review";
import "../pay/pay.css";

export type ReceiptLine = { label: string; value: ReactNode; text?: string; testId?: string };

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the old way (no permission, or not a secure page)
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  try {
    return document.execCommand("copy");
  } finally {
    area.remove();
  }
}

/**
 * After money moved: what happened (status), how much, to whom, the reference (the
 * transaction id) and when; Share (the device's share sheet, else copy to the clipboard)
 * and Done.
 */
export function Receipt({
  status, statusText, amount, party, partyLabel = "To", reference, time, lines = [], ok = true, onDone,
}: {
  /** Short: "Sent", "On hold", "Converted". */
  status: string;
  /** The sentence: "Sent $12.50 to @ann". */
  statusText: string;
  amount: string;
  party?: string;
  partyLabel?: string;
  reference: string;
  time: string;
  lines?: ReceiptLine[];
  ok?: boolean;
  onDone: () => void;
}) {
  const [shared, setShared] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const when = formatDateTime(time);
  const text = [
    statusText,
    `Amount: ${amount}`,
    ...(party ? [`${partyLabel}: ${party}`] : []),
    ...lines.filter((l) => l.text ?? typeof l.value === "string").map((l) => `${l.label}: ${l.text ?? l.value}`),
    `Reference: ${reference}`,
    `Time: ${when}`,
  ].join("\n");

  async function share() {
    setShared(null);
    if (typeof navigator.share === "function") {
      try {
        await navigator.share({ title: "Receipt", text });
        return;
      } catch (error) {
        if ((error as DOMException)?.name === "AbortError") return; // they closed the sheet
      }
    }
    setShared((await copyText(text)) ? "Copied" : "Couldn't copy: select the text instead");
  }

  return (
    <div className="receipt" data-testid="receipt">
      <div className={`receipt-mark ${ok ? "ok" : "held"}`} aria-hidden="true">{ok ? "✓" : "…"}</div>
      <h3 ref={heading} tabIndex={-1}>{status}</h3>
      <p className="receipt-amount">{amount}</p>
      <p role="status" className="receipt-status">{statusText}</p>
      <dl className="review-lines">
        {party && (
          <div>
            <dt>{partyLabel}</dt>
            <dd className="receipt-party"><Avatar name={party} /> {party}</dd>
          </div>
        )}
        {lines.map((line) => (
          <div key={line.label} data-testid={line.testId}><dt>{line.label}</dt><dd>{line.value}</dd></div>
        ))}
        <div data-testid="receipt-reference">
          <dt>Reference</dt>
          <dd className="reference">{reference}</dd>
        </div>
        <div><dt>Time</dt><dd><time dateTime={time}>{when}</time></dd></div>
      </dl>
      <div className="review-buttons">
        <button type="button" className="primary" onClick={onDone}>Done</button>
        <button type="button" className="plain" onClick={share}>Share</button>
      </div>
      <p className="muted receipt-shared" aria-live="polite">{shared}</p>
    </div>
  );
}
