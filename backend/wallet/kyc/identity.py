"""Identity checks by an outside provider, behind an interface.

The sandbox provider behaves like a real one on well-known inputs, so tests and demos
can produce every outcome:

- a surname of "Refer" sends the person to manual review (`refer`), "Reject" or
  "Fraudster" is not found (`reject`); anything else is `clear`;
- a document number starting with "000" is reported expired (`reject`), one starting
  with "999" is unreadable (`refer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Protocol


class CheckOutcome(Enum):
    CLEAR = "clear"
    REFER = "refer"  # a person must look
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class PersonDetails:
    legal_name: str
    date_of_birth: date
    address: str
    country: str


@dataclass(frozen=True, slots=True)
class DocumentDetails:
    document_type: str
    document_number: str
    country: str


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    outcome: CheckOutcome
    reasons: list[str] = field(default_factory=list)


class IdentityProvider(Protocol):
    async def check_person(self, person: PersonDetails) -> IdentityCheck: ...

    async def check_document(self, document: DocumentDetails) -> IdentityCheck: ...


class SandboxIdentityProvider:
    async def check_person(self, person: PersonDetails) -> IdentityCheck:
        surname = person.legal_name.split()[-1].lower()
        if surname in {"reject", "fraudster"}:
            return IdentityCheck(CheckOutcome.REJECT, ["No record of this person was found"])
        if surname == "refer":
            return IdentityCheck(CheckOutcome.REFER, ["Address could not be matched"])
        return IdentityCheck(CheckOutcome.CLEAR)

    async def check_document(self, document: DocumentDetails) -> IdentityCheck:
        if document.document_number.startswith("000"):
            return IdentityCheck(CheckOutcome.REJECT, ["The document has expired"])
        if document.document_number.startswith("999"):
            return IdentityCheck(CheckOutcome.REFER, ["The document could not be read"])
        return IdentityCheck(CheckOutcome.CLEAR)
