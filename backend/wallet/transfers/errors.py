"""Transfer refusals; each maps to a typed GraphQL error. Nothing is written when raised."""

from __future__ import annotations


class TransferError(Exception):
    pass


class InvalidRecipient(TransferError):
    def __init__(self, recipient: str) -> None:
        super().__init__(f"{recipient!r} is not a phone number, email or username")


class RecipientNotFound(TransferError):
    def __init__(self, recipient: str) -> None:
        super().__init__(f"No wallet is registered for {recipient}")


class SelfTransfer(TransferError):
    def __init__(self) -> None:
        super().__init__("You cannot send money to yourself")


class NonPositiveAmount(TransferError):
    def __init__(self) -> None:
        super().__init__("The amount must be greater than zero")


class NoteTooLong(TransferError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The note can be at most {limit} characters")


class WalletUnavailable(TransferError):
    def __init__(self, whose: str, status: str) -> None:
        super().__init__(f"The {whose} wallet is {status}")
        self.whose = whose
        self.status = status
