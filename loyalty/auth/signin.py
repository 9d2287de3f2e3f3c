"""What happens once a member has proved who they are: second factor, session, first app login bonus."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from loyalty.auth.models import SignInRecord
from loyalty.auth.sessions import IssuedRefresh, start_family
from loyalty.crediting import post
from loyalty.ledger.models import Currency, PostingSource
from loyalty.members.models import SessionLevel
from loyalty.rules import ProgrammeRules


class Platform(StrEnum):
    """Which client signs in; the mobile apps earn the first app login bonus."""

    WEB = "WEB"
    IOS = "IOS"
    ANDROID = "ANDROID"


APP_PLATFORMS = frozenset({Platform.IOS, Platform.ANDROID})


@dataclass(frozen=True, slots=True)
class SessionGranted:
    refresh: IssuedRefresh
    bonus_miles: int
    """Award miles credited by this sign-in (the first app login bonus), else 0."""


async def grant_session(
    *, account_id: int, method: str, platform: Platform, rules: ProgrammeRules, now: dt.datetime
) -> SessionGranted:
    """Start an AUTHENTICATED session; credit the first app login bonus once per member ever."""
    refresh = await start_family(account_id=account_id, platform=platform.value, rules=rules.sign_in, now=now)
    await SignInRecord.create(
        account_id=account_id, method=method, platform=platform.value, level=SessionLevel.AUTHENTICATED
    )
    bonus = 0
    if platform in APP_PLATFORMS:
        bonus = await credit_first_app_login_bonus(account_id=account_id, rules=rules, today=now.date())
    return SessionGranted(refresh=refresh, bonus_miles=bonus)


async def credit_first_app_login_bonus(*, account_id: int, rules: ProgrammeRules, today: dt.date) -> int:
    """500 award miles at the first sign-in from the app (DOMAIN.md 7): the account id is the key, so
    concurrent first sign-ins on two phones credit it once."""
    miles = rules.sign_in.first_app_login_bonus_miles
    if miles <= 0:
        return 0
    result = await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.FIRST_APP_LOGIN_BONUS,
        idempotency_key=f"first-app-login:{account_id}",
        activity_date=today,
        rule_version=rules.version,
        rules=rules,
        description="Welcome to the app",
    )
    return miles if result.created else 0
