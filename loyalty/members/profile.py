"""Profile changes a signed-in member makes (each needs an AUTHENTICATED session, DOMAIN.md 2)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.errors import Conflict, ValidationFailed
from loyalty.members.models import Member
from loyalty.members.pins import check_pin_rules, hash_secret
from loyalty.members.service import check_password_rules, clean_user_id, get_member
from loyalty.rules import ProgrammeRules

LANGUAGES = frozenset({"en", "de", "fr", "it", "es", "pl", "nl", "zh"})


async def change_pin(*, account_id: int, new_pin: str, rules: ProgrammeRules) -> None:
    """A new PIN; the service card number stays."""
    member = await get_member(account_id=account_id)
    check_pin_rules(new_pin, rules.pin, date_of_birth=member.date_of_birth)
    await Member.filter(id=account_id).update(pin_hash=await hash_secret(new_pin))


async def change_password(*, account_id: int, new_password: str, rules: ProgrammeRules) -> None:
    member = await get_member(account_id=account_id)
    check_password_rules(new_password, rules, email=member.email or "", user_id=member.user_id)
    await Member.filter(id=account_id).update(password_hash=await hash_secret(new_password))


async def update_profile(*, account_id: int, language: str | None, user_id: str | None) -> Member:
    """Change the language of messages and the user ID (a new user ID must be free)."""
    updates: dict[str, str] = {}
    if language is not None:
        code = language.strip().lower()
        if code not in LANGUAGES:
            raise ValidationFailed("This language is not offered.", field="language", code="LANGUAGE_INVALID")
        updates["language"] = code
    if user_id is not None:
        cleaned = clean_user_id(user_id)
        if cleaned is None:
            raise ValidationFailed("The user ID is empty.", field="userId", code="USER_ID_INVALID")
        updates["user_id"] = cleaned
    if updates:
        try:
            async with in_transaction():
                await Member.filter(id=account_id).update(**updates)
        except IntegrityError as exc:
            raise Conflict("This user ID is taken.", field="userId", code="USER_ID_TAKEN") from exc
    return await get_member(account_id=account_id)
