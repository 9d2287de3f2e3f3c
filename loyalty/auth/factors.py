"""Which second factors a member has on: the authenticator app, SMS codes, or both (DOMAIN.md 2)."""

from __future__ import annotations

from enum import StrEnum

from loyalty.auth.sms import has_confirmed_sms
from loyalty.auth.totp import has_confirmed_factor


class SecondFactor(StrEnum):
    APP = "APP"
    SMS = "SMS"


async def second_factors(*, account_id: int) -> tuple[SecondFactor, ...]:
    """The member's confirmed second factors, the app first; empty when sign-in needs none."""
    found = []
    if await has_confirmed_factor(account_id=account_id):
        found.append(SecondFactor.APP)
    if await has_confirmed_sms(account_id=account_id):
        found.append(SecondFactor.SMS)
    return tuple(found)
