"""Export refusals: a request for a file that cannot be made."""

from __future__ import annotations

from wallet.errors import Refusal


class ExportError(Refusal):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
