"""Profile resolvers: language, user ID, PIN and password (the schema asks for an AUTHENTICATED session)."""

from __future__ import annotations

from loyalty.members import profile
from loyalty.members.models import Member
from loyalty.rules import ProgrammeRules


async def update_profile(*, account_id: int, language: str | None, user_id: str | None) -> Member:
    return await profile.update_profile(account_id=account_id, language=language, user_id=user_id)


async def change_pin(*, account_id: int, new_pin: str, rules: ProgrammeRules) -> None:
    await profile.change_pin(account_id=account_id, new_pin=new_pin, rules=rules)


async def change_password(*, account_id: int, new_password: str, rules: ProgrammeRules) -> None:
    await profile.change_password(account_id=account_id, new_password=new_password, rules=rules)
