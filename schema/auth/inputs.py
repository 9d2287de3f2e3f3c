"""The sign-in, second-factor and reset mutations' input objects that are not in ``types.py``."""

from __future__ import annotations

import strawberry

CHALLENGE = "The challenge signIn answered with (TwoFactorRequired.challenge)."
TOTP_CODE = "The authenticator app's current code, or a recovery code."
REFRESH_TOKEN = "The refresh token of the session."  # noqa: S105 - a description
EMAIL = "The e-mail address on file."
SERVICE_CARD_NUMBER = "The service card number."
RESET_TOKEN = "The one-time code the e-mail carried."  # noqa: S105 - a description
NEW_PIN = "The new PIN: 6 digits, not trivial."
NEW_PASSWORD = "The new password."  # noqa: S105 - a description, not a password


@strawberry.input(description="The second step of a sign-in that asked for the authenticator-app code.")
class CompleteSignInInput:
    challenge: str = strawberry.field(description=CHALLENGE)
    code: str = strawberry.field(description=TOTP_CODE)


@strawberry.input(description="A session's refresh token.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(description=REFRESH_TOKEN)


@strawberry.input(description="An authenticator-app code (or a recovery code).")
class TwoFactorCodeInput:
    code: str = strawberry.field(description=TOTP_CODE)


@strawberry.input(description="The details of a forgotten PIN's member.")
class RequestPinResetInput:
    service_card_number: str = strawberry.field(description=SERVICE_CARD_NUMBER)
    email: str = strawberry.field(description=EMAIL)


@strawberry.input(description="An e-mail address on file.")
class EmailInput:
    email: str = strawberry.field(description=EMAIL)


@strawberry.input(description="The e-mailed code and the new PIN.")
class CompletePinResetInput:
    token: str = strawberry.field(description=RESET_TOKEN)
    new_pin: str = strawberry.field(description=NEW_PIN)


@strawberry.input(description="The e-mailed code and the new password.")
class CompletePasswordResetInput:
    token: str = strawberry.field(description=RESET_TOKEN)
    new_password: str = strawberry.field(description=NEW_PASSWORD)
