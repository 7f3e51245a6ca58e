import { useEffect, useRef, useState } from "react";

type Detector = { detect: (source: CanvasImageSource) => Promise<{ rawValue: string }[]> };
type DetectorCtor = new (options: { formats: string[] }) => Detector;

/** Stops whatever is reading the camera's frames. */
type Stop = () => void;

/**
 * Frames from the camera's video to a QR decoder, until one decodes.
 *
 * Where the browser has a native `BarcodeDetector` (Chrome on Android, macOS, ChromeOS),
 * that. Elsewhere (desktop Chromium on Linux and Windows, Firefox, Safari before 17) the
 * frames go to ZXing's browser layer, `@zxing/browser` (with `@zxing/library`): it is
 * maintained (0.2.x released in 2026), typed, decodes straight from the <video> element,
 * and reads damaged or small codes well (ZXing's binariser and error correction). It is
 * loaded only when needed (a dynamic import: a payer who never scans, or whose browser
 * has BarcodeDetector, never downloads it). The alternatives are no longer maintained:
 * `jsqr` (1.4.0) and `qr-scanner` (1.4.2, itself built on a jsQR fork) have had no
 * release for years, and jsqr needs every frame copied to a canvas by hand.
 */
async function startDecoding(video: HTMLVideoElement, onText: (text: string) => void): Promise<Stop> {
  const Native = (window as unknown as { BarcodeDetector?: DetectorCtor }).BarcodeDetector;
  if (Native) {
    const detector = new Native({ formats: ["qr_code"] });
    let busy = false;
    const timer = window.setInterval(async () => {
      if (busy || video.readyState < 2) return;
      busy = true;
      try {
        const codes = await detector.detect(video);
        if (codes.length) onText(codes[0].rawValue);
      } catch {
        // A frame that could not be read: try the next one.
      } finally {
        busy = false;
      }
    }, 250);
    return () => window.clearInterval(timer);
  }
  const { BrowserQRCodeReader } = await import("@zxing/browser");
  const reader = new BrowserQRCodeReader(undefined, { delayBetweenScanAttempts: 200 });
  const controls = await reader.decodeFromVideoElement(video, (result: { getText(): string } | undefined) => {
    if (result) onText(result.getText());
  });
  return () => controls.stop();
}

/** The camera's picture and a QR decoder on it; `onScanned` gets the first code read. */
export function QrScanner({ onScanned, onCancel }: {
  onScanned: (text: string) => void; onCancel: () => void;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [looking, setLooking] = useState(false);
  const scanned = useRef(onScanned);
  scanned.current = onScanned;

  useEffect(() => {
    let stream: MediaStream | null = null;
    let stop: Stop | null = null;
    let over = false;
    const finish = () => {
      over = true;
      stop?.();
      stream?.getTracks().forEach((t) => t.stop());
    };
    (async () => {
      if (!navigator.mediaDevices?.getUserMedia) {
        setProblem("This browser cannot use the camera here; type the code under the QR instead.");
        return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      } catch (error) {
        const name = error instanceof DOMException ? error.name : "";
        setProblem(name === "NotAllowedError"
          ? "Camera permission was refused. Allow the camera for this site, or type the code under the QR."
          : "No camera could be opened. Type the code under the QR instead.");
        return;
      }
      if (over) return finish();
      const element = video.current!;
      element.srcObject = stream;
      await element.play().catch(() => undefined);
      if (over) return finish();
      setLooking(true);
      stop = await startDecoding(element, (text) => {
        if (over) return;
        finish();
        scanned.current(text);
      });
      if (over) stop();
    })().catch(() => setProblem("The camera stopped. Try again, or type the code under the QR."));
    return finish;
  }, []);

  return (
    <div className="qr-scanner" data-testid="qr-scanner">
      <div className="qr-scanner-frame">
        <video ref={video} muted playsInline aria-label="Camera" />
        {looking && <span className="qr-scanner-target" aria-hidden="true" />}
      </div>
      <p className="muted small" role="status">
        {problem ?? (looking ? "Point the camera at the shop's QR code." : "Opening the camera…")}
      </p>
      <button type="button" className="link" onClick={onCancel}>Stop scanning</button>
    </div>
  );
}
