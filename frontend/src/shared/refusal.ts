/** A typed refusal from a mutation's result union (any member with a message). */
export type Refusal = { __typename: string; message?: string; fieldErrors?: { message: string }[] };

/** What to tell the person: the field messages, else the error's message. */
export function refusalText(payload: Refusal | null | undefined): string {
  if (!payload) return "Network problem: try again.";
  return payload.fieldErrors?.map((e) => e.message).join(" ") || payload.message || "That did not work";
}
