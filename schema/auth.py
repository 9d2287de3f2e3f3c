"""Signing in and out: union results for every outcome a member can meet (DOMAIN.md 2)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.auth.credentials import SignInMethod
from loyalty.auth.signin import Platform
from loyalty.members.models import SessionLevel
from schema.errors import InputError
from schema.members import Member

strawberry.enum(
    SignInMethod,
    description="What identifies the member: service card number (with PIN), user ID or e-mail (with password). "
    "TRAVEL_ID sign-in goes through /auth/travel-id/login.",
)
strawberry.enum(
    Platform, description="The client: the first sign-in from an app (IOS, ANDROID) earns a bonus."
)


@strawberry.input(description="Credentials typed by the member.")
class SignInInput:
    method: SignInMethod = strawberry.field(description="Which identifier is given.")
    identifier: str = strawberry.field(description="Service card number, user ID or e-mail address.")
    secret: str = strawberry.field(description="The PIN (with a service card number) or the password.")
    platform: Platform = strawberry.field(
        default=Platform.WEB, description="WEB, IOS or ANDROID; the first app sign-in earns bonus miles."
    )


@strawberry.type(description="Signed in: the session is AUTHENTICATED for a short window, then IDENTIFIED.")
class SignedIn:
    member: Member = strawberry.field(description="The signed-in member.")
    access_token: str = strawberry.field(description="Bearer token for the Authorization header.")
    refresh_token: str = strawberry.field(description="Trade it for new tokens with refreshSession; rotates.")
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    session_level: SessionLevel = strawberry.field(
        description="AUTHENTICATED after fresh credentials, IDENTIFIED after a refresh."
    )
    bonus_miles_credited: int = strawberry.field(
        description="Miles credited by this sign-in (first app login)."
    )


@strawberry.type(description="The member uses an authenticator app: send a current code with completeSignIn.")
class TwoFactorRequired:
    challenge: str = strawberry.field(
        description="Pass it to completeSignIn; valid for expiresIn seconds, once."
    )
    expires_in: int = strawberry.field(description="Seconds the challenge stays valid.")


@strawberry.type(description="Wrong credentials or code. The same answer whether or not the account exists.")
class WrongCredentials:
    code: str = strawberry.field(
        description="INVALID_CREDENTIALS, TWO_FACTOR_INVALID or TWO_FACTOR_CODE_REUSED."
    )
    message: str = strawberry.field(description="A sentence for people.")


@strawberry.type(
    description="Too many wrong attempts: sign-in (or the second factor) is blocked until unlocksAt."
)
class AccountLocked:
    code: str = strawberry.field(description="ACCOUNT_LOCKED or TWO_FACTOR_LOCKED.")
    message: str = strawberry.field(description="A sentence for people.")
    unlocks_at: dt.datetime = strawberry.field(description="When sign-in works again.")


@strawberry.type(description="The session or token has ended: sign in again.")
class SessionEnded:
    code: str = strawberry.field(
        description="REFRESH_TOKEN_INVALID, REFRESH_TOKEN_REUSED, CHALLENGE_INVALID or CHALLENGE_USED."
    )
    message: str = strawberry.field(description="A sentence for people.")


@strawberry.type(
    description="This needs a fresh sign-in (AUTHENTICATED): redeeming, profile changes, pooling, account linking."
)
class StepUpRequired:
    message: str = strawberry.field(description="A sentence for people.")
    required_level: SessionLevel = strawberry.field(description="The session level this needs.")


@strawberry.type(description="How many sessions were ended.")
class SignedOut:
    sessions_ended: int = strawberry.field(
        description="How many sessions (refresh-token families) were ended."
    )


SignInResult = Annotated[
    SignedIn | TwoFactorRequired | WrongCredentials | AccountLocked | InputError,
    strawberry.union("SignInResult"),
]
CompleteSignInResult = Annotated[
    SignedIn | WrongCredentials | AccountLocked | SessionEnded | InputError,
    strawberry.union("CompleteSignInResult"),
]
RefreshSessionResult = Annotated[SignedIn | SessionEnded, strawberry.union("RefreshSessionResult")]
