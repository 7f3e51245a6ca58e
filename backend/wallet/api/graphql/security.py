"""GraphQL surface of second factors: TOTP enrolment, recovery codes, step-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import strawberry

from wallet.api.graphql.context import Info
from wallet.api.graphql.errors import (
    ErrorCode,
    NotAuthenticated,
    RateLimited,
    StepUpMethod,
    StepUpRequired,
    ValidationError,
    not_authenticated,
    validation_error,
)
from wallet.auth.ratelimit import RateLimited as RateLimitHit
from wallet.auth.sessions import session_id
from wallet.fraud.service import Screening
from wallet.payments import methods
from wallet.security import devices, privacy, stepup, totp
from wallet.users import credentials, pin, verification


@strawberry.type(name="Contacts")
class ContactsType:
    email: str
    phone: str
    email_verified: bool
    phone_verified: bool


@strawberry.type(name="SecuritySettings")
class SecuritySettingsType:
    totp_enabled: bool
    recovery_codes_left: int
    step_up_methods: list[StepUpMethod]
    stepped_up: bool = strawberry.field(description="A second factor was proven lately.")
    contacts: ContactsType = strawberry.field(description="Where we reach you, and if proven.")


@strawberry.type(name="Session")
class SessionType:
    id: strawberry.ID
    device: str
    ip: str
    created_at: datetime
    last_seen: datetime
    current: bool = strawberry.field(description="The session making this request.")


@strawberry.type(name="Device")
class DeviceType:
    id: strawberry.ID
    label: str
    first_seen: datetime
    last_seen: datetime
    last_ip: str | None


@strawberry.type
class TotpEnrolmentPayload:
    secret: str = strawberry.field(description="For typing into the app by hand.")
    uri: str = strawberry.field(description="otpauth:// URI, the content of the QR code.")
    qr_code: str = strawberry.field(description="The QR code as an SVG data URL.")


@strawberry.type
class RecoveryCodesPayload:
    codes: list[str] = strawberry.field(description="Shown once: keep them somewhere safe.")


@strawberry.type
class StepUpPayload:
    method: StepUpMethod
    valid_until: datetime


@strawberry.type
class TotpDisabledPayload:
    ok: bool


@strawberry.type
class PinPayload:
    ok: bool


SecurityErrors = ValidationError | RateLimited | NotAuthenticated
TotpEnrolmentResult = Annotated[
    TotpEnrolmentPayload | SecurityErrors, strawberry.union("TotpEnrolmentResult")
]
RecoveryCodesResult = Annotated[
    RecoveryCodesPayload | SecurityErrors, strawberry.union("RecoveryCodesResult")
]
StepUpResult = Annotated[StepUpPayload | SecurityErrors, strawberry.union("StepUpResult")]
PinResult = Annotated[
    PinPayload | ValidationError | StepUpRequired | NotAuthenticated, strawberry.union("PinResult")
]
TotpDisabledResult = Annotated[
    TotpDisabledPayload | SecurityErrors, strawberry.union("TotpDisabledResult")
]


def too_many_tries(exc: RateLimitHit) -> RateLimited:
    return _limited(exc.retry_after_seconds, "Too many tries; wait a little")


def _limited(seconds: int, message: str) -> RateLimited:
    return RateLimited(code=ErrorCode.RATE_LIMITED, message=message, retry_after_seconds=seconds)


def _refused(exc: Exception) -> ValidationError | RateLimited:
    match exc:
        case RateLimitHit():
            return too_many_tries(exc)
        case pin.PinLocked():
            seconds = max(int((exc.until - datetime.now(UTC)).total_seconds()), 1)
            return _limited(seconds, str(exc))
        case pin.WrongPin() | totp.WrongCode():
            return validation_error("code", "WRONG_CODE", str(exc))
        case _:
            return validation_error("code", "NOT_SET_UP", str(exc))


_REFUSALS = (RateLimitHit, pin.PinError, totp.TotpError)


@strawberry.type
class SecurityQuery:
    @strawberry.field(description="Your second factors.")
    async def security(self, info: Info) -> SecuritySettingsType | None:
        user = await info.context.viewer()
        contacts = await verification.contacts_of(user.id) if user else None
        if user is None or contacts is None:
            return None
        return SecuritySettingsType(
            contacts=ContactsType(
                email=contacts.email,
                phone=contacts.phone,
                email_verified=contacts.email_verified,
                phone_verified=contacts.phone_verified,
            ),
            totp_enabled=await totp.is_enrolled(user.id),
            recovery_codes_left=await totp.recovery_codes_left(user.id),
            step_up_methods=[StepUpMethod(m) for m in await stepup.methods_for(user.id)],
            stepped_up=await info.context.services.step_up.fresh(info.context.session_token()),
        )

    @strawberry.field(description="Where you are signed in, most recent first.")
    async def sessions(self, info: Info) -> list[SessionType]:
        user = await info.context.viewer()
        if user is None:
            return []
        token = info.context.session_token()
        mine = session_id(token) if token else ""
        return [
            SessionType(
                id=strawberry.ID(s.id),
                device=s.device or "Unknown device",
                ip=s.ip,
                created_at=datetime.fromtimestamp(s.created_at, UTC),
                last_seen=datetime.fromtimestamp(s.last_seen, UTC),
                current=s.id == mine,
            )
            for s in await info.context.services.sessions.sessions_of(user.id)
        ]

    @strawberry.field(description="Devices you signed in from.")
    async def devices(self, info: Info) -> list[DeviceType]:
        user = await info.context.viewer()
        if user is None:
            return []
        return [
            DeviceType(
                id=strawberry.ID(str(d.id)),
                label=d.label,
                first_seen=d.first_seen,
                last_seen=d.last_seen,
                last_ip=d.last_ip,
            )
            for d in await devices.devices_of(user.id)
        ]


@strawberry.type
class SessionRevokedPayload:
    revoked: bool


@strawberry.type
class SecurityMutation:
    @strawberry.mutation(description="Sign one of your sessions out (another device, say).")
    async def revoke_session(self, info: Info, id: strawberry.ID) -> SessionRevokedPayload:
        user = await info.context.require_viewer()
        revoked = await info.context.services.sessions.revoke_id(user.id, str(id))
        return SessionRevokedPayload(revoked=revoked)

    @strawberry.mutation(
        description="Set your transaction PIN (4 to 6 digits). Changing it, or setting one "
        "when you have another second factor, needs that factor first."
    )
    async def set_transaction_pin(
        self, info: Info, new_pin: Annotated[str, strawberry.argument(name="pin")]
    ) -> PinResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        if await stepup.methods_for(user.id):
            if asked := await step_up_refusal(info, user.id, "change_pin", "change your PIN"):
                return asked
        elif info.context.viewer_session is not None and info.context.viewer_session.new_device:
            # Else a stolen password on a new device would make its own second factor.
            return validation_error(
                "pin",
                "NEW_DEVICE",
                "Set up your first PIN on a device you have signed in from before",
            )
        try:
            await pin.set_pin(user.id, new_pin)
        except pin.InvalidPinFormat as exc:
            return validation_error("pin", "INVALID", str(exc))
        return PinPayload(ok=True)

    @strawberry.mutation(description="Start setting up an authenticator app (TOTP).")
    async def start_totp_enrolment(self, info: Info) -> TotpEnrolmentResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            started = await totp.start_enrolment(user.id, user.username)
        except totp.TotpError as exc:
            return validation_error("totp", "ALREADY_ENABLED", str(exc))
        return TotpEnrolmentPayload(
            secret=started.secret, uri=started.uri, qr_code=started.qr_svg_data_url
        )

    @strawberry.mutation(description="Finish setting up TOTP with a first code.")
    async def confirm_totp_enrolment(self, info: Info, code: str) -> RecoveryCodesResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            codes = await totp.confirm_enrolment(user.id, code, info.context.services.rate_limiter)
        except _REFUSALS as exc:
            return _refused(exc)
        return RecoveryCodesPayload(codes=codes)

    @strawberry.mutation(description="Turn TOTP off (needs a current code).")
    async def disable_totp(self, info: Info, code: str) -> TotpDisabledResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            await totp.disable(user.id, code, info.context.services.rate_limiter)
        except _REFUSALS as exc:
            return _refused(exc)
        return TotpDisabledPayload(ok=True)

    @strawberry.mutation(
        description="Prove a second factor for this session (PIN, or TOTP / a recovery "
        "code); sensitive actions then pass for a few minutes."
    )
    async def verify_step_up(self, info: Info, method: StepUpMethod, code: str) -> StepUpResult:
        user = await info.context.viewer()
        token = info.context.session_token()
        if user is None or token is None:
            return not_authenticated()
        services = info.context.services
        if method is StepUpMethod.PASSKEY:
            return validation_error(
                "method", "USE_PASSKEY_FLOW", "Use startPasskeyStepUp and verifyStepUpWithPasskey"
            )
        try:
            if method is StepUpMethod.PIN:
                await services.rate_limiter.consume(totp.ATTEMPTS, str(user.id))
                await pin.verify_pin(user.id, code)
                await services.rate_limiter.refund(totp.ATTEMPTS, str(user.id))
            else:
                await totp.verify(user.id, code, services.rate_limiter)
        except _REFUSALS as exc:
            return _refused(exc)
        await services.step_up.grant(token, method.value)
        return StepUpPayload(
            method=method,
            valid_until=datetime.now(UTC) + timedelta(seconds=services.step_up.seconds),
        )


async def step_up_refusal(info: Info, user_id: int, action: str, why: str) -> StepUpRequired | None:
    """`StepUpRequired` when `action` needs a fresh second factor this session lacks."""
    services = info.context.services
    if action not in services.settings.step_up_actions:
        return None
    if await services.step_up.fresh(info.context.session_token()):
        return None
    problem = stepup.StepUpRequired(await stepup.methods_for(user_id), why)
    return StepUpRequired(
        code=ErrorCode.STEP_UP_REQUIRED,
        message=str(problem),
        methods=[StepUpMethod(m) for m in problem.methods],
    )


async def large_amount_check(info: Info) -> stepup.LargeAmountCheck:
    """Whether this session may move a large amount without proving a factor again."""
    services = info.context.services
    await info.context.viewer()
    session = info.context.viewer_session
    new_device = session is not None and session.new_device
    return stepup.LargeAmountCheck(
        stepped_up=await services.step_up.fresh(info.context.session_token()),
        # On a device the user never used before, any amount leaving needs it.
        above_usd_minor=0 if new_device else services.settings.step_up_send_above_usd * 100,
        rates=await services.fx.provider.snapshot(),
    )


def payment_screening(info: Info, large: stepup.LargeAmountCheck) -> Screening:
    """What the fraud rules score this request's payment with (docs/security.md, "Fraud rules")."""
    return Screening(info.context.risk_context(), large.rates, proven=large.stepped_up)


@strawberry.type
class ErasurePayload:
    erased: bool


ErasureResult = Annotated[ErasurePayload | SecurityErrors, strawberry.union("ErasureResult")]


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        description="Erase your personal data and close your account (GDPR). Your balances "
        "must be empty; transactions stay in the ledger under a pseudonym."
    )
    async def erase_my_account(self, info: Info, password: str) -> ErasureResult:
        user = await info.context.viewer()
        if user is None:
            return not_authenticated()
        try:
            await credentials.check_password(
                user.id,
                await credentials.password_hash(user.id),
                password,
                info.context.services.rate_limiter,
                "password",
            )
        except credentials.CredentialError as exc:
            return validation_error(exc.field, exc.code, str(exc))
        except RateLimitHit as exc:
            return too_many_tries(exc)
        try:
            await privacy.erase(user.id, info.context.services.sessions)
        except privacy.PrivacyError as exc:
            return validation_error(exc.field, "NOT_EMPTY", str(exc))
        # The gateway forgets the erased user's cards and bank accounts too.
        await methods.forget_removed(info.context.services.gateway, user.id)
        info.context.forget_viewer()
        return ErasurePayload(erased=True)
