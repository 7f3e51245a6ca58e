import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import {
  AddBankAccountDocument,
  AddCardDocument,
  AddMoneyDocument,
  PaymentGatewayDocument,
  PaymentMethodsDocument,
  WithdrawDocument,
  type PaymentMethodFieldsFragment,
} from "../gql/graphql";
import { formatMoney } from "../shared/money";
import { refusalText } from "../shared/refusal";
import { BlockedReason, useWalletAction } from "../shared/Review";
import { useStepUp } from "../shared/stepUp";
import { tokenize } from "../shared/tokenize";

type Outcome = { kind: "ok" | "refused"; text: string } | null;

function methodLabel(m: PaymentMethodFieldsFragment): string {
  const expiry = m.expMonth ? ` · ${String(m.expMonth).padStart(2, "0")}/${String(m.expYear).slice(-2)}` : "";
  return `${m.brand} ending ${m.last4}${expiry}`;
}

/**
 * Link a card or a bank account. The details go from the browser to the payment
 * gateway's tokeniser; the wallet's API gets only the token (and learns brand, last 4
 * and expiry from the gateway).
 */
function LinkMethod({ kind, onLinked }: { kind: "card" | "bank"; onLinked: () => void }) {
  const [{ data: gatewayData }] = useQuery({ query: PaymentGatewayDocument });
  const [, addCard] = useMutation(AddCardDocument);
  const [, addBank] = useMutation(AddBankAccountDocument);
  const [error, setError] = useState<string | null>(null);
  const stepUp = useStepUp("link it");

  async function link(token: string) {
    const input = { token };
    const result =
      kind === "card"
        ? (await addCard({ input })).data?.addCard
        : (await addBank({ input })).data?.addBankAccount;
    if (!result) return setError("Network problem: try again.");
    if (result.__typename === "AddPaymentMethodPayload") {
      setError(null);
      onLinked();
    } else if (result.__typename === "StepUpRequired") {
      // The token is not used yet: the same one links once the factor is proven.
      stepUp.ask(result.methods, () => void link(token));
    }
    else setError(refusalText(result));
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const gateway = gatewayData?.paymentGateway;
    if (!gateway) return setError("The payment gateway is not reachable yet: try again.");
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? "").trim();
    const [month, year] = value("expiry").split("/");
    const tokenized = await tokenize(
      gateway,
      kind === "card"
        ? {
            card: {
              number: value("number").replace(/\s/g, ""),
              exp_month: Number(month),
              exp_year: 2000 + Number(year ?? 0),
              cvc: value("cvc"),
            },
          }
        : {
            bank_account: {
              routing_number: value("routing"),
              account_number: value("account"),
              account_holder_name: value("holder"),
            },
          },
    );
    if ("error" in tokenized) return setError(tokenized.error);
    await link(tokenized.token);
  }

  return (
    <>
    <form className="link-method" onSubmit={submit} noValidate aria-label={kind === "card" ? "Link a card" : "Link a bank account"}>
      {kind === "card" ? (
        <>
          <div className="field">
            <label htmlFor="card-number">Card number</label>
            <input id="card-number" name="number" inputMode="numeric" autoComplete="cc-number"
                   placeholder="4242 4242 4242 4242" />
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="card-expiry">Expiry (MM/YY)</label>
              <input id="card-expiry" name="expiry" placeholder="12/30" autoComplete="cc-exp" />
            </div>
            <div className="field">
              <label htmlFor="card-cvc">CVC</label>
              <input id="card-cvc" name="cvc" inputMode="numeric" placeholder="123" autoComplete="cc-csc" />
            </div>
          </div>
        </>
      ) : (
        <>
          <div className="field">
            <label htmlFor="bank-routing">Routing number</label>
            <input id="bank-routing" name="routing" inputMode="numeric" placeholder="110000000" />
          </div>
          <div className="field">
            <label htmlFor="bank-account">Account number</label>
            <input id="bank-account" name="account" inputMode="numeric" placeholder="000123456789" />
          </div>
          <div className="field">
            <label htmlFor="bank-holder">Account holder</label>
            <input id="bank-holder" name="holder" autoComplete="name" />
          </div>
        </>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <button className="primary" type="submit">{kind === "card" ? "Link card" : "Link bank account"}</button>
    </form>
      {stepUp.prompt}
    </>
  );
}

/**
 * Add money from a card or bank, or withdraw to a bank. One idempotency key per intent:
 * a retry after a network error reuses it, so it never charges or pays out twice.
 */
export function FundingForm({ direction }: { direction: "add" | "withdraw" }) {
  const [{ data }, refetch] = useQuery({ query: PaymentMethodsDocument, requestPolicy: "network-only" });
  const [{ fetching: adding }, addMoney] = useMutation(AddMoneyDocument);
  const [{ fetching: withdrawing }, withdraw] = useMutation(WithdrawDocument);
  const [linking, setLinking] = useState<"card" | "bank" | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const idempotencyKey = useRef(crypto.randomUUID());
  const stepUp = useStepUp(direction === "add" ? "add money" : "withdraw");
  const formRef = useRef<HTMLFormElement>(null);
  const gate = useWalletAction(direction === "add" ? "ADD" : "WITHDRAW");
  const methods = (data?.paymentMethods ?? []).filter(
    (m) => direction === "add" || m.kind === "BANK_ACCOUNT",
  );

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    setOutcome(null);
    const input = {
      paymentMethodId: String(form.get("method")),
      amount: String(form.get("amount")).replace(/[$,\s]/g, ""),
      idempotencyKey: idempotencyKey.current,
    };
    const result = direction === "add" ? (await addMoney({ input })).data?.addMoney
                                       : (await withdraw({ input })).data?.withdraw;
    if (!result) {
      setOutcome({ kind: "refused", text: "Network problem: press the button again to retry safely." });
      return;
    }
    if (result.__typename === "StepUpRequired") {
      // The same request (same key) is sent again after it; a fresh key if cancelled.
      stepUp.ask(result.methods, () => formRef.current?.requestSubmit(),
                 () => { idempotencyKey.current = crypto.randomUUID(); });
      return;
    }
    idempotencyKey.current = crypto.randomUUID();
    if (result.__typename !== "FundingPayload") {
      setOutcome({ kind: "refused", text: refusalText(result) });
      return;
    }
    const t = result.transaction;
    const money = formatMoney(t.amount, t.currency);
    const text = {
      COMPLETED: direction === "add" ? `Added ${money} from ${t.paymentMethod}` : `Withdrew ${money}`,
      PENDING: direction === "add"
        ? `${money} is on its way from ${t.paymentMethod} (1 to 3 days)`
        : `Withdrawal of ${money} to ${t.paymentMethod} is pending`,
      PROCESSING: `${money} is being confirmed by your bank`,
      FAILED: `Failed: ${t.failureReason ?? "declined"}`,
    }[t.status as string] ?? `${money}: ${t.status.toLowerCase()}`;
    setOutcome({ kind: t.status === "FAILED" ? "refused" : "ok", text });
    if (t.status !== "FAILED") formElement.reset();
  }

  const title = direction === "add" ? "Add money" : "Withdraw to your bank";
  return (
    <section className="card send" aria-labelledby={`${direction}-title`}>
      <h2 id={`${direction}-title`}>{title}</h2>
      {methods.length > 0 && (
        <form ref={formRef} onSubmit={submit} noValidate>
          <div className="field">
            <label htmlFor={`${direction}-method`}>{direction === "add" ? "From" : "To"}</label>
            <select id={`${direction}-method`} name="method" className="select">
              {methods.map((m) => (
                <option key={m.id} value={m.id}>{methodLabel(m)}</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${direction}-amount`}>Amount (USD)</label>
            <input id={`${direction}-amount`} name="amount" inputMode="decimal" placeholder="0.00" />
          </div>
          {outcome && (
            <p className={outcome.kind === "ok" ? "success" : "error"} role="status">{outcome.text}</p>
          )}
          <BlockedReason id={`${direction}-blocked`} gate={gate} />
          <button className="primary" type="submit" disabled={adding || withdrawing || !gate.allowed}
                  aria-describedby={gate.allowed ? undefined : `${direction}-blocked`}>
            {adding ? "Adding…" : withdrawing ? "Withdrawing…" : direction === "add" ? "Add money" : "Withdraw"}
          </button>
        </form>
      )}
      {stepUp.prompt}
      {methods.length === 0 && !linking && (
        <p className="muted">
          {direction === "add" ? "Link a card or bank account first." : "Link a bank account first."}
        </p>
      )}
      <div className="link-buttons">
        {direction === "add" && (
          <button className="link" onClick={() => setLinking(linking === "card" ? null : "card")}>
            + Link a card
          </button>
        )}
        <button className="link" onClick={() => setLinking(linking === "bank" ? null : "bank")}>
          + Link a bank account
        </button>
      </div>
      {linking && (
        <LinkMethod kind={linking} onLinked={() => {
          setLinking(null);
          refetch({ requestPolicy: "network-only" });
        }} />
      )}
    </section>
  );
}
