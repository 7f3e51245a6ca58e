import { AmlCaseList, FraudReviewQueue } from "./Compliance";
import { MediatorQueue } from "./Disputes";
import { MerchantApplicationQueue } from "./MerchantOnboarding";
import { KycReviewQueue } from "./Verification";

/** The operator's pages (each asks the API, which checks the role again). */
export default function OperatorConsole({ role }: { role: string }) {
  const compliance = role === "COMPLIANCE" || role === "ADMIN";
  return (
    <>
      {(role === "MEDIATOR" || role === "ADMIN") && <MediatorQueue />}
      {compliance && <KycReviewQueue />}
      {compliance && <FraudReviewQueue />}
      {compliance && <AmlCaseList />}
      {compliance && <MerchantApplicationQueue />}
    </>
  );
}
