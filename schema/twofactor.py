"""The authenticator-app second factor (TOTP, RFC 6238): enrol, confirm, disable (DOMAIN.md 2)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.auth import AccountLocked, StepUpRequired, WrongCredentials
from schema.errors import InputError


@strawberry.type(description="Scan the QR code (or type the secret) into an authenticator app, then confirm.")
class TwoFactorEnrolment:
    secret: str = strawberry.field(description="Base32, 160 bits: for typing into the app by hand.")
    otpauth_uri: str = strawberry.field(description="The otpauth:// URI an authenticator app reads.")
    qr_code_svg: str = strawberry.field(description="The otpauth URI as a QR code, an SVG document.")


@strawberry.type(description="App 2FA is on: from now on every sign-in asks for a code.")
class TwoFactorEnabled:
    recovery_codes: list[str] = strawberry.field(
        description="One-time codes for when the phone is lost. Shown only now: keep them safe."
    )


@strawberry.type(description="App 2FA is off.")
class TwoFactorDisabled:
    disabled: bool = strawberry.field(default=True, description="Always true.")


BeginTwoFactorResult = Annotated[
    TwoFactorEnrolment | StepUpRequired | InputError, strawberry.union("BeginTwoFactorResult")
]
ConfirmTwoFactorResult = Annotated[
    TwoFactorEnabled | WrongCredentials | AccountLocked | StepUpRequired | InputError,
    strawberry.union("ConfirmTwoFactorResult"),
]
DisableTwoFactorResult = Annotated[
    TwoFactorDisabled | WrongCredentials | AccountLocked | StepUpRequired | InputError,
    strawberry.union("DisableTwoFactorResult"),
]
