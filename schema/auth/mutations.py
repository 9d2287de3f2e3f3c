"""Signing in and out, the authenticator-app second factor, and forgotten PINs, passwords and user IDs."""

from __future__ import annotations

import strawberry

from loyalty.auth.models import ResetPurpose
from resolvers import auth, resets, twofactor
from resolvers.sign_in import SecondFactorNeeded
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
from schema.permissions import StepUp, signed_in

REQUESTED = "If the details belong to a member, an e-mail is on its way."


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
    async def complete_sign_in(self, info: Info, challenge: str, code: str) -> CompleteSignInResult:
        context = info.context
        session = await auth.complete_sign_in(
            tokens=context.tokens,
            rules=context.rules,
            totp_key=context.totp_key,
            challenge=challenge,
            code=code,
        )
        return SignedIn.from_session(session)

    @mutation(description="New tokens for a refresh token (which is then spent). The session is IDENTIFIED.")
    async def refresh_session(self, info: Info, refresh_token: str) -> RefreshSessionResult:
        session = await auth.refresh_session(
            tokens=info.context.tokens,
            revocations=info.context.sessions,
            rules=info.context.rules,
            refresh_token=refresh_token,
        )
        return SignedIn.from_session(session)

    @mutation(description="End the session this refresh token belongs to.")
    async def sign_out(self, info: Info, refresh_token: str) -> SignedOut:
        return SignedOut(sessions_ended=await auth.sign_out(refresh_token=refresh_token))

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
    async def confirm_two_factor(self, info: Info, code: str) -> ConfirmTwoFactorResult:
        codes = await twofactor.confirm(
            account_id=signed_in(info.context).account_id,
            code=code,
            key=info.context.totp_key,
            rules=info.context.rules,
        )
        return TwoFactorEnabled(recovery_codes=codes)

    @mutation(
        description="Turn app 2FA off; needs a current code (or a recovery code).",
        permission_classes=[StepUp],
    )
    async def disable_two_factor(self, info: Info, code: str) -> DisableTwoFactorResult:
        await twofactor.disable(
            account_id=signed_in(info.context).account_id,
            code=code,
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
    async def request_pin_reset(self, info: Info, service_card_number: str, email: str) -> ResetRequested:
        await resets.request_pin_reset(
            service_card_number=service_card_number, email=email, rules=info.context.rules
        )
        return ResetRequested(message=REQUESTED)

    @mutation(
        description="Forgot the password: if the e-mail address belongs to a member with a password, a one-time "
        "code (valid 30 minutes) is e-mailed. The answer is always the same."
    )
    async def request_password_reset(self, info: Info, email: str) -> ResetRequested:
        await resets.request_password_reset(email=email, rules=info.context.rules)
        return ResetRequested(message=REQUESTED)

    @mutation(
        description="Set a new PIN with the e-mailed code. The code works once; the PIN follows the PIN rules "
        "(PIN_FORMAT, PIN_TOO_SIMPLE). Lifts a sign-in lockout and ends every session."
    )
    async def complete_pin_reset(self, info: Info, token: str, new_pin: str) -> CompleteResetResult:
        await resets.complete_reset(
            purpose=ResetPurpose.PIN,
            token=token,
            new_secret=new_pin,
            rules=info.context.rules,
            revocations=info.context.sessions,
        )
        return _reset_completed(ResetPurpose.PIN)

    @mutation(
        description="Set a new password with the e-mailed code. The code works once; the password follows the "
        "password rules. Lifts a sign-in lockout and ends every session."
    )
    async def complete_password_reset(self, info: Info, token: str, new_password: str) -> CompleteResetResult:
        await resets.complete_reset(
            purpose=ResetPurpose.PASSWORD,
            token=token,
            new_secret=new_password,
            rules=info.context.rules,
            revocations=info.context.sessions,
        )
        return _reset_completed(ResetPurpose.PASSWORD)

    @mutation(
        description="Forgot the user ID: sign in with service card number + PIN to see it in the profile, or "
        "send the e-mail address on file and it is e-mailed. The answer is always the same."
    )
    async def remind_user_id(self, info: Info, email: str) -> ResetRequested:
        await resets.remind_user_id(email=email)
        return ResetRequested(message=REQUESTED)
