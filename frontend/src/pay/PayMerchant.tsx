import { useEffect, useRef, useState, type FormEvent } from "react";
import { useClient, useMutation } from "urql";

import {
  PaymentRequestByReferenceDocument,
  PayPaymentRequestDocument,
  ScanPaymentQrDocument,
  type PayableRequestFieldsFragment,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";

type Detector = { detect: (source: CanvasImageSource) => Promise<{ rawValue: string }[]> };

/** Scan a merchant's QR (camera + BarcodeDetector), tap (Web NFC), or type its code. */
export function PayMerchant({ initialReference }: { initialReference?: string | null }) {
  const client = useClient();
  const [, payRequest] = useMutation(PayPaymentRequestDocument);
  const [request, setRequest] = useState<PayableRequestFieldsFragment | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [scanning, setScanning] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const key = useRef(crypto.randomUUID());

  async function lookUp(codeOrPayload: string) {
    setMessage(null);
    const text = codeOrPayload.trim();
    const found = text.startsWith("000201")
      ? (await client.query(ScanPaymentQrDocument, { payload: text }).toPromise()).data?.scanPaymentQr
      : (await client.query(PaymentRequestByReferenceDocument, { reference: text },
                            { requestPolicy: "network-only" }).toPromise()).data?.paymentRequest;
    if (found) {
      setRequest(found);
      key.current = crypto.randomUUID();
    } else setMessage({ ok: false, text: "That code is not a payment request you can pay." });
  }

  useEffect(() => {
    if (initialReference) void lookUp(initialReference);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [initialReference]);

  async function scan() {
    const BarcodeDetectorCtor = (window as unknown as { BarcodeDetector?: new (o: object) => Detector })
      .BarcodeDetector;
    if (!BarcodeDetectorCtor || !navigator.mediaDevices) {
      setMessage({ ok: false, text: "This browser cannot scan; type the code under the QR instead." });
      return;
    }
    setScanning(true);
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    const element = video.current!;
    element.srcObject = stream;
    await element.play();
    const detector = new BarcodeDetectorCtor({ formats: ["qr_code"] });
    const timer = setInterval(async () => {
      const codes = await detector.detect(element);
      if (codes.length) {
        clearInterval(timer);
        stream.getTracks().forEach((t) => t.stop());
        setScanning(false);
        await lookUp(codes[0].rawValue);
      }
    }, 300);
  }

  async function tap() {
    const Reader = (window as unknown as { NDEFReader?: new () => { scan: () => Promise<void>; onreading: unknown } })
      .NDEFReader;
    if (!Reader) {
      setMessage({ ok: false, text: "NFC is not available here; scan the QR code instead." });
      return;
    }
    const reader = new Reader() as unknown as {
      scan: () => Promise<void>;
      onreading: (e: { message: { records: { recordType: string; data: DataView }[] } }) => void;
    };
    await reader.scan();
    reader.onreading = (event) => {
      const record = event.message.records.find((r) => r.recordType === "url");
      if (record) {
        const url = new TextDecoder().decode(record.data);
        void lookUp(new URL(url).searchParams.get("pay") ?? "");
      }
    };
  }

  async function pay(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!request) return;
    const form = new FormData(event.currentTarget);
    const amount = request.amount ? null : String(form.get("amount") ?? "").replace(/[$,\s]/g, "");
    const result = (await payRequest({
      input: { requestId: request.id, amount, pin: String(form.get("pin")), idempotencyKey: key.current },
    })).data?.payPaymentRequest;
    if (!result) return setMessage({ ok: false, text: "Network problem: press Pay again to retry safely." });
    if (result.__typename === "PayPaymentRequestPayload") {
      const p = result.payment;
      setMessage({ ok: true, text: `Paid ${formatMoney(p.amount, p.currency)} to ${p.merchantName}` });
      if (p.returnUrl) {
        // Online checkout: back to the shop, which also gets the signed webhook.
        const back = new URL(p.returnUrl);
        back.searchParams.set("payment_request", request.id);
        back.searchParams.set("transaction", p.transactionId);
        back.searchParams.set("status", "paid");
        window.location.assign(back.toString());
      }
      setRequest(null);
    } else {
      setMessage({ ok: false, text: result.message });
      if (result.code !== "VALIDATION_ERROR") key.current = crypto.randomUUID();
    }
  }

  return (
    <section className="card send" aria-labelledby="pay-title">
      <h2 id="pay-title">Pay a merchant</h2>
      {!request && (
        <form onSubmit={(e) => { e.preventDefault(); void lookUp(String(new FormData(e.currentTarget).get("code"))); }}>
          <div className="field">
            <label htmlFor="pay-code">Code</label>
            <input id="pay-code" name="code" placeholder="The code under the QR" autoComplete="off" />
          </div>
          <button className="primary" type="submit">Find</button>
          <div className="link-buttons">
            <button type="button" className="link" onClick={scan}>Scan QR</button>
            <button type="button" className="link" onClick={tap}>Tap (NFC)</button>
          </div>
          <video ref={video} hidden={!scanning} className="scanner" muted playsInline />
        </form>
      )}
      {request && (
        <form onSubmit={pay} data-testid="pay-confirm">
          <p className="pay-merchant"><strong>{request.merchantName}</strong></p>
          <p className="pos-amount">{request.amount ? formatMoney(request.amount, request.currency) : ""}</p>
          {request.description && <p className="muted small">{request.description}</p>}
          {!request.amount && (
            <div className="field">
              <label htmlFor="pay-amount">Amount (USD)</label>
              <input id="pay-amount" name="amount" inputMode="decimal" />
            </div>
          )}
          <div className="field">
            <label htmlFor="pay-pin">Transaction PIN</label>
            <input id="pay-pin" name="pin" type="password" inputMode="numeric" autoComplete="off" />
          </div>
          <button className="primary" type="submit">Pay</button>
        </form>
      )}
      {message && <p className={message.ok ? "success" : "error"} role="status">{message.text}</p>}
    </section>
  );
}
