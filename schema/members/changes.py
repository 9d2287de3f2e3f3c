"""The inputs and results of the member's own changes: enrolment (request, then confirm) and profile (PIN,
password, user ID, language; each of the latter needs an AUTHENTICATED session)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty import addresses
from loyalty import enrolment as enrolments
from schema.errors import InputError, StepUpRequired
from schema.members.types import Member


@strawberry.input(description="What a new member tells us. Children are members too (from age 2).")
class EnrolMemberInput:
    given_name: str = strawberry.field(description="As on the passport.")
    family_name: str = strawberry.field(description="As on the passport.")
    email: str = strawberry.field(
        description="Unique per member; used for e-mail sign-in and resets. The code that confirms the "
        "enrolment is sent to it."
    )
    date_of_birth: dt.date = strawberry.field(description="ISO date; members are at least 2 years old.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, e.g. DE.")
    pin: str = strawberry.field(description="6 digits; not repeated, consecutive or the date of birth.")
    language: str = strawberry.field(
        default="en",
        description="Language of messages: ISO 639-1, optionally with a region (de-CH); default en.",
    )
    advertising_consent: bool = strawberry.field(
        default=False, description="Without it a base member's card number starts with 9999, with it 9920."
    )
    user_id: str | None = strawberry.field(
        default=None,
        description="Optional: sign in with it and a password. Whether it is free is not told here (that "
        "would tell anybody which user IDs exist): see EnrolMemberSuccess.userIdTaken.",
    )
    password: str | None = strawberry.field(
        default=None, description="Optional: at least 10 characters; for user ID or e-mail sign-in."
    )

    def to_domain(self) -> enrolments.Enrolment:
        return enrolments.Enrolment(
            given_name=self.given_name,
            family_name=self.family_name,
            email=self.email,
            date_of_birth=self.date_of_birth,
            country=self.country,
            pin=self.pin,
            language=self.language,
            advertising_consent=self.advertising_consent,
            user_id=self.user_id,
            password=self.password,
        )


@strawberry.type(
    description="The enrolment waits for the code e-mailed to the address (confirmEnrolment). The same answer "
    "whatever the address: one already enrolled gets a notice instead of a code."
)
class EnrolmentPending:
    enrolment_id: str = strawberry.field(description="Opaque id to confirm the enrolment with.")
    expires_at: dt.datetime = strawberry.field(description="Until when the e-mailed code works.")
    message: str = strawberry.field(description="A sentence for people.")

    @classmethod
    def from_domain(cls, requested: enrolments.EnrolmentRequested) -> EnrolmentPending:
        return cls(
            enrolment_id=requested.enrolment_id,
            expires_at=requested.expires_at,
            message="We have sent an e-mail to the address you gave: enter its code to finish enrolling.",
        )


@strawberry.input(description="The enrolment to confirm and the code e-mailed for it.")
class ConfirmEnrolmentInput:
    enrolment_id: str = strawberry.field(description="From EnrolmentPending.enrolmentId.")
    code: str = strawberry.field(description="The code from the e-mail (digits).")


@strawberry.type(description="A member was enrolled and is signed in.")
class EnrolMemberSuccess:
    member: Member = strawberry.field(description="The new member.")
    service_card_number: str = strawberry.field(
        description="The first 15-digit service card number (prefix, body, Luhn digit)."
    )
    account_number: str = strawberry.field(description="The 9-digit account number; it never changes.")
    access_token: str = strawberry.field(description="Bearer token for the Authorization header.")
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user_id_taken: bool = strawberry.field(
        default=False,
        description="The user ID asked for was taken by another member by the time the enrolment was "
        "confirmed: the member has none (choose one with updateProfile); sign in with the e-mail address "
        "and password, or the card number and PIN.",
    )


EnrolMemberResult = Annotated[EnrolmentPending | InputError, strawberry.union("EnrolMemberResult")]
ConfirmEnrolmentResult = Annotated[
    EnrolMemberSuccess | InputError, strawberry.union("ConfirmEnrolmentResult")
]


@strawberry.input(description="Only the fields given change.")
class UpdateProfileInput:
    language: str | None = strawberry.field(default=None, description="Language of messages: en, de, fr, …")
    user_id: str | None = strawberry.field(default=None, description="A new user ID for password sign-in.")


@strawberry.type(description="The profile after the change.")
class ProfileUpdated:
    member: Member = strawberry.field(description="The member after the change.")


@strawberry.type(description="The new secret is set; the service card number and account number stay.")
class SecretChanged:
    changed: bool = strawberry.field(default=True, description="Always true.")


UpdateProfileResult = Annotated[
    ProfileUpdated | StepUpRequired | InputError, strawberry.union("UpdateProfileResult")
]
ChangeSecretResult = Annotated[
    SecretChanged | StepUpRequired | InputError, strawberry.union("ChangeSecretResult")
]


@strawberry.input(description="Which address to verify: the one on file (email left out) or a new one.")
class RequestEmailVerificationInput:
    email: str | None = strawberry.field(
        default=None,
        description="A new address: it replaces the one on file once its code is confirmed (until then "
        "the old one stays). Left out: verify the address on file.",
    )


@strawberry.type(
    description="A code is on its way to the address: confirm it with confirmEmailVerification. The same "
    "answer whatever the address (one that belongs to another member gets a notice instead of a code)."
)
class EmailVerificationPending:
    verification_id: str = strawberry.field(description="Opaque id to confirm the verification with.")
    expires_at: dt.datetime = strawberry.field(description="Until when the e-mailed code works.")
    message: str = strawberry.field(description="A sentence for people.")

    @classmethod
    def from_domain(cls, requested: addresses.VerificationRequested) -> EmailVerificationPending:
        return cls(
            verification_id=requested.verification_id,
            expires_at=requested.expires_at,
            message="We have sent an e-mail to the address: enter its code to confirm it.",
        )


@strawberry.input(description="The verification to confirm and the code e-mailed for it.")
class ConfirmEmailVerificationInput:
    verification_id: str = strawberry.field(description="From EmailVerificationPending.verificationId.")
    code: str = strawberry.field(description="The code from the e-mail (digits).")


@strawberry.type(description="The address is verified (and on file): e-mail sign-in and messages use it.")
class EmailVerified:
    member: Member = strawberry.field(description="The member with the verified address.")


RequestEmailVerificationResult = Annotated[
    EmailVerificationPending | StepUpRequired | InputError,
    strawberry.union("RequestEmailVerificationResult"),
]
ConfirmEmailVerificationResult = Annotated[
    EmailVerified | StepUpRequired | InputError, strawberry.union("ConfirmEmailVerificationResult")
]
