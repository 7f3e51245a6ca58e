"""Merchant refusals; each maps to a typed GraphQL error. Nothing is written when raised."""

from __future__ import annotations

from wallet.errors import Forbidden, NotFound, Refusal


class MerchantError(Refusal):
    pass


class MerchantNotFound(MerchantError, NotFound):
    def __init__(self) -> None:
        super().__init__("No such merchant for you")


class NotAllowed(MerchantError, Forbidden):
    def __init__(self, what: str) -> None:
        super().__init__(f"You are not allowed to {what}")


class InvalidMerchantDetails(MerchantError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PaymentRequestNotFound(MerchantError, NotFound):
    def __init__(self) -> None:
        super().__init__("No such payment request")


class PaymentRequestNotPayable(MerchantError):
    field = "requestId"

    def __init__(self, status: str) -> None:
        super().__init__(f"This payment request is {status}")
        self.status = status
        self.code = status.upper()


class AmountMismatch(MerchantError):
    field = "amount"
    code = "MISMATCH"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class DuplicateOrder(MerchantError):
    field = "orderId"
    code = "DUPLICATE"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"Order {order_id} already has a payment request")


class RefundExceedsPayment(MerchantError):
    field = "amount"
    code = "EXCEEDS_PAYMENT"

    def __init__(self, refundable: int) -> None:
        super().__init__("That is more than is left to refund")
        self.refundable = refundable


class NotRefundable(MerchantError):
    field = "transactionId"
    code = "NOT_REFUNDABLE"

    def __init__(self, why: str) -> None:
        super().__init__(f"This cannot be refunded: {why}")


class RequestNotPaid(MerchantError):
    """A refund of a payment request that no one has paid: there is nothing to give back."""

    field = "requestId"
    code = "NOT_PAID"

    def __init__(self, status: str) -> None:
        super().__init__(f"This sale is not paid (it is {status}): there is nothing to refund")
        self.status = status


class OwnerPinRefused(MerchantError):
    """A cashier's refund with an owner's PIN that was not accepted (wrong, or none set)."""

    field = "ownerPin"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ScheduleNotFound(MerchantNotFound):
    """A scheduled bill payment that is not the caller's (or does not exist)."""

    def __init__(self) -> None:
        MerchantError.__init__(self, "No such scheduled payment")


class ScheduleNotActive(MerchantError):
    field = "scheduleId"
    code = "NOT_ACTIVE"

    def __init__(self, status: str) -> None:
        super().__init__(f"This scheduled payment is {status}: it can no longer change")
        self.status = status


class VerificationRequired(MerchantError):
    """Opening a merchant needs the owner verified at least to the basic level."""

    field = "verification"
    code = "VERIFICATION_REQUIRED"

    def __init__(self) -> None:
        super().__init__(
            "Verify your identity first (name, date of birth and address, in Limits); "
            "then you can open a shop"
        )


class MerchantUnavailable(MerchantNotFound):
    """The merchant was not approved (KYB): it takes no payments."""

    def __init__(self) -> None:
        MerchantError.__init__(self, "This business cannot take payments")


class OwnerSanctionsMatchOpen(MerchantError):
    """A merchant is not approved while its owner has a possible sanctions match that
    compliance has not cleared (the same rule as the owner's own KYC approval)."""

    field = "merchantId"
    code = "SANCTIONS_MATCH_OPEN"

    def __init__(self, case_id: int) -> None:
        super().__init__("The owner has a possible sanctions match to clear before this approval")
        self.case_id = case_id


class AlreadyDecided(MerchantError):
    field = "merchantId"
    code = "ALREADY_DECIDED"

    def __init__(self, status: str) -> None:
        super().__init__(f"This merchant is already {status}")
        self.status = status


class WebhookTargetRefused(InvalidMerchantDetails):
    """A webhook URL that points somewhere the platform must not call."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__("url", message)
        self.code = code


class DisputeError(MerchantError):
    field = "disputeId"
    code = "NOT_ALLOWED"


class DisputeNotFound(DisputeError, NotFound):
    def __init__(self) -> None:
        super().__init__("No such dispute for you")


class NotDisputable(DisputeError):
    def __init__(self, why: str) -> None:
        super().__init__(f"This payment cannot be disputed: {why}")


class DisputeClosed(DisputeError):
    def __init__(self, status: str) -> None:
        super().__init__(f"This dispute is already {status}")
