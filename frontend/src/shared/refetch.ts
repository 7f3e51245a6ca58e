import { useEffect, useRef } from "react";

/**
 * Refetch a query when any of `deps` changes after mount, once per burst of changes.
 *
 * `useQuery` already fetched on mount, so refetching then only sends it twice; and a
 * refetch issued while the previous request is in flight makes urql tear that one down
 * (the browser aborts it). One send announces a balance change and a transaction update
 * milliseconds apart: they settle into a single refetch. `deps` keeps its length.
 */
export function useRefetchOn(deps: readonly unknown[], refetch: () => void, settleMs = 250): void {
  const previous = useRef(deps);
  const latest = useRef(refetch);
  useEffect(() => {
    latest.current = refetch;
  });
  useEffect(() => {
    const changed = deps.some((d, i) => !Object.is(d, previous.current[i]));
    previous.current = deps;
    if (!changed) return;
    const timer = setTimeout(() => latest.current(), settleMs);
    return () => clearTimeout(timer);
  }, [...deps, settleMs]);
}
