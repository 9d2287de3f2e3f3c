"""The member's own changes: enrolment (request, then confirm), profile, PIN and password."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import members, profile
from schema.context import Info
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
from schema.members.changes import (
    ChangeSecretResult,
    ConfirmEmailVerificationInput,
    ConfirmEmailVerificationResult,
    ConfirmEnrolmentInput,
    ConfirmEnrolmentResult,
    EmailVerificationPending,
    EmailVerified,
    EnrolMemberInput,
    EnrolMemberResult,
    EnrolMemberSuccess,
    EnrolmentPending,
    ProfileUpdated,
    RequestEmailVerificationInput,
    RequestEmailVerificationResult,
    SecretChanged,
    UpdateProfileInput,
    UpdateProfileResult,
)
from schema.members.inputs import NEW_PASSWORD, NEW_PIN, ChangePasswordInput, ChangePinInput
from schema.members.types import Member
from schema.permissions import StepUp, signed_in


@strawberry.type
class MemberMutations:
    @mutation(
        description="Start an enrolment: an e-mail with a code goes to the address (to one already enrolled, a "
        "notice instead). The answer is the same for every address; finish with confirmEnrolment."
    )
    async def enrol_member(self, info: Info, input: EnrolMemberInput) -> EnrolMemberResult:
        requested = await members.request_enrolment(enrolment=input.to_domain(), rules=info.context.rules)
        return EnrolmentPending.from_domain(requested)

    @mutation(
        description="Finish an enrolment with the e-mailed code: returns the 9-digit account number, the first "
        "15-digit service card number and an access token. Base members without advertising consent get a "
        "9999 card, with it 9920. A code works once; too many wrong ones end the enrolment."
    )
    async def confirm_enrolment(self, info: Info, input: ConfirmEnrolmentInput) -> ConfirmEnrolmentResult:
        context = info.context
        enrolled = await members.confirm_enrolment(
            enrolment_id=input.enrolment_id, code=input.code, rules=context.rules, tokens=context.tokens
        )
        return EnrolMemberSuccess(
            member=Member.from_model(enrolled.member),
            service_card_number=enrolled.service_card_number,
            account_number=enrolled.member.account_number,
            access_token=enrolled.access_token,
            expires_in=enrolled.expires_in,
            user_id_taken=enrolled.user_id_taken,
        )

    @mutation(description="Change language or user ID. Needs AUTHENTICATED.", permission_classes=[StepUp])
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> UpdateProfileResult:
        member = await profile.update_profile(
            account_id=signed_in(info.context).account_id, language=input.language, user_id=input.user_id
        )
        return ProfileUpdated(member=Member.from_model(member))

    @mutation(
        description="Set a new PIN (6 digits, not trivial). Needs AUTHENTICATED.", permission_classes=[StepUp]
    )
    async def change_pin(
        self,
        info: Info,
        input: ChangePinInput | None = None,
        new_pin: Annotated[str | None, old_argument(NEW_PIN, field="newPin")] = None,
    ) -> ChangeSecretResult:
        given = from_arguments(ChangePinInput, input, new_pin=new_pin)
        await profile.change_pin(
            account_id=signed_in(info.context).account_id, new_pin=given.new_pin, rules=info.context.rules
        )
        return SecretChanged()

    @mutation(
        description="Set a new password (user ID and e-mail sign-in). Needs AUTHENTICATED.",
        permission_classes=[StepUp],
    )
    async def change_password(
        self,
        info: Info,
        input: ChangePasswordInput | None = None,
        new_password: Annotated[str | None, old_argument(NEW_PASSWORD, field="newPassword")] = None,
    ) -> ChangeSecretResult:
        given = from_arguments(ChangePasswordInput, input, new_password=new_password)
        await profile.change_password(
            account_id=signed_in(info.context).account_id,
            new_password=given.new_password,
            rules=info.context.rules,
        )
        return SecretChanged()

    @mutation(
        description="E-mail a code to verify the address on file, or a new address (input.email) that "
        "replaces it once confirmed. E-mail sign-in and messages use an address only once it is verified. "
        "Needs AUTHENTICATED.",
        permission_classes=[StepUp],
    )
    async def request_email_verification(
        self, info: Info, input: RequestEmailVerificationInput
    ) -> RequestEmailVerificationResult:
        requested = await profile.request_email_verification(
            account_id=signed_in(info.context).account_id, email=input.email, rules=info.context.rules
        )
        return EmailVerificationPending.from_domain(requested)

    @mutation(
        description="Confirm an address with the e-mailed code: it is then on file and verified. A code works "
        "once, for the member who asked for it; too many wrong ones end the verification. Needs AUTHENTICATED.",
        permission_classes=[StepUp],
    )
    async def confirm_email_verification(
        self, info: Info, input: ConfirmEmailVerificationInput
    ) -> ConfirmEmailVerificationResult:
        member = await profile.confirm_email_verification(
            account_id=signed_in(info.context).account_id,
            verification_id=input.verification_id,
            code=input.code,
            rules=info.context.rules,
        )
        return EmailVerified(member=Member.from_model(member))
