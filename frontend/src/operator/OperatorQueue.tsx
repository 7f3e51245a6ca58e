import type { FormEvent, ReactNode } from "react";

/** Which submit button sent the form (a form with several actions gives each a value). */
export function pressed(event: FormEvent<HTMLFormElement>): string | undefined {
  const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
  return submitter?.value;
}

/**
 * An operator's queue: a card with its title, one list item per case (or what to say when
 * there is none) and the outcome of the last action taken on it.
 */
export function OperatorQueue<Item>({ id, title, empty = "Nothing waiting.", testId, items, message, children }: {
  id: string; title: string; empty?: string; testId: string; items: Item[]; message: string | null;
  children: (item: Item) => ReactNode;
}) {
  return (
    <section className="card send" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {items.length === 0 && <p className="muted">{empty}</p>}
      <ul className="requests" data-testid={testId}>{items.map(children)}</ul>
      {message && <p className="muted" role="status">{message}</p>}
    </section>
  );
}
