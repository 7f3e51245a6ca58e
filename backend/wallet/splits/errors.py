"""Bill-splitting refusals; each maps to a typed GraphQL error. Nothing is written."""

from __future__ import annotations

from wallet.errors import NotFound, Refusal


class SplitError(Refusal):
    pass


class GroupNotFound(SplitError, NotFound):
    def __init__(self) -> None:
        super().__init__("No such group")


class NotAMember(SplitError):
    code = "NOT_A_MEMBER"

    def __init__(self, who: str, field: str = "among") -> None:
        super().__init__(f"{who} is not a member of this group")
        self.field = field


class InvalidGroup(SplitError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SplitDoesNotAddUp(SplitError):
    field = "values"
    code = "DOES_NOT_ADD_UP"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class NotSplittable(SplitError):
    field = "transactionId"
    code = "NOT_SPLITTABLE"

    def __init__(self, why: str) -> None:
        super().__init__(f"This payment cannot be split: {why}")


class NothingToSettle(SplitError):
    field = "groupId"
    code = "NOTHING_TO_SETTLE"

    def __init__(self, currency: str) -> None:
        super().__init__(f"You are square in {currency} in this group")


class InvitationPending(NotAMember):
    """Named in an expense before accepting the invitation to the group."""

    code = "INVITATION_PENDING"

    def __init__(self, who: str, field: str = "among") -> None:
        super().__init__(who, field)
        self.args = (f"{who} has not accepted the invitation to this group yet",)


class InvitationNotFound(SplitError, NotFound):
    def __init__(self) -> None:
        super().__init__("No such invitation")
