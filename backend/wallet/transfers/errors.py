"""Transfer refusals; nothing is written when raised.

`NonPositiveAmount` and `WalletUnavailable` are named here too for the transfer code;
they belong to `wallet.errors` and `wallet.wallets.errors`, where other domains take them."""

from __future__ import annotations

from wallet.errors import NonPositiveAmount as NonPositiveAmount
from wallet.errors import NotFound, Refusal
from wallet.wallets.errors import WalletUnavailable as WalletUnavailable


class TransferError(Refusal):
    pass


class InvalidRecipient(TransferError):
    field = "recipient"

    def __init__(self, recipient: str) -> None:
        super().__init__(f"{recipient!r} is not a phone number, email or username")


class RecipientNotFound(TransferError, NotFound):
    def __init__(self, recipient: str) -> None:
        super().__init__(f"No wallet is registered for {recipient}")


class SelfTransfer(TransferError):
    field = "recipient"

    def __init__(self) -> None:
        super().__init__("You cannot send money to yourself")


class NoteTooLong(TransferError):
    field = "note"
    code = "TOO_LONG"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The note can be at most {limit} characters")
