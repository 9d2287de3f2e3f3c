"""The member's own changes: enrolment, profile, PIN and password."""

from __future__ import annotations

import strawberry

from resolvers import members, profile
from schema.context import Info
from schema.fields import mutation
from schema.members.changes import (
    ChangeSecretResult,
    EnrolMemberInput,
    EnrolMemberResult,
    EnrolMemberSuccess,
    ProfileUpdated,
    SecretChanged,
    UpdateProfileInput,
    UpdateProfileResult,
)
from schema.members.types import Member
from schema.permissions import StepUp, signed_in


@strawberry.type
class MemberMutations:
    @mutation(
        description="Enrol a new member: returns the 9-digit account number, the first 15-digit service card "
        "number and an access token. Base members without advertising consent get a 9999 card, with it 9920."
    )
    async def enrol_member(self, info: Info, input: EnrolMemberInput) -> EnrolMemberResult:
        context = info.context
        enrolled = await members.enrol_member(
            enrolment=input.to_domain(), rules=context.rules, tokens=context.tokens
        )
        return EnrolMemberSuccess(
            member=Member.from_model(enrolled.member),
            service_card_number=enrolled.service_card_number,
            account_number=enrolled.member.account_number,
            access_token=enrolled.access_token,
            expires_in=enrolled.expires_in,
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
    async def change_pin(self, info: Info, new_pin: str) -> ChangeSecretResult:
        await profile.change_pin(
            account_id=signed_in(info.context).account_id, new_pin=new_pin, rules=info.context.rules
        )
        return SecretChanged()

    @mutation(
        description="Set a new password (user ID and e-mail sign-in). Needs AUTHENTICATED.",
        permission_classes=[StepUp],
    )
    async def change_password(self, info: Info, new_password: str) -> ChangeSecretResult:
        await profile.change_password(
            account_id=signed_in(info.context).account_id, new_password=new_password, rules=info.context.rules
        )
        return SecretChanged()
