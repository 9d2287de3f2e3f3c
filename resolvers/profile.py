"""Profile resolvers: language, user ID, PIN, password and the e-mail address (verified by an e-mailed
code); the schema asks for an AUTHENTICATED session."""

from __future__ import annotations

import datetime as dt

from loyalty import addresses
from loyalty.members import profile
from loyalty.members.models import Member
from loyalty.rules import ProgrammeRules


async def update_profile(*, account_id: int, language: str | None, user_id: str | None) -> Member:
    return await profile.update_profile(account_id=account_id, language=language, user_id=user_id)


async def change_pin(*, account_id: int, new_pin: str, rules: ProgrammeRules) -> None:
    await profile.change_pin(account_id=account_id, new_pin=new_pin, rules=rules)


async def change_password(*, account_id: int, new_password: str, rules: ProgrammeRules) -> None:
    await profile.change_password(account_id=account_id, new_password=new_password, rules=rules)


async def request_email_verification(
    *, account_id: int, email: str | None, rules: ProgrammeRules
) -> addresses.VerificationRequested:
    return await addresses.request_address_verification(
        account_id=account_id, email=email, rules=rules, now=dt.datetime.now(dt.UTC)
    )


async def confirm_email_verification(
    *, account_id: int, verification_id: str, code: str, rules: ProgrammeRules
) -> Member:
    return await addresses.confirm_address_verification(
        account_id=account_id,
        verification_id=verification_id,
        code=code,
        rules=rules,
        now=dt.datetime.now(dt.UTC),
    )
