import { useEffect } from "react";
import { useQuery } from "urql";

import { DevInboxDocument } from "../gql/graphql";

/** Development only (`/dev/inbox`): the emails and texts the app sent, newest first, with
 * their codes, so you can confirm an email or reset a password without a real mailbox.
 * The API refuses it in production. */
export function DevInbox() {
  const [{ data, error, fetching }, reload] = useQuery({
    query: DevInboxDocument,
    variables: { to: null },
    requestPolicy: "network-only",
  });
  useEffect(() => {
    const timer = window.setInterval(() => reload({ requestPolicy: "network-only" }), 3000);
    return () => window.clearInterval(timer);
  }, [reload]);
  const messages = data?.devInbox ?? [];

  return (
    <section className="card inbox" aria-labelledby="inbox-title">
      <h1 id="inbox-title">Inbox (development)</h1>
      <p className="muted">
        Every email and text the wallet sent lately. Nothing here left this machine.{" "}
        <a href="/">Back to the wallet</a>
      </p>
      <button className="secondary" type="button" onClick={() => reload({ requestPolicy: "network-only" })}>
        Refresh
      </button>
      {error ? (
        <p className="error" role="alert">
          {error.graphQLErrors[0]?.message ?? "The inbox could not be read."}
        </p>
      ) : fetching && !data ? (
        <p className="muted" role="status">Loading…</p>
      ) : messages.length === 0 ? (
        <p className="muted" role="status">Nothing sent yet.</p>
      ) : (
        <ul className="list inbox-list" aria-label="Messages">
          {messages.map((m) => (
            <li key={m.id} className="inbox-message">
              <div className="inbox-head">
                <span className="badge">{m.channel === "EMAIL" ? "Email" : "Text"}</span>
                <strong className="inbox-to">{m.to}</strong>
                <time className="muted" dateTime={m.sentAt}>{new Date(m.sentAt).toLocaleString()}</time>
              </div>
              {m.subject && <div className="inbox-subject">{m.subject}</div>}
              {m.code && (
                <div className="inbox-code">
                  Code <output aria-label={`Code for ${m.to}`}>{m.code}</output>
                </div>
              )}
              <pre className="inbox-body">{m.body}</pre>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
