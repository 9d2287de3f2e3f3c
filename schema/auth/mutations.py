"""Signing in and out, the authenticator-app second factor, and forgotten PINs, passwords and user IDs."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty.auth.models import ResetPurpose
from resolvers import auth, resets, twofactor
from resolvers.sign_in import SecondFactorNeeded
from schema.auth.inputs import (
    CHALLENGE,
    EMAIL,
    NEW_PASSWORD,
    NEW_PIN,
    REFRESH_TOKEN,
    RESET_TOKEN,
    SERVICE_CARD_NUMBER,
    TOTP_CODE,
    CompletePasswordResetInput,
    CompletePinResetInput,
    CompleteSignInInput,
    EmailInput,
    RefreshTokenInput,
    RequestPinResetInput,
    TwoFactorCodeInput,
)
from schema.auth.types import (
    BeginTwoFactorResult,
    CompleteResetResult,
    CompleteSignInResult,
    ConfirmTwoFactorResult,
    DisableTwoFactorResult,
    RefreshSessionResult,
    ResetCompleted,
    ResetRequested,
    SignedIn,
    SignedOut,
    SignInInput,
    SignInResult,
    TwoFactorDisabled,
    TwoFactorEnabled,
    TwoFactorEnrolment,
    TwoFactorRequired,
)
from schema.context import Info
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
from schema.permissions import StepUp, signed_in

REQUESTED = "If the details belong to a member, an e-mail is on its way."
RefreshTokenArgument = Annotated[str | None, old_argument(REFRESH_TOKEN, field="refreshToken")]
TotpCodeArgument = Annotated[str | None, old_argument(TOTP_CODE, field="code")]
EmailArgument = Annotated[str | None, old_argument(EMAIL, field="email")]
ResetTokenArgument = Annotated[str | None, old_argument(RESET_TOKEN, field="token")]


def _reset_completed(purpose: ResetPurpose) -> ResetCompleted:
    secret = "PIN" if purpose is ResetPurpose.PIN else "password"
    return ResetCompleted(message=f"Your new {secret} is set. Sign in with it.")


@strawberry.type
class SignInMutations:
    @mutation(
        description="Sign in with service card number + PIN, user ID + password, or e-mail + password (members "
        "registered after 29 March 2022). 5 wrong attempts lock sign-in for 30 minutes."
    )
    async def sign_in(self, info: Info, input: SignInInput) -> SignInResult:
        outcome = await auth.sign_in(
            tokens=info.context.tokens,
            rules=info.context.rules,
            method=input.method,
            identifier=input.identifier,
            secret=input.secret,
            platform=input.platform,
            trusted_device_token=input.trusted_device_token,
        )
        if isinstance(outcome, SecondFactorNeeded):
            return TwoFactorRequired.from_domain(outcome)
        return SignedIn.from_session(outcome)

    @mutation(
        description="Finish a sign-in that asked for the second factor: the authenticator-app code or a recovery "
        "code (for a member with only SMS codes on: the SMS code). completeSecondFactor does the same with a "
        "choice of factor and can trust the device."
    )
    async def complete_sign_in(
        self,
        info: Info,
        input: CompleteSignInInput | None = None,
        challenge: Annotated[str | None, old_argument(CHALLENGE, field="challenge")] = None,
        code: Annotated[str | None, old_argument(TOTP_CODE, field="code")] = None,
    ) -> CompleteSignInResult:
        given = from_arguments(CompleteSignInInput, input, challenge=challenge, code=code)
        context = info.context
        session = await auth.complete_sign_in(
            tokens=context.tokens,
            rules=context.rules,
            totp_key=context.totp_key,
            challenge=given.challenge,
            code=given.code,
        )
        return SignedIn.from_session(session)

    @mutation(description="New tokens for a refresh token (which is then spent). The session is IDENTIFIED.")
    async def refresh_session(
        self, info: Info, input: RefreshTokenInput | None = None, refresh_token: RefreshTokenArgument = None
    ) -> RefreshSessionResult:
        given = from_arguments(RefreshTokenInput, input, refresh_token=refresh_token)
        session = await auth.refresh_session(
            tokens=info.context.tokens,
            revocations=info.context.sessions,
            rules=info.context.rules,
            refresh_token=given.refresh_token,
        )
        return SignedIn.from_session(session)

    @mutation(description="End the session this refresh token belongs to.")
    async def sign_out(
        self, info: Info, input: RefreshTokenInput | None = None, refresh_token: RefreshTokenArgument = None
    ) -> SignedOut:
        given = from_arguments(RefreshTokenInput, input, refresh_token=refresh_token)
        return SignedOut(sessions_ended=await auth.sign_out(refresh_token=given.refresh_token))

    @mutation(description="End every session of the signed-in member, on every device.")
    async def sign_out_everywhere(self, info: Info) -> SignedOut:
        ended = await auth.sign_out_everywhere(
            account_id=signed_in(info.context).account_id, revocations=info.context.sessions
        )
        return SignedOut(sessions_ended=ended)


@strawberry.type
class TwoFactorMutations:
    @mutation(
        description="Start app 2FA: returns the secret and QR code. Needs AUTHENTICATED.",
        permission_classes=[StepUp],
    )
    async def begin_two_factor(self, info: Info) -> BeginTwoFactorResult:
        started = await twofactor.begin(
            account_id=signed_in(info.context).account_id, key=info.context.totp_key, rules=info.context.rules
        )
        return TwoFactorEnrolment(
            secret=started.secret_base32, otpauth_uri=started.otpauth_uri, qr_code_svg=started.qr_svg
        )

    @mutation(
        description="Confirm app 2FA with a first code; returns one-time recovery codes.",
        permission_classes=[StepUp],
    )
    async def confirm_two_factor(
        self, info: Info, input: TwoFactorCodeInput | None = None, code: TotpCodeArgument = None
    ) -> ConfirmTwoFactorResult:
        given = from_arguments(TwoFactorCodeInput, input, code=code)
        codes = await twofactor.confirm(
            account_id=signed_in(info.context).account_id,
            code=given.code,
            key=info.context.totp_key,
            rules=info.context.rules,
        )
        return TwoFactorEnabled(recovery_codes=codes)

    @mutation(
        description="Turn app 2FA off; needs a current code (or a recovery code).",
        permission_classes=[StepUp],
    )
    async def disable_two_factor(
        self, info: Info, input: TwoFactorCodeInput | None = None, code: TotpCodeArgument = None
    ) -> DisableTwoFactorResult:
        given = from_arguments(TwoFactorCodeInput, input, code=code)
        await twofactor.disable(
            account_id=signed_in(info.context).account_id,
            code=given.code,
            key=info.context.totp_key,
            rules=info.context.rules,
        )
        return TwoFactorDisabled()


@strawberry.type
class ResetMutations:
    @mutation(
        description="Forgot the PIN: send the service card number and the e-mail address on file. If both "
        "belong to one member, a one-time code (valid 30 minutes) is e-mailed. The answer is always the same."
    )
    async def request_pin_reset(
        self,
        info: Info,
        input: RequestPinResetInput | None = None,
        service_card_number: Annotated[
            str | None, old_argument(SERVICE_CARD_NUMBER, field="serviceCardNumber")
        ] = None,
        email: EmailArgument = None,
    ) -> ResetRequested:
        given = from_arguments(
            RequestPinResetInput, input, service_card_number=service_card_number, email=email
        )
        await resets.request_pin_reset(
            service_card_number=given.service_card_number, email=given.email, rules=info.context.rules
        )
        return ResetRequested(message=REQUESTED)

    @mutation(
        description="Forgot the password: if the e-mail address belongs to a member with a password, a one-time "
        "code (valid 30 minutes) is e-mailed. The answer is always the same."
    )
    async def request_password_reset(
        self, info: Info, input: EmailInput | None = None, email: EmailArgument = None
    ) -> ResetRequested:
        given = from_arguments(EmailInput, input, email=email)
        await resets.request_password_reset(email=given.email, rules=info.context.rules)
        return ResetRequested(message=REQUESTED)

    @mutation(
        description="Set a new PIN with the e-mailed code. The code works once; the PIN follows the PIN rules "
        "(PIN_FORMAT, PIN_TOO_SIMPLE). Lifts a sign-in lockout and ends every session."
    )
    async def complete_pin_reset(
        self,
        info: Info,
        input: CompletePinResetInput | None = None,
        token: ResetTokenArgument = None,
        new_pin: Annotated[str | None, old_argument(NEW_PIN, field="newPin")] = None,
    ) -> CompleteResetResult:
        given = from_arguments(CompletePinResetInput, input, token=token, new_pin=new_pin)
        await resets.complete_reset(
            purpose=ResetPurpose.PIN,
            token=given.token,
            new_secret=given.new_pin,
            rules=info.context.rules,
            revocations=info.context.sessions,
        )
        return _reset_completed(ResetPurpose.PIN)

    @mutation(
        description="Set a new password with the e-mailed code. The code works once; the password follows the "
        "password rules. Lifts a sign-in lockout and ends every session."
    )
    async def complete_password_reset(
        self,
        info: Info,
        input: CompletePasswordResetInput | None = None,
        token: ResetTokenArgument = None,
        new_password: Annotated[str | None, old_argument(NEW_PASSWORD, field="newPassword")] = None,
    ) -> CompleteResetResult:
        given = from_arguments(CompletePasswordResetInput, input, token=token, new_password=new_password)
        await resets.complete_reset(
            purpose=ResetPurpose.PASSWORD,
            token=given.token,
            new_secret=given.new_password,
            rules=info.context.rules,
            revocations=info.context.sessions,
        )
        return _reset_completed(ResetPurpose.PASSWORD)

    @mutation(
        description="Forgot the user ID: sign in with service card number + PIN to see it in the profile, or "
        "send the e-mail address on file and it is e-mailed. The answer is always the same."
    )
    async def remind_user_id(
        self, info: Info, input: EmailInput | None = None, email: EmailArgument = None
    ) -> ResetRequested:
        given = from_arguments(EmailInput, input, email=email)
        await resets.remind_user_id(email=given.email)
        return ResetRequested(message=REQUESTED)
