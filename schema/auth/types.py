"""Signing in and out, the authenticator-app second factor and forgotten secrets: union results for every
outcome a member can meet (DOMAIN.md 2)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.auth import sessions, totp
from loyalty.auth.credentials import AccountLocked as Locked
from loyalty.errors import InvalidCredentials
from resolvers.auth import Session
from resolvers.sign_in import SecondFactorNeeded
from schema.auth.enums import Platform, SecondFactor, SessionLevel, SignInMethod
from schema.auth.second_factor import SmsCodeSent, SmsTwoFactorDisabled, SmsTwoFactorEnabled
from schema.errors import InputError, StepUpRequired
from schema.members.types import Member


@strawberry.input(description="Credentials typed by the member.")
class SignInInput:
    method: SignInMethod = strawberry.field(description="Which identifier is given.")
    identifier: str = strawberry.field(description="Service card number, user ID or e-mail address.")
    secret: str = strawberry.field(description="The PIN (with a service card number) or the password.")
    platform: Platform = strawberry.field(
        default=Platform.WEB, description="WEB, IOS or ANDROID; the first app sign-in earns bonus miles."
    )
    trusted_device_token: str | None = strawberry.field(
        default=None,
        description="The token this device got when the member trusted it (completeSecondFactor with "
        "trustDevice): while it is valid, sign-in skips the second factor.",
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
    trusted_device_token: str | None = strawberry.field(
        default=None,
        description="Set once, when this sign-in trusted its device: keep it on the device and send it with "
        "signIn. Null otherwise.",
    )

    @classmethod
    def from_session(cls, session: Session) -> SignedIn:
        return cls(
            member=Member.from_model(session.member),
            access_token=session.tokens.access_token,
            refresh_token=session.tokens.refresh_token,
            expires_in=session.tokens.expires_in,
            session_level=session.level,
            bonus_miles_credited=session.tokens.bonus_miles,
            trusted_device_token=session.trusted_device_token,
        )


@strawberry.type(
    description="The member has a second factor on: send a current code with completeSignIn or "
    "completeSecondFactor (for SMS, ask for the code with sendSignInSmsCode first)."
)
class TwoFactorRequired:
    challenge: str = strawberry.field(
        description="Pass it to completeSignIn; valid for expiresIn seconds, once."
    )
    expires_in: int = strawberry.field(description="Seconds the challenge stays valid.")
    methods: list[SecondFactor] = strawberry.field(
        default_factory=lambda: [SecondFactor.APP],
        description="The second factors the member has on (APP, SMS): any one completes the sign-in.",
    )

    @classmethod
    def from_domain(cls, needed: SecondFactorNeeded) -> TwoFactorRequired:
        return cls(challenge=needed.challenge, expires_in=needed.expires_in, methods=list(needed.methods))


@strawberry.type(description="Wrong credentials or code. The same answer whether or not the account exists.")
class WrongCredentials:
    code: str = strawberry.field(
        description="INVALID_CREDENTIALS, TWO_FACTOR_INVALID or TWO_FACTOR_CODE_REUSED."
    )
    message: str = strawberry.field(description="A sentence for people.")

    domain_errors = (InvalidCredentials, totp.TwoFactorInvalid, totp.TwoFactorCodeReused)

    @classmethod
    def from_domain(
        cls, error: InvalidCredentials | totp.TwoFactorInvalid | totp.TwoFactorCodeReused
    ) -> WrongCredentials:
        return cls(code=error.code, message=error.message)


@strawberry.type(
    description="Too many wrong attempts: sign-in (or the second factor) is blocked until unlocksAt."
)
class AccountLocked:
    code: str = strawberry.field(description="ACCOUNT_LOCKED or TWO_FACTOR_LOCKED.")
    message: str = strawberry.field(description="A sentence for people.")
    unlocks_at: dt.datetime = strawberry.field(description="When sign-in works again.")

    domain_errors = (Locked, totp.TwoFactorLocked)

    @classmethod
    def from_domain(cls, error: Locked | totp.TwoFactorLocked) -> AccountLocked:
        return cls(code=error.code, message=error.message, unlocks_at=error.unlocks_at)


@strawberry.type(description="The session or token has ended: sign in again.")
class SessionEnded:
    code: str = strawberry.field(
        description="REFRESH_TOKEN_INVALID, REFRESH_TOKEN_REUSED, CHALLENGE_INVALID or CHALLENGE_USED."
    )
    message: str = strawberry.field(description="A sentence for people.")

    domain_errors = (sessions.RefreshRefused, totp.ChallengeRefused)

    @classmethod
    def from_domain(cls, error: sessions.RefreshRefused | totp.ChallengeRefused) -> SessionEnded:
        return cls(code=error.code, message=error.message)


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
CompleteSecondFactorResult = Annotated[
    SignedIn | WrongCredentials | AccountLocked | SessionEnded | InputError,
    strawberry.union("CompleteSecondFactorResult"),
]
SendSignInSmsCodeResult = Annotated[
    SmsCodeSent | AccountLocked | SessionEnded | InputError, strawberry.union("SendSignInSmsCodeResult")
]
BeginSmsTwoFactorResult = Annotated[
    SmsCodeSent | AccountLocked | StepUpRequired | InputError, strawberry.union("BeginSmsTwoFactorResult")
]
ConfirmSmsTwoFactorResult = Annotated[
    SmsTwoFactorEnabled | WrongCredentials | AccountLocked | StepUpRequired | InputError,
    strawberry.union("ConfirmSmsTwoFactorResult"),
]
SendDisableSmsTwoFactorCodeResult = Annotated[
    SmsCodeSent | AccountLocked | StepUpRequired | InputError,
    strawberry.union("SendDisableSmsTwoFactorCodeResult"),
]
DisableSmsTwoFactorResult = Annotated[
    SmsTwoFactorDisabled | WrongCredentials | AccountLocked | StepUpRequired | InputError,
    strawberry.union("DisableSmsTwoFactorResult"),
]


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


@strawberry.type(
    description="The request is taken. The answer is the same whether or not the details belong to a member, "
    "so it tells nobody who is enrolled; a member whose details match gets an e-mail."
)
class ResetRequested:
    message: str = strawberry.field(
        description="The same sentence whether or not the details matched a member."
    )


@strawberry.type(
    description="The new PIN or password is set: the sign-in lockout is lifted and every session has ended. "
    "Sign in again with the new one (and the authenticator app, if it is on)."
)
class ResetCompleted:
    message: str = strawberry.field(description="A sentence for people.")


CompleteResetResult = Annotated[ResetCompleted | InputError, strawberry.union("CompleteResetResult")]
