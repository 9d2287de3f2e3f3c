"""SMS codes as a second factor, completing a sign-in with any factor, and trusted devices (DOMAIN.md 2)."""

from __future__ import annotations

import strawberry

from resolvers import auth, twofactor
from schema.auth.second_factor import (
    BeginSmsTwoFactorInput,
    CompleteSecondFactorInput,
    ConfirmSmsTwoFactorInput,
    DisableSmsTwoFactorInput,
    RevokeTrustedDeviceInput,
    RevokeTrustedDeviceResult,
    SendSignInSmsCodeInput,
    SmsCodeSent,
    SmsTwoFactorDisabled,
    SmsTwoFactorEnabled,
    TrustedDeviceRevoked,
)
from schema.auth.types import (
    BeginSmsTwoFactorResult,
    CompleteSecondFactorResult,
    ConfirmSmsTwoFactorResult,
    DisableSmsTwoFactorResult,
    SendDisableSmsTwoFactorCodeResult,
    SendSignInSmsCodeResult,
    SignedIn,
)
from schema.context import Info
from schema.fields import mutation
from schema.permissions import StepUp, signed_in


@strawberry.type
class SecondFactorMutations:
    @mutation(
        description="Send the SMS code for a sign-in that asked for the second factor (methods holds SMS). "
        "6 digits, valid 5 minutes; a new one replaces the last, at most 3 per sign-in. Nothing is sent while "
        "the factor is blocked (5 wrong codes block it for 30 minutes)."
    )
    async def send_sign_in_sms_code(
        self, info: Info, input: SendSignInSmsCodeInput
    ) -> SendSignInSmsCodeResult:
        context = info.context
        sent = await auth.send_sign_in_sms(
            tokens=context.tokens, rules=context.rules, key=context.totp_key, challenge=input.challenge
        )
        return SmsCodeSent.from_domain(sent)

    @mutation(
        description="Finish a sign-in with the second factor: the app's code, a recovery code or the SMS code. "
        "With trustDevice, the answer carries a trustedDeviceToken: sign-ins that send it skip the second "
        "factor for 30 days (configurable), until the member revokes the device or signs out everywhere."
    )
    async def complete_second_factor(
        self, info: Info, input: CompleteSecondFactorInput
    ) -> CompleteSecondFactorResult:
        context = info.context
        session = await auth.complete_sign_in(
            tokens=context.tokens,
            rules=context.rules,
            totp_key=context.totp_key,
            challenge=input.challenge,
            code=input.code,
            method=input.method,
            trust_device=input.trust_device,
            device_name=input.device_name,
        )
        return SignedIn.from_session(session)

    @mutation(
        description="Set up SMS codes as a second factor: a code is sent to the number; confirm it with "
        "confirmSmsTwoFactor. Needs AUTHENTICATED.",
        permission_classes=[StepUp],
    )
    async def begin_sms_two_factor(
        self, info: Info, input: BeginSmsTwoFactorInput
    ) -> BeginSmsTwoFactorResult:
        sent = await twofactor.begin_sms(
            account_id=signed_in(info.context).account_id,
            phone_number=input.phone_number,
            key=info.context.totp_key,
            rules=info.context.rules,
        )
        return SmsCodeSent.from_domain(sent)

    @mutation(
        description="Turn SMS codes on with the code the set-up SMS brought. Wrong codes count as at sign-in.",
        permission_classes=[StepUp],
    )
    async def confirm_sms_two_factor(
        self, info: Info, input: ConfirmSmsTwoFactorInput
    ) -> ConfirmSmsTwoFactorResult:
        hint = await twofactor.confirm_sms(
            account_id=signed_in(info.context).account_id,
            code=input.code,
            key=info.context.totp_key,
            rules=info.context.rules,
        )
        return SmsTwoFactorEnabled(phone_number_hint=hint)

    @mutation(
        description="Send a code for turning SMS codes off to the registered number (6 digits, valid 5 "
        "minutes; a new one replaces the last, at most 3 unexpired at a time); disableSmsTwoFactor takes it. "
        "Needs AUTHENTICATED. Nothing is sent while the factor is blocked.",
        permission_classes=[StepUp],
    )
    async def send_disable_sms_two_factor_code(self, info: Info) -> SendDisableSmsTwoFactorCodeResult:
        sent = await twofactor.send_sms_disable_code(
            account_id=signed_in(info.context).account_id,
            key=info.context.totp_key,
            rules=info.context.rules,
        )
        return SmsCodeSent.from_domain(sent)

    @mutation(
        description="Turn SMS codes off with the code sendDisableSmsTwoFactorCode sent to the registered "
        "number. Needs AUTHENTICATED (fresh credentials and second factor); wrong codes count as at sign-in.",
        permission_classes=[StepUp],
    )
    async def disable_sms_two_factor(
        self, info: Info, input: DisableSmsTwoFactorInput
    ) -> DisableSmsTwoFactorResult:
        await twofactor.disable_sms(
            account_id=signed_in(info.context).account_id,
            code=input.code,
            key=info.context.totp_key,
            rules=info.context.rules,
        )
        return SmsTwoFactorDisabled(disabled=True)

    @mutation(
        description="Stop trusting one device: its next sign-in asks for the second factor. Allowed at "
        "IDENTIFIED, like signing out everywhere (which revokes every trusted device)."
    )
    async def revoke_trusted_device(
        self, info: Info, input: RevokeTrustedDeviceInput
    ) -> RevokeTrustedDeviceResult:
        await twofactor.revoke_trusted_device(
            account_id=signed_in(info.context).account_id, device_id=str(input.id)
        )
        return TrustedDeviceRevoked(id=input.id)
