"""Second-factor resolvers: every change needs an AUTHENTICATED session (a profile change, DOMAIN.md 2)."""

from __future__ import annotations

import datetime as dt

from loyalty.auth import totp
from loyalty.members.service import get_member
from loyalty.rules import ProgrammeRules


async def begin(*, account_id: int, key: bytes, rules: ProgrammeRules) -> totp.TotpEnrolment:
    member = await get_member(account_id=account_id)
    return await totp.begin_enrolment(
        account_id=account_id,
        account_label=member.email or member.account_number,
        key=key,
        rules=rules.two_factor,
    )


async def confirm(*, account_id: int, code: str, key: bytes, rules: ProgrammeRules) -> list[str]:
    """The one-time recovery codes."""
    return await totp.confirm_enrolment(
        account_id=account_id, code=code, key=key, rules=rules.two_factor, now=dt.datetime.now(dt.UTC)
    )


async def disable(*, account_id: int, code: str, key: bytes, rules: ProgrammeRules) -> None:
    await totp.disable(
        account_id=account_id, code=code, key=key, rules=rules.two_factor, now=dt.datetime.now(dt.UTC)
    )
