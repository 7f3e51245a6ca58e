"""Size bounds on every text and list input of the GraphQL API, in one place, checked
before any resolver runs (docs/security.md, "Input bounds and enumeration").

Every String or ID value a field receives, whether an argument or a field of an input
type at any depth, written inline or passed in variables, is at most
`DEFAULT_MAX_LENGTH` characters, and every list at most `DEFAULT_MAX_ITEMS` items,
unless `MAX_LENGTHS` / `MAX_ITEMS` name its schema coordinate (`Type.field` for an
input field, `Type.field(arg:)` for an argument). A field whose result union has
`ValidationError` answers with it (code TOO_LONG or TOO_MANY, the path, the maximum);
any other field fails with a top-level error whose `extensions.code` says the same.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    default_field_resolver,
    get_named_type,
)
from wallet.api.graphql.errors import (
    ErrorCode,
    FieldError,
    PublicError,
    ValidationError,
)
from wallet.kyc.service import MAX_FILE_BYTES
from wallet.merchants.protection import MAX_EVIDENCE_BYTES
from wallet.splits.service import MAX_MEMBERS
from wallet.transfers.models import MAX_NOTE_LENGTH

DEFAULT_MAX_LENGTH = 200
DEFAULT_MAX_ITEMS = 100


def _base64_length(raw_bytes: int) -> int:
    """Characters of base64 for a file a little over `raw_bytes` (the domain check then
    says the file is too large, in its own words)."""
    return 4 * -(-(raw_bytes + 1024) // 3)


# The inputs that need more (or less) than the default. A unit test checks that every
# coordinate here exists in the schema, so a renamed field cannot lose its bound.
MAX_LENGTHS: dict[str, int] = {
    "SendMoneyInput.note": MAX_NOTE_LENGTH,
    "RequestMoneyInput.note": MAX_NOTE_LENGTH,
    # WebAuthn answers are JSON with an attestation (certificates included): kilobytes.
    "Mutation.finishPasskeyRegistration(credential:)": 65_536,
    "Mutation.finishPasskeyLogIn(credential:)": 65_536,
    "Mutation.verifyStepUpWithPasskey(credential:)": 65_536,
    "ResetPasswordInput.passkeyCredential": 65_536,
    "UploadInput.contentBase64": _base64_length(MAX_FILE_BYTES),
    "EvidenceFile.contentBase64": _base64_length(MAX_EVIDENCE_BYTES),
    "IdentityInput.address": 500,
    "Query.scanPaymentQr(payload:)": 512,  # EMVCo payloads go up to 512 characters
    "Mutation.setMerchantWebhook(url:)": 500,
    "CreatePaymentRequestInput.returnUrl": 500,
    # Operators' and merchants' statements.
    "Mutation.escalateAmlCase(narrative:)": 20_000,
    "Mutation.closeAmlCase(reason:)": 2_000,
    "Mutation.freezeWallet(reason:)": 2_000,
    "Mutation.decideFraudReview(note:)": 2_000,
    "Mutation.decideKycReview(reason:)": 2_000,
    "Mutation.reverseTransaction(reason:)": 2_000,
    "Mutation.proposeAdjustment(reason:)": 2_000,
    "Mutation.proposeBreakAdjustment(reason:)": 2_000,
    "Mutation.approveAdjustment(note:)": 2_000,
    "Mutation.rejectAdjustment(note:)": 2_000,
    "Mutation.matchBreakByHand(note:)": 1_000,
    "Mutation.addToBlocklist(reason:)": 2_000,
    "Mutation.openDispute(reason:)": 1_000,
    "Mutation.respondToDispute(response:)": 5_000,
    # Short secrets: PINs and one-time or recovery codes.
    "Mutation.setTransactionPin(pin:)": 32,
    "PayPaymentRequestInput.pin": 32,
    "Mutation.verifyStepUp(code:)": 32,
    "Mutation.completeLogIn(code:)": 32,
    "Mutation.confirmTotpEnrolment(code:)": 32,
    "Mutation.disableTotp(code:)": 32,
    "Mutation.verifyContact(code:)": 32,
    "ResetPasswordInput.code": 32,
    "ResetPasswordInput.factorCode": 32,
    "Mutation.startPasswordResetPasskey(code:)": 32,
}

MAX_ITEMS: dict[str, int] = {
    "CreateSplitGroupInput.members": MAX_MEMBERS,
    "Mutation.addSplitMembers(members:)": MAX_MEMBERS,
    "AddSplitExpenseInput.among": MAX_MEMBERS,
    "AddSplitExpenseInput.values": MAX_MEMBERS,
    "SplitPaymentInput.among": MAX_MEMBERS,
    "SplitPaymentInput.values": MAX_MEMBERS,
    "Mutation.respondToDispute(files:)": 10,
}


@dataclass(frozen=True, slots=True)
class Breach:
    """The first input over its bound: where (`path`, as clients name fields), which
    bound (`code` TOO_LONG or TOO_MANY) and its `maximum`."""

    path: str
    code: str
    maximum: int
    coordinate: str
    value: object = field(repr=False, compare=False)

    @property
    def message(self) -> str:
        name = next((p for p in reversed(self.path.split(".")) if not p.isdigit()), "it")
        if self.code == "TOO_MANY":
            return f"Too many {name}: at most {self.maximum}"
        return f"{name} is too long: at most {self.maximum} characters"


@dataclass(slots=True)
class _Check:
    """What to check in a value of one input type (None: nothing to check)."""

    coordinate: str
    max_length: int | None = None  # a String or ID
    max_items: int | None = None  # a list; `items` checks each element
    items: _Check | None = None
    fields: dict[str, _Check] = field(default_factory=dict)  # an input object's fields


def _plan(
    type_: GraphQLInputType, coordinate: str, objects: dict[str, dict[str, _Check]]
) -> _Check | None:
    if isinstance(type_, GraphQLNonNull):
        return _plan(type_.of_type, coordinate, objects)
    if isinstance(type_, GraphQLList):
        return _Check(
            coordinate,
            max_items=MAX_ITEMS.get(coordinate, DEFAULT_MAX_ITEMS),
            items=_plan(type_.of_type, coordinate, objects),
        )
    if isinstance(type_, GraphQLScalarType) and type_.name in ("String", "ID"):
        return _Check(coordinate, max_length=MAX_LENGTHS.get(coordinate, DEFAULT_MAX_LENGTH))
    if isinstance(type_, GraphQLInputObjectType):
        if type_.name not in objects:  # filled in place: recursive input types end here
            fields: dict[str, _Check] = {}
            objects[type_.name] = fields
            for name, input_field in type_.fields.items():
                check = _plan(input_field.type, f"{type_.name}.{name}", objects)
                if check is not None:
                    fields[name] = check
        return _Check(coordinate, fields=objects[type_.name])
    return None


def _breach(check: _Check, value: Any, path: list[str | int]) -> Breach | None:
    if value is None:
        return None
    if check.max_length is not None and isinstance(value, str):
        if len(value) > check.max_length:
            return Breach(_name(path), "TOO_LONG", check.max_length, check.coordinate, value)
        return None
    if check.max_items is not None and isinstance(value, list):
        if len(value) > check.max_items:
            return Breach(_name(path), "TOO_MANY", check.max_items, check.coordinate, value)
        if check.items is not None:
            for index, item in enumerate(value):
                if found := _breach(check.items, item, [*path, index]):
                    return found
        return None
    if check.fields and isinstance(value, dict):
        for name, field_check in check.fields.items():
            if found := _breach(field_check, value.get(name), [*path, name]):
                return found
    return None


def _name(path: list[str | int]) -> str:
    """The path as field errors name it elsewhere: relative to a mutation's `input`."""
    parts = path[1:] if path[:1] == ["input"] and len(path) > 1 else path
    return ".".join(str(p) for p in parts)


class InputTooLong(PublicError):
    """A top-level refusal, for fields whose result has no `ValidationError` member."""

    def __init__(self, breach: Breach) -> None:
        super().__init__(ErrorCode.VALIDATION_ERROR, breach.message)
        self.extensions = {"code": breach.code, "field": breach.path, "maximum": breach.maximum}


# The over-long values this operation refused, so `ForgetRefusedInputs` can keep them
# out of the audit log's copy of the variables. One list per operation.
_refused: contextvars.ContextVar[list[object] | None] = contextvars.ContextVar(
    "refused_inputs", default=None
)


def _refusal(breach: Breach, typed: bool) -> ValidationError:
    refused = _refused.get()
    if refused is not None:
        refused.append(breach.value)
    if not typed:
        raise InputTooLong(breach)
    return ValidationError(
        code=ErrorCode.VALIDATION_ERROR,
        message=breach.message,
        field_errors=[
            FieldError(
                field=breach.path,
                code=breach.code,
                message=breach.message,
                maximum=breach.maximum,
            )
        ],
    )


def _guard(
    resolve: Callable[..., Any], checks: dict[str, _Check], typed: bool
) -> Callable[..., Any]:
    """`resolve`, after its arguments (already coerced: inline and variables alike)
    are checked against their bounds."""

    def guarded(source: Any, info: Any, **kwargs: Any) -> Any:
        for name, check in checks.items():
            if name in kwargs and (breach := _breach(check, kwargs[name], [name])):
                return _refusal(breach, typed)
        return resolve(source, info, **kwargs)

    return guarded


def _has_validation_error(field_: GraphQLField) -> bool:
    result = get_named_type(field_.type)
    return isinstance(result, GraphQLUnionType) and any(
        member.name == "ValidationError" for member in result.types
    )


def install(schema: GraphQLSchema) -> int:
    """Put the bounds check in front of every field that takes text or lists; returns
    how many fields it guards."""
    objects: dict[str, dict[str, _Check]] = {}
    guarded = 0
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field_ in type_.fields.items():
            checks = {
                arg_name: check
                for arg_name, arg in field_.args.items()
                if (check := _plan(arg.type, f"{type_.name}.{name}({arg_name}:)", objects))
            }
            if not checks:
                continue
            typed = _has_validation_error(field_)
            field_.resolve = _guard(field_.resolve or default_field_resolver, checks, typed)
            if field_.subscribe is not None:
                field_.subscribe = _guard(field_.subscribe, checks, typed=False)
            guarded += 1
    return guarded


def _forget(value: Any, refused: list[object]) -> Any:
    if isinstance(value, str) and any(value is r for r in refused):
        return f"[refused: {len(value)} characters]"
    if isinstance(value, dict):
        return {k: _forget(v, refused) for k, v in value.items()}
    if isinstance(value, list):
        return [_forget(v, refused) for v in value]
    return value


class ForgetRefusedInputs(SchemaExtension):
    """After the operation, replace the values the bounds refused in the operation's
    variables, so that the audit log (which records them) does not store them either.
    Listed after `AuditMutations`: extensions leave in reverse order."""

    def on_execute(self) -> Iterator[None]:
        refused: list[object] = []
        token = _refused.set(refused)
        try:
            yield
        finally:
            _refused.reset(token)
        variables = self.execution_context.variables
        if refused and variables:
            self.execution_context.variables = _forget(variables, refused)
