/** Browser side of passkeys: the server's JSON options in, the credential's JSON out. */

type JsonOptions = Record<string, unknown>;
type CredentialStatics = typeof PublicKeyCredential & {
  parseCreationOptionsFromJSON(options: JsonOptions): PublicKeyCredentialCreationOptions;
  parseRequestOptionsFromJSON(options: JsonOptions): PublicKeyCredentialRequestOptions;
};
type JsonCredential = PublicKeyCredential & { toJSON(): unknown };

export function passkeysSupported(): boolean {
  return typeof window.PublicKeyCredential !== "undefined" &&
    "parseCreationOptionsFromJSON" in window.PublicKeyCredential;
}

/** Why the browser made or used no passkey, in words a person can act on. */
export function passkeyFailure(error: unknown, nothing: string): string {
  const name = error instanceof DOMException ? error.name : "";
  if (name === "SecurityError") {
    return `This browser does not allow passkeys on ${window.location.host}: open the wallet at its usual address (in development, http://localhost:${window.location.port || "80"}).`;
  }
  if (name === "NotAllowedError") return `${nothing}: it was cancelled or took too long.`;
  if (name === "InvalidStateError") return "This device already has a passkey for your wallet.";
  return `${nothing}.`;
}

/** Create a passkey with the server's creation options; the answer as JSON text. */
export async function createPasskey(optionsJson: string): Promise<string> {
  const statics = PublicKeyCredential as CredentialStatics;
  const publicKey = statics.parseCreationOptionsFromJSON(JSON.parse(optionsJson));
  const credential = (await navigator.credentials.create({ publicKey })) as JsonCredential | null;
  if (!credential) throw new Error("No passkey was made");
  return JSON.stringify(credential.toJSON());
}

/** Sign the server's challenge with a passkey; the answer as JSON text. */
export async function answerWithPasskey(optionsJson: string): Promise<string> {
  const statics = PublicKeyCredential as CredentialStatics;
  const publicKey = statics.parseRequestOptionsFromJSON(JSON.parse(optionsJson));
  const credential = (await navigator.credentials.get({ publicKey })) as JsonCredential | null;
  if (!credential) throw new Error("No passkey answered");
  return JSON.stringify(credential.toJSON());
}
