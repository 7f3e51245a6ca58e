import { useEffect } from "react";
import { Link } from "react-router";
import { useQuery } from "urql";

import { OnboardingDocument } from "../gql/graphql";
import "./home.css";

/** A new user's first steps, each with what it unlocks and a link to where it is done;
 * gone once every step is done. Looks again whenever money moved (adding money is a step). */
export function OnboardingChecklist({ refreshKey }: { refreshKey: number }) {
  const [{ data }, refetch] = useQuery({ query: OnboardingDocument, requestPolicy: "cache-and-network" });
  useEffect(() => {
    if (refreshKey > 0) refetch({ requestPolicy: "network-only" });
  }, [refreshKey, refetch]);

  const checklist = data?.onboarding;
  if (!checklist || checklist.complete) return null;
  const total = checklist.items.length;
  const next = checklist.items.find((i) => !i.done);
  return (
    <section className="card onboarding" aria-labelledby="onboarding-title" data-testid="onboarding">
      <div className="card-title-row">
        <h2 id="onboarding-title">Get started</h2>
        <span className="muted small" data-testid="onboarding-progress">{checklist.done} of {total} done</span>
      </div>
      <div className="onboarding-bar" role="progressbar" aria-label="Steps done"
           aria-valuemin={0} aria-valuemax={total} aria-valuenow={checklist.done}>
        <span style={{ width: `${total ? (100 * checklist.done) / total : 0}%` }} />
      </div>
      <ol className="onboarding-steps">
        {checklist.items.map((item) => (
          <li key={item.step} className={item.done ? "done" : next === item ? "next" : ""} data-testid={`onboarding-${item.step}`}
              data-done={item.done}>
            <span className="step-mark" aria-hidden="true">{item.done ? "✓" : ""}</span>
            <div>
              {item.done ? (
                <span className="step-title">{item.title}<span className="visually-hidden"> (done)</span></span>
              ) : (
                <Link className="step-title" to={item.path}>{item.title}</Link>
              )}
              <p className="muted small">{item.unlocks}</p>
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
