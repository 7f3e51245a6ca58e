// Web NFC for paying at the counter (docs/nfc.md): the till writes the request's pay link
// to a sticker, the payer's phone reads it back. Chrome on Android only: everywhere else
// `NDEFReader` is missing and the till shows the QR code, the payer the camera scanner.
// A tag is untrusted input: all it may give is a reference, which the server looks up.

type NdefRecord = { recordType: string; data?: DataView | null; encoding?: string | null };
export type NdefReadingEvent = Event & { message: { records: NdefRecord[] } };
type NdefReader = EventTarget & {
  scan: (options?: { signal?: AbortSignal }) => Promise<void>;
  write: (message: { records: { recordType: string; data: string }[] },
          options?: { signal?: AbortSignal; overwrite?: boolean }) => Promise<void>;
};
type NdefReaderCtor = new () => NdefReader;

/** A payment request's reference: 20 characters of Crockford base 32. */
export const REFERENCE = /^[0-9A-HJKMNP-TV-Z]{20}$/;

export const NOT_A_PAYMENT = "This tag is not a payment";

function readerClass(): NdefReaderCtor | undefined {
  return (window as unknown as { NDEFReader?: NdefReaderCtor }).NDEFReader;
}

/** Whether this browser has Web NFC at all (it may still be switched off or refused). */
export function nfcSupported(): boolean {
  return typeof window !== "undefined" && "NDEFReader" in window;
}

/** The reference in a pay link (`https://host/?pay=REF`), or null for anything else. */
export function referenceFromPayUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  const pay = url.searchParams.get("pay");
  if (pay === null) return null;
  // The grouped form under the QR ("7KD2-M9QX-…") and lower case are the same reference.
  const reference = pay.replace(/-/g, "").toUpperCase();
  return REFERENCE.test(reference) ? reference : null;
}

/** The reference on a tag: its first url record's pay link, else null. */
export function referenceFromReading(event: NdefReadingEvent): string | null {
  const record = event.message?.records?.find((r) => r.recordType === "url");
  if (!record?.data) return null;
  try {
    const text = new TextDecoder(record.encoding || "utf-8", { fatal: true }).decode(record.data);
    return referenceFromPayUrl(text);
  } catch {
    return null;
  }
}

/** What went wrong with NFC, in plain words (the DOMException names Web NFC uses). */
export function nfcErrorText(error: unknown): string {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  switch (name) {
    case "NotAllowedError":
      return "NFC permission was refused. Allow NFC for this site in the browser's settings and try again.";
    case "NotSupportedError":
      return "NFC is switched off or this device has no NFC reader. Switch NFC on in the phone's settings.";
    case "NotReadableError":
      return "NFC is busy or switched off. Switch NFC on and try again.";
    case "NetworkError":
      return "The tag moved away before it was done. Hold it still against the phone and try again.";
    case "AbortError":
      return "Stopped.";
    case "InvalidStateError":
      return "NFC works only while this page is open and in front. Try again.";
    default:
      return "NFC did not work here. Try again, or use the QR code.";
  }
}

/** Write a pay link to the next tag held to the phone (resolves once it is written). */
export async function writePayTag(payUrl: string, signal?: AbortSignal): Promise<void> {
  const Reader = readerClass();
  if (!Reader) throw new DOMException("Web NFC is not available", "NotSupportedError");
  await new Reader().write({ records: [{ recordType: "url", data: payUrl }] }, { signal, overwrite: true });
}

/**
 * Listen for tags until `signal` aborts: each tag read goes to `onTag` with its reference,
 * or null when it is not a payment (`onUnreadable`: a tag that could not be read at all).
 * Resolves once scanning has started.
 */
export async function scanPayTags(
  onTag: (reference: string | null) => void, onUnreadable: () => void, signal: AbortSignal,
): Promise<void> {
  const Reader = readerClass();
  if (!Reader) throw new DOMException("Web NFC is not available", "NotSupportedError");
  const reader = new Reader();
  reader.addEventListener("reading", (event) => {
    if (!signal.aborted) onTag(referenceFromReading(event as NdefReadingEvent));
  }, { signal });
  reader.addEventListener("readingerror", () => {
    if (!signal.aborted) onUnreadable();
  }, { signal });
  await reader.scan({ signal });
}
