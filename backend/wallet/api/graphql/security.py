"""GraphQL surface of second factors: TOTP enrolment, recovery codes, step-up."""

from __future__ import annotations

import time
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
from wallet.api.graphql.notifications import ContactChannel, too_many_codes
from wallet.api.graphql.permissions import SignedIn
from wallet.auth.ratelimit import RateLimited as RateLimitHit
from wallet.auth.sessions import session_id
from wallet.db.engine import transaction
from wallet.fraud.service import Screening
from wallet.payments import methods
from wallet.privacy import service as privacy
from wallet.security import alerts, devices, policy, stepup, totp
from wallet.security.policy import Factor
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
    bound: bool = strawberry.field(description="The device proved holding its own key.")
    trusted: bool = strawberry.field(
        description="A second factor was proven on it (or it is the account's first)."
    )


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
GuardedErrors = ValidationError | RateLimited | StepUpRequired | NotAuthenticated
TotpEnrolmentResult = Annotated[
    TotpEnrolmentPayload | GuardedErrors, strawberry.union("TotpEnrolmentResult")
]
RecoveryCodesResult = Annotated[
    RecoveryCodesPayload | GuardedErrors, strawberry.union("RecoveryCodesResult")
]
StepUpResult = Annotated[StepUpPayload | SecurityErrors, strawberry.union("StepUpResult")]
PinResult = Annotated[
    PinPayload | ValidationError | StepUpRequired | NotAuthenticated, strawberry.union("PinResult")
]
TotpDisabledResult = Annotated[
    TotpDisabledPayload | GuardedErrors, strawberry.union("TotpDisabledResult")
]


@strawberry.type
class StepUpCodeSentPayload:
    sent_to: str = strawberry.field(description="Where the code went (your email or phone).")


StepUpCodeSentResult = Annotated[
    StepUpCodeSentPayload | RateLimited | NotAuthenticated,
    strawberry.union("StepUpCodeSentResult"),
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
        case pin.WrongPin() | totp.WrongCode() | verification.WrongCode():
            return validation_error("code", "WRONG_CODE", str(exc))
        case credentials.CredentialError():
            return validation_error(exc.field, exc.code, str(exc))
        case _:
            return validation_error("code", "NOT_SET_UP", str(exc))


_REFUSALS = (
    RateLimitHit,
    pin.PinError,
    totp.TotpError,
    verification.WrongCode,
    credentials.CredentialError,
)


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

    @strawberry.field(
        description="Where you are signed in, most recent first.",
        extensions=[SignedIn(otherwise_empty=True)],
    )
    async def sessions(self, info: Info) -> list[SessionType]:
        user = await info.context.require_viewer()
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

    @strawberry.field(
        description="Devices you signed in from.", extensions=[SignedIn(otherwise_empty=True)]
    )
    async def devices(self, info: Info) -> list[DeviceType]:
        user = await info.context.require_viewer()
        return [
            DeviceType(
                id=strawberry.ID(str(d.id)),
                label=d.label,
                first_seen=d.first_seen,
                last_seen=d.last_seen,
                last_ip=d.last_ip,
                bound=d.bound,
                trusted=d.trusted,
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
        description="Set your transaction PIN (4 to 6 digits). Setting or changing it needs "
        "a factor you had before this session (your first: password plus an emailed code).",
        extensions=[SignedIn()],
    )
    async def set_transaction_pin(
        self, info: Info, new_pin: Annotated[str, strawberry.argument(name="pin")]
    ) -> PinResult:
        user = await info.context.require_viewer()
        if asked := await step_up_refusal(info, user.id, policy.Action.SET_PIN):
            return asked
        try:
            await pin.set_pin(user.id, new_pin)
        except pin.InvalidPinFormat as exc:
            return validation_error("pin", "INVALID", str(exc))
        await enrolled(info, user.id, "Transaction PIN")
        return PinPayload(ok=True)

    @strawberry.mutation(
        description="Start setting up an authenticator app (TOTP).", extensions=[SignedIn()]
    )
    async def start_totp_enrolment(self, info: Info) -> TotpEnrolmentResult:
        user = await info.context.require_viewer()
        if asked := await step_up_refusal(info, user.id, policy.Action.ENROL_TOTP):
            return asked
        try:
            started = await totp.start_enrolment(user.id, user.username)
        except totp.TotpError as exc:
            return validation_error("totp", "ALREADY_ENABLED", str(exc))
        return TotpEnrolmentPayload(
            secret=started.secret, uri=started.uri, qr_code=started.qr_svg_data_url
        )

    @strawberry.mutation(
        description="Finish setting up TOTP with a first code.", extensions=[SignedIn()]
    )
    async def confirm_totp_enrolment(self, info: Info, code: str) -> RecoveryCodesResult:
        user = await info.context.require_viewer()
        if asked := await step_up_refusal(info, user.id, policy.Action.ENROL_TOTP):
            return asked
        try:
            codes = await totp.confirm_enrolment(user.id, code, info.context.services.rate_limiter)
        except _REFUSALS as exc:
            return _refused(exc)
        await enrolled(info, user.id, "Authenticator app")
        return RecoveryCodesPayload(codes=codes)

    @strawberry.mutation(
        description="Turn TOTP off with a current code (or a recovery code); an "
        "authenticator added in this session also needs a factor you had before it."
    )
    async def disable_totp(self, info: Info, code: str) -> TotpDisabledResult:
        user = await info.context.viewer()
        token = info.context.session_token()
        if user is None or token is None:
            return not_authenticated()
        try:
            await totp.verify(user.id, code, info.context.services.rate_limiter)
        except _REFUSALS as exc:
            return _refused(exc)
        await _grant(info, token, Factor.TOTP, user.id)
        if asked := await step_up_refusal(info, user.id, policy.Action.DISABLE_TOTP):
            return asked
        await totp.remove(user.id)
        async with transaction() as conn:
            await alerts.alert(
                conn,
                user.id,
                "factor_removed",
                "Authenticator app turned off",
                "Signing in no longer asks for an authenticator code. If you did not do "
                "this, contact us at once.",
            )
        return TotpDisabledPayload(ok=True)

    @strawberry.mutation(
        description="Send a code to your email or phone for verifyStepUp(method: "
        "CONTACT_CODE): how you confirm it is you before you have a second factor.",
        extensions=[SignedIn()],
    )
    async def send_step_up_code(
        self, info: Info, channel: ContactChannel = ContactChannel.EMAIL
    ) -> StepUpCodeSentResult:
        user = await info.context.require_viewer()
        services = info.context.services
        try:
            sent_to = await verification.send_step_up_code(
                services.redis,
                user,
                verification.ContactChannel(channel.value),
                email=services.email,
                sms=services.sms,
            )
        except verification.TooManyCodes as exc:
            return too_many_codes(exc)
        return StepUpCodeSentPayload(sent_to=sent_to)

    @strawberry.mutation(
        description="Prove a second factor for this session: a PIN, a TOTP or recovery "
        "code, or (CONTACT_CODE) your password plus the code from sendStepUpCode. "
        "Sensitive actions then pass for a few minutes."
    )
    async def verify_step_up(
        self, info: Info, method: StepUpMethod, code: str, password: str | None = None
    ) -> StepUpResult:
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
            elif method is StepUpMethod.CONTACT_CODE:
                await credentials.check_password(
                    user.id,
                    await credentials.password_hash(user.id),
                    password or "",
                    services.rate_limiter,
                    "password",
                )
                await verification.check_step_up_code(services.redis, user.id, code)
            else:
                await totp.verify(user.id, code, services.rate_limiter)
        except _REFUSALS as exc:
            return _refused(exc)
        await _grant(info, token, Factor(method.value), user.id)
        return StepUpPayload(
            method=method,
            valid_until=datetime.now(UTC) + timedelta(seconds=services.step_up.seconds),
        )


async def session_state(info: Info) -> policy.SessionState:
    """What the step-up policy knows of the session making this request."""
    return await info.context.session_state()


async def _grant(info: Info, token: str, factor: Factor, user_id: int) -> None:
    """Record a proven factor on the session, noting whether it was on file before the
    session began (a contact code counts as such: the contacts on file only change
    behind the same policy)."""
    session = await session_state(info)
    on_file = {f.factor: f for f in await stepup.factors_on_file(user_id)}
    found = on_file.get(factor)
    pre_session = factor is Factor.CONTACT_CODE or (
        found is not None and policy.predates(found, session)
    )
    await _record_proof(info, token, user_id, factor, pre_session)


async def grant_passkey(info: Info, token: str, user_id: int, passkey_since: float) -> None:
    """Record a passkey proof: it predates the session when that passkey does."""
    session = await session_state(info)
    on_file = policy.FactorOnFile(Factor.PASSKEY, passkey_since)
    await _record_proof(info, token, user_id, Factor.PASSKEY, policy.predates(on_file, session))


async def _record_proof(
    info: Info, token: str, user_id: int, factor: Factor, pre_session: bool
) -> None:
    """Note the proof on the session; a factor from before the session also makes the
    session's (key-bound) device trusted, so it is no longer a new device."""
    services = info.context.services
    await services.step_up.grant(token, factor, pre_session=pre_session)
    session = info.context.viewer_session
    if (
        pre_session
        and session is not None
        and session.device_id is not None
        and await devices.trust(user_id, session.device_id)
    ):
        await services.sessions.mark_trusted(token)
    info.context.forget_viewer()  # the next check reads the proof and the device anew


async def enrolled(info: Info, user_id: int, factor: str) -> None:
    """After a second factor is added: other sessions end, alerts go out everywhere."""
    await alerts.factor_enrolled(
        info.context.services.sessions, user_id, info.context.session_token(), factor
    )


async def step_up_refusal(info: Info, user_id: int, action: policy.Action) -> StepUpRequired | None:
    """`StepUpRequired` when the step-up policy refuses `action` to this session."""
    decision = policy.decide(
        action,
        await session_state(info),
        await stepup.factors_on_file(user_id),
        now=time.time(),
        fresh_seconds=info.context.services.step_up.seconds,
    )
    if isinstance(decision, policy.Allowed):
        return None
    return StepUpRequired(
        code=ErrorCode.STEP_UP_REQUIRED,
        message=f"Confirm it is you to {decision.why}",
        methods=[StepUpMethod(m.value) for m in decision.methods],
    )


async def large_amount_check(info: Info) -> stepup.LargeAmountCheck:
    """Whether this session may move a large amount without proving a factor again."""
    services = info.context.services
    return stepup.LargeAmountCheck(
        session=await session_state(info),
        above_usd_minor=services.settings.step_up.send_above.amount_minor,
        fresh_seconds=services.step_up.seconds,
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
        "must be empty; transactions stay in the ledger under a pseudonym.",
        extensions=[SignedIn()],
    )
    async def erase_my_account(self, info: Info, password: str) -> ErasureResult:
        user = await info.context.require_viewer()
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
