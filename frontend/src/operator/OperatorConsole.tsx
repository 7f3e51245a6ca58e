import { AmlCaseList, FraudReviewQueue } from "./Compliance";
import { MediatorQueue } from "./MediatorQueue";
import { MerchantApplicationQueue } from "./MerchantApplicationQueue";
import { KycReviewQueue } from "./KycReviewQueue";

/** The operator console's queues page: the cases waiting for this role (each queue asks
 * the API, which checks the role again). */
export default function OperatorConsole({ role }: { role: string }) {
  const compliance = role === "COMPLIANCE" || role === "ADMIN";
  return (
    <>
      <h1>Queues</h1>
      {(role === "MEDIATOR" || role === "ADMIN") && <MediatorQueue />}
      {compliance && <KycReviewQueue />}
      {compliance && <FraudReviewQueue />}
      {compliance && <AmlCaseList />}
      {compliance && <MerchantApplicationQueue />}
    </>
  );
}
