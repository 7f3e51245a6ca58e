/**
 * This browser's device key: a P-256 key pair made with WebCrypto whose private half is
 * non-extractable (the page can sign with it, never read it), kept in IndexedDB. At
 * sign-in the app signs the server's one-time challenge with it, so the server knows
 * this device by its key, not by a User-Agent anyone can copy (docs/security.md).
 */
const DB_NAME = "wallet-device";
const STORE = "keys";
const KEY_ID = "device";

export type DeviceProof = { publicKey: string; challengeId: string; signature: string };

function b64url(bytes: ArrayBuffer): string {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function openStore(): Promise<IDBDatabase> {
  const opening = indexedDB.open(DB_NAME, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
  return request(opening);
}

async function keyPair(): Promise<CryptoKeyPair> {
  const db = await openStore();
  try {
    const found = (await request(db.transaction(STORE).objectStore(STORE).get(KEY_ID))) as
      | CryptoKeyPair
      | undefined;
    if (found) return found;
    const made = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-256" },
      false, // the private key can never be exported
      ["sign", "verify"],
    );
    await request(db.transaction(STORE, "readwrite").objectStore(STORE).put(made, KEY_ID));
    return made;
  } finally {
    db.close();
  }
}

/** Whether this browser can hold a device key (secure context, WebCrypto, IndexedDB). */
export function deviceKeysSupported(): boolean {
  return typeof indexedDB !== "undefined" && Boolean(globalThis.crypto?.subtle);
}

/** Sign the server's challenge with this device's key; null where that is not possible. */
export async function proveDevice(challenge: { challengeId: string; nonce: string }): Promise<DeviceProof | null> {
  if (!deviceKeysSupported()) return null;
  try {
    const keys = await keyPair();
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" }, keys.privateKey, fromB64url(challenge.nonce),
    );
    const spki = await crypto.subtle.exportKey("spki", keys.publicKey);
    return { publicKey: b64url(spki), challengeId: challenge.challengeId, signature: b64url(signature) };
  } catch {
    return null; // e.g. private browsing without IndexedDB: sign in as a new device
  }
}
