"""SMS codes and trusted devices (DOMAIN.md 2): inputs and results (``Member.trustedDevices``' type is in
``schema.members.trusted_devices``: ``schema.auth`` depends on ``schema.members``, not the other way)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from loyalty.auth.sms import SmsSent
from schema.enums import SecondFactor
from schema.errors import InputError


@strawberry.input(description="Set up SMS codes: the mobile number, with its country code.")
class BeginSmsTwoFactorInput:
    phone_number: str = strawberry.field(description="E.164 or as typed, e.g. +49 151 12345678.")


@strawberry.input(description="The code the SMS brought.")
class ConfirmSmsTwoFactorInput:
    code: str = strawberry.field(description="The 6 digits of the SMS.")


@strawberry.input(
    description="Turn SMS codes off: the code sendDisableSmsTwoFactorCode sent to the registered number."
)
class DisableSmsTwoFactorInput:
    code: str = strawberry.field(description="The 6 digits of that SMS.")


@strawberry.input(description="A sign-in that asked for the second factor, which has SMS among its methods.")
class SendSignInSmsCodeInput:
    challenge: str = strawberry.field(description="The challenge of TwoFactorRequired.")


@strawberry.input(description="Finish a sign-in with a second-factor code, and perhaps trust this device.")
class CompleteSecondFactorInput:
    challenge: str = strawberry.field(description="The challenge of TwoFactorRequired.")
    code: str = strawberry.field(description="The app's code, a recovery code, or the SMS code.")
    method: SecondFactor | None = strawberry.field(
        default=None, description="APP or SMS; default: APP when the app factor is on, else SMS."
    )
    trust_device: bool = strawberry.field(
        default=False,
        description="Trust this device: sign-ins on it skip the second factor for 30 days (configurable). "
        "The answer's trustedDeviceToken is then set: send it with signIn from this device.",
    )
    device_name: str | None = strawberry.field(
        default=None, description="How the device is listed in trustedDevices (at most 80 characters)."
    )


@strawberry.input(description="The trusted device to forget.")
class RevokeTrustedDeviceInput:
    id: strawberry.ID = strawberry.field(description="The id from Member.trustedDevices.")


@strawberry.type(description="A code is on its way by SMS.")
class SmsCodeSent:
    phone_number_hint: str = strawberry.field(description="The number it goes to, mostly hidden.")
    expires_in: int = strawberry.field(description="Seconds the code works.")

    @classmethod
    def from_domain(cls, sent: SmsSent) -> SmsCodeSent:
        return cls(phone_number_hint=sent.phone_number_hint, expires_in=sent.expires_in)


@strawberry.type(description="SMS codes are on: sign-ins may be completed with a code sent to this number.")
class SmsTwoFactorEnabled:
    phone_number_hint: str = strawberry.field(description="The number, mostly hidden.")


@strawberry.type(description="SMS codes are off.")
class SmsTwoFactorDisabled:
    disabled: bool = strawberry.field(
        description="Always true: a member without SMS codes is answered SMS_TWO_FACTOR_NOT_ENABLED."
    )


@strawberry.type(description="The device is no longer trusted: its next sign-in asks for the second factor.")
class TrustedDeviceRevoked:
    id: strawberry.ID = strawberry.field(description="The device's id.")


RevokeTrustedDeviceResult = Annotated[
    TrustedDeviceRevoked | InputError, strawberry.union("RevokeTrustedDeviceResult")
]
