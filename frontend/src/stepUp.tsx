import { useState, type ReactNode } from "react";

import type { StepUpMethod } from "./gql/graphql";
import { StepUpPrompt } from "./SecurityPanel";

type Pending = { methods: StepUpMethod[]; retry: () => void; cancel?: () => void };

export type StepUp = {
  /** Ask for the second factor; once confirmed, `retry` runs the same action again (same
   * idempotency key); cancelled, `cancel` runs (e.g. a fresh key for the next attempt). */
  ask: (methods: StepUpMethod[], retry: () => void, cancel?: () => void) => void;
  /** The prompt while one is open: render it outside any form (forms cannot nest). */
  prompt: ReactNode;
  waiting: boolean;
};

/** The second-factor prompt for actions the API answers with StepUpRequired. */
export function useStepUp(why: string): StepUp {
  const [pending, setPending] = useState<Pending | null>(null);
  const prompt = pending && (
    <StepUpPrompt methods={pending.methods} why={why}
                  onConfirmed={() => { setPending(null); pending.retry(); }}
                  onCancel={() => { setPending(null); pending.cancel?.(); }} />
  );
  return {
    ask: (methods, retry, cancel) => setPending({ methods, retry, cancel }),
    prompt,
    waiting: pending !== null,
  };
}
