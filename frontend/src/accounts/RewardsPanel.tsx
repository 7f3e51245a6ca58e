import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  ApplyReferralCodeDocument,
  RedeemPointsDocument,
  RewardsDocument,
  type ReferralStatus,
  type RewardsQuery,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { useRefetchOn } from "../shared/refetch";

/** Points, tier, streak, badges, cashback by payment, and redeeming points. */
export function RewardsPanel({ refreshKey, onRedeemed }: { refreshKey: number; onRedeemed?: () => void }) {
  const [{ data }, reload] = useQuery({ query: RewardsDocument, requestPolicy: "network-only" });
  // Money moved somewhere (a payment, a refund): rewards may have changed with it.
  useRefetchOn([refreshKey], () => reload({ requestPolicy: "network-only" }));
  const [, redeem] = useMutation(RedeemPointsDocument);
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const key = useRef(crypto.randomUUID());
  const r = data?.rewards;
  if (!r) return <p className="muted">Loading…</p>;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const points = Number(new FormData(formElement).get("points"));
    const payload = (await redeem({ points, idempotencyKey: key.current })).data?.redeemPoints;
    if (payload) key.current = crypto.randomUUID();
    if (payload?.__typename === "RedeemPointsPayload") {
      setMessage({ kind: "success", text: `Redeemed ${payload.points} points for ${formatMoney(payload.amount, "USD")}` });
      formElement.reset();
      reload({ requestPolicy: "network-only" });
      onRedeemed?.();
    } else {
      const text = payload && "fieldErrors" in payload ? payload.fieldErrors.map((e) => e.message).join(" ")
        : payload && "message" in payload ? payload.message : "Network problem: try again.";
      setMessage({ kind: "error", text });
    }
  }

  return (
    <section className="card rewards" aria-labelledby="rewards-title">
      <h2 id="rewards-title">Rewards</h2>
      <div className="reward-head">
        <div>
          <p className="points" data-testid="points">{r.points.toLocaleString()} points</p>
          <p className="muted small">worth {formatMoney(r.pointsValueUsd, "USD")} · 100 points = $1.00</p>
        </div>
        <span className={`tier tier-${r.tier.name}`}>{r.tier.name}</span>
      </div>
      <dl className="details">
        <div><dt>Streak</dt><dd>{r.streakDays} day{r.streakDays === 1 ? "" : "s"}</dd></div>
        <div><dt>Cashback this month</dt><dd data-testid="cashback-month">{formatMoney(r.cashbackThisMonthUsd, "USD")}</dd></div>
        <div><dt>30-day volume</dt><dd>{formatMoney(r.volumeUsd, "USD")}</dd></div>
      </dl>
      {r.nextTier && (
        <p className="muted small">Spend {formatMoney(r.nextTier.minVolumeUsd, "USD")} in 30 days to reach {r.nextTier.name}.</p>
      )}
      <h3>Badges</h3>
      <ul className="badges" aria-label="Badges">
        {r.badges.map((b) => (
          <li key={b.code} className={b.earned ? "earned" : ""}>{b.earned ? "★" : "☆"} {b.name}</li>
        ))}
      </ul>
      <h3>Recent rewards</h3>
      {r.recentAwards.length === 0 && <p className="muted">Pay a merchant to earn points and cashback.</p>}
      <ul className="awards" aria-label="Recent rewards" data-testid="awards">
        {r.recentAwards.map((a) => (
          <li key={a.paymentId}>
            <span>{a.merchant ?? "Payment"}</span>
            <span>
              +{a.points - a.pointsReversed} pts · {formatMoney(a.cashback, a.currency)} back
              {a.cashbackReversed !== "0.00" && a.cashbackReversed !== "0" && ` (${formatMoney(a.cashbackReversed, a.currency)} returned)`}
            </span>
          </li>
        ))}
      </ul>
      <form className="row" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="redeem-points">Points to redeem</label>
          <input id="redeem-points" name="points" inputMode="numeric" placeholder="100" />
        </div>
        <button className="secondary" type="submit">Redeem</button>
      </form>
      {message && <p className={message.kind} role="status">{message.text}</p>}
      <InviteFriends referral={r.referral} onApplied={() => reload({ requestPolicy: "network-only" })} />
      <details>
        <summary>How you earn</summary>
        <ul className="rule-list">
          {r.rules.map((rule) => (
            <li key={rule.name}>
              <strong>{rule.name}</strong>:{" "}
              {rule.kind === "points" ? `${rule.pointsPerUsd} pts per $1` : `${rule.cashbackPercent}% cashback`}
              {rule.category ? ` on ${rule.category}` : ""}
              {rule.capPerPaymentUsd ? `, up to ${formatMoney(rule.capPerPaymentUsd, "USD")} a payment` : ""}
              {rule.capPerMonthUsd ? ` and ${formatMoney(rule.capPerMonthUsd, "USD")} a month` : ""}
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}

const FRIEND_STATUS: Record<ReferralStatus, string> = {
  PENDING: "joined: waiting for their first top-up or payment",
  PAID: "bonus paid",
  NOT_ELIGIBLE: "not eligible for a bonus",
  EXPIRED: "did not qualify in time",
};

type Referral = NonNullable<RewardsQuery["rewards"]>["referral"];

/** Your invitation link and code, the friends who joined with it, and entering a
 * friend's code if you joined without one. */
function InviteFriends({ referral, onApplied }: { referral: Referral; onApplied: () => void }) {
  const [, apply] = useMutation(ApplyReferralCodeDocument);
  const [copied, setCopied] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const link = `${window.location.origin}/?ref=${referral.code}`;
  const t = referral.terms;

  async function copy(input: HTMLInputElement | null) {
    try {
      await navigator.clipboard.writeText(link);
      setCopied("Link copied");
    } catch {
      // No clipboard (plain HTTP, or permission refused): select it for the person.
      input?.select();
      setCopied("Select the link and copy it");
    }
  }

  async function enter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code") ?? "");
    const payload = (await apply({ code })).data?.applyReferralCode;
    if (payload?.__typename === "ApplyReferralCodePayload") {
      setOutcome({ kind: "success", text: `You joined with @${payload.invitedBy}'s invitation.` });
      onApplied();
    } else {
      const text = payload && "fieldErrors" in payload ? payload.fieldErrors.map((e) => e.message).join(" ")
        : payload && "message" in payload ? payload.message : "Network problem: try again.";
      setOutcome({ kind: "error", text });
    }
  }

  return (
    <section className="invite" aria-labelledby="invite-title">
      <h3 id="invite-title">Invite friends</h3>
      <p className="muted small">
        You get {formatMoney(t.referrerBonus.amount, t.referrerBonus.currency)} and your friend{" "}
        {formatMoney(t.referredBonus.amount, t.referredBonus.currency)} once they verify their identity and
        add, send or pay {formatMoney(t.minimum.amount, t.minimum.currency)} or more in their first {t.days} days.
      </p>
      <div className="field">
        <label htmlFor="invite-link">Your invitation link</label>
        <div className="row">
          <input id="invite-link" readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
          <button className="secondary" type="button"
                  onClick={(e) => void copy(e.currentTarget.parentElement?.querySelector("input") ?? null)}>
            Copy link
          </button>
        </div>
        <small className="muted">Code <strong data-testid="referral-code">{referral.code}</strong></small>
        {copied && <small role="status"> · {copied}</small>}
      </div>
      {referral.friends.length > 0 && (
        <ul className="friends" aria-label="Friends you invited">
          {referral.friends.map((f) => (
            <li key={f.username}><strong>@{f.username}</strong> <span className="muted">{FRIEND_STATUS[f.status]}</span></li>
          ))}
        </ul>
      )}
      {referral.invitedBy && <p className="muted small">You joined with @{referral.invitedBy}'s invitation.</p>}
      {referral.canEnterCode && (
        <form className="row" onSubmit={enter} noValidate aria-label="Enter a friend's code">
          <div className="field">
            <label htmlFor="friend-code">Invited by a friend? Their code</label>
            <input id="friend-code" name="code" autoComplete="off" />
          </div>
          <button className="secondary" type="submit">Apply</button>
        </form>
      )}
      {outcome && <p className={outcome.kind} role="status">{outcome.text}</p>}
    </section>
  );
}
