"""Profile resolvers: refuse with StepUpRequired unless the session is AUTHENTICATED."""

from __future__ import annotations

from loyalty.errors import DomainError
from loyalty.members import profile
from resolvers.auth import require_member, step_up_needed
from schema.context import Info
from schema.errors import InputError
from schema.members import Member
from schema.profile import (
    ChangeSecretResult,
    ProfileUpdated,
    SecretChanged,
    UpdateProfileInput,
    UpdateProfileResult,
)


async def update_profile(info: Info, data: UpdateProfileInput) -> UpdateProfileResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        member = await profile.update_profile(
            account_id=principal.account_id, language=data.language, user_id=data.user_id
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return ProfileUpdated(member=Member.from_model(member))


async def change_pin(info: Info, new_pin: str) -> ChangeSecretResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        await profile.change_pin(account_id=principal.account_id, new_pin=new_pin, rules=info.context.rules)
    except DomainError as error:
        return InputError.from_domain(error)
    return SecretChanged()


async def change_password(info: Info, new_password: str) -> ChangeSecretResult:
    principal = require_member(info)
    if (refused := step_up_needed(info)) is not None:
        return refused
    try:
        await profile.change_password(
            account_id=principal.account_id, new_password=new_password, rules=info.context.rules
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return SecretChanged()
