/**
 * Client-side tokenisation: card and bank details go from the browser straight to the
 * payment gateway's tokeniser (where `paymentGateway` says), never to the wallet's API,
 * which only ever receives the token. This is what a processor's JS library does.
 */

export type Gateway = { tokenizeUrl: string; publishableKey: string };

export type CardDetails = { number: string; exp_month: number; exp_year: number; cvc: string };
export type BankDetails = { routing_number: string; account_number: string; account_holder_name: string };

export type Tokenized = { token: string } | { error: string };

export async function tokenize(
  gateway: Gateway,
  details: { card: CardDetails } | { bank_account: BankDetails },
): Promise<Tokenized> {
  let response: Response;
  try {
    response = await fetch(gateway.tokenizeUrl, {
      method: "POST",
      // No cookies: the gateway is another site and needs none of ours.
      credentials: "omit",
      headers: { "content-type": "application/json", authorization: `Bearer ${gateway.publishableKey}` },
      body: JSON.stringify(details),
    });
  } catch {
    return { error: "Could not reach the payment gateway: try again." };
  }
  const body = (await response.json().catch(() => null)) as
    | { id?: string; error?: { message?: string } }
    | null;
  if (response.ok && body?.id) return { token: body.id };
  return { error: body?.error?.message ?? "The payment gateway refused these details." };
}
