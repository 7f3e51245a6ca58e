import { useEffect, useRef, useState } from "react";
import { useClient } from "urql";

import {
  PaymentRequestByReferenceDocument,
  ScanPaymentQrDocument,
  type PayableRequestFieldsFragment,
} from "../gql/graphql";
import { useWallet } from "../shell/wallet";
import { NOT_A_PAYMENT, nfcErrorText, nfcSupported, referenceFromPayUrl, scanPayTags } from "./nfc";
import { MerchantReview, type Paid } from "./scan/MerchantReview";
import { QrScanner } from "./scan/QrScanner";
import { Receipt } from "./scan/Receipt";
import "./scan.css";

type Notice = { ok: boolean; text: string };

/**
 * Pay a shop: tap its NFC tag (Web NFC), scan its QR (camera), or type the code under
 * the QR. Whatever way, all it gives is a reference: the request is read from the
 * server, reviewed (merchant, amount, balance after, budget) and paid with the PIN, and
 * the payment ends on a receipt.
 */
export function PayMerchant({ initialReference }: { initialReference?: string | null }) {
  const client = useClient();
  const wallet = useWallet();
  const [request, setRequest] = useState<PayableRequestFieldsFragment | null>(null);
  const [paid, setPaid] = useState<{ payment: Paid; reference: string } | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [scanning, setScanning] = useState(false);
  const [tapping, setTapping] = useState(false);
  const nfc = useRef<AbortController | null>(null);
  const canTap = nfcSupported();

  function stopTapping() {
    nfc.current?.abort();
    nfc.current = null;
    setTapping(false);
  }
  useEffect(() => () => nfc.current?.abort(), []);

  async function lookUp(codeOrPayload: string) {
    setNotice(null);
    const text = codeOrPayload.trim();
    if (!text) return setNotice({ ok: false, text: "Type the code under the QR, or scan it." });
    let found: PayableRequestFieldsFragment | null | undefined;
    if (text.startsWith("000201")) {
      // An EMVCo merchant-presented QR (the till's own code).
      found = (await client.query(ScanPaymentQrDocument, { payload: text },
                                  { requestPolicy: "network-only" }).toPromise()).data?.scanPaymentQr;
    } else {
      // A pay link (a QR of the payUrl, a link in a chat) or the typed code.
      const reference = /^https?:/i.test(text) ? referenceFromPayUrl(text) : text;
      if (!reference) return setNotice({ ok: false, text: "That code is not a payment request you can pay." });
      found = (await client.query(PaymentRequestByReferenceDocument, { reference },
                                  { requestPolicy: "network-only" }).toPromise()).data?.paymentRequest;
    }
    if (found) {
      setPaid(null);
      setRequest(found);
    } else setNotice({ ok: false, text: "That code is not a payment request you can pay." });
  }

  useEffect(() => {
    if (initialReference) void lookUp(initialReference);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [initialReference]);

  async function tap() {
    setNotice(null);
    setScanning(false);
    if (!canTap) return setNotice({ ok: false, text: "NFC is not available here; scan the QR code instead." });
    stopTapping();
    const controller = new AbortController();
    nfc.current = controller;
    setTapping(true);
    try {
      await scanPayTags((reference) => {
        if (!reference) return setNotice({ ok: false, text: NOT_A_PAYMENT });
        stopTapping();
        void lookUp(reference);
      }, () => setNotice({ ok: false, text: "That tag could not be read. Hold it still and try again." }),
      controller.signal);
    } catch (error) {
      if (controller.signal.aborted) return;
      stopTapping();
      setNotice({ ok: false, text: nfcErrorText(error) });
    }
  }

  function onPaid(payment: Paid) {
    const reference = request!.id;
    wallet.bump();
    if (payment.returnUrl) {
      // Online checkout: back to the shop, which also gets the signed webhook.
      const back = new URL(payment.returnUrl);
      back.searchParams.set("payment_request", reference);
      back.searchParams.set("transaction", payment.transactionId);
      back.searchParams.set("status", "paid");
      window.location.assign(back.toString());
    }
    setRequest(null);
    setPaid({ payment, reference });
    setNotice(null);
  }

  const available = request
    ? wallet.balances.find((b) => b.currency === request.currency)?.available ?? null
    : null;
  const finding = !request && !paid;
  return (
    <section className="card send pay-merchant-card" aria-labelledby="pay-title">
      <h2 id="pay-title">Pay a merchant</h2>
      {finding && (
        <>
          <div className="pay-ways">
            <button type="button" className="pay-way" onClick={tap} aria-pressed={tapping}
                    disabled={!canTap}>
              <NfcIcon />
              Tap to pay
            </button>
            <button type="button" className="pay-way" aria-pressed={scanning}
                    onClick={() => { stopTapping(); setNotice(null); setScanning(true); }}>
              <QrIcon />
              Scan QR
            </button>
          </div>
          {!canTap && (
            <p className="muted small" data-testid="nfc-unsupported">
              This browser has no NFC (only Chrome on Android does): scan the shop's QR code or type its code.
            </p>
          )}
          {tapping && (
            <div className="nfc-waiting" role="status" data-testid="nfc-waiting">
              <span className="nfc-pulse" aria-hidden="true" />
              <span className="nfc-waiting-text">Hold the top of your phone to the shop's NFC tag…</span>
              <button type="button" className="link" onClick={stopTapping}>Stop</button>
            </div>
          )}
          {scanning && (
            <QrScanner onScanned={(text) => { setScanning(false); void lookUp(text); }}
                       onCancel={() => setScanning(false)} />
          )}
          <form className="pay-code"
                onSubmit={(e) => { e.preventDefault(); void lookUp(String(new FormData(e.currentTarget).get("code"))); }}>
            <div className="field">
              <label htmlFor="pay-code">Code</label>
              <input id="pay-code" name="code" placeholder="The code under the QR" autoComplete="off" />
            </div>
            <button className="primary" type="submit">Find</button>
          </form>
        </>
      )}
      {request && (
        <MerchantReview key={request.id} request={request} available={available} onPaid={onPaid}
                        onCancel={() => setRequest(null)} />
      )}
      {paid && (
        <Receipt payment={paid.payment} reference={paid.reference}
                 onDone={() => { setPaid(null); setNotice(null); }} />
      )}
      {/* The receipt says it was paid: the notice is for finding a request. */}
      {notice && !paid && <p className={notice.ok ? "success" : "error"} role="status">{notice.text}</p>}
    </section>
  );
}

function NfcIcon() {
  return (
    <svg className="pay-way-icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"
         fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round">
      <path d="M6 8.5a5 5 0 0 1 0 7" />
      <path d="M9.5 6a8.5 8.5 0 0 1 0 12" />
      <path d="M13 3.5a12 12 0 0 1 0 17" />
    </svg>
  );
}

function QrIcon() {
  return (
    <svg className="pay-way-icon" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"
         fill="none" stroke="currentColor" strokeWidth="2">
      <rect x="3" y="3" width="7" height="7" rx="1" />
      <rect x="14" y="3" width="7" height="7" rx="1" />
      <rect x="3" y="14" width="7" height="7" rx="1" />
      <path d="M14 14h3v3h-3zM20 14v.01M14 20h.01M17 20h4v-3" />
    </svg>
  );
}
