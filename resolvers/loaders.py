"""The batch functions behind the per-request DataLoaders (``schema.loaders``): one per access
pattern, each answering a list aligned with its keys."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from loyalty.auth.models import LinkedIdentity, TotpFactor
from loyalty.ledger.expiry import miles_expiring_for
from loyalty.ledger.models import Currency
from loyalty.ledger.service import member_balances_for
from loyalty.members.models import CardState, Member, ServiceCard


async def members_by_id(keys: Sequence[int]) -> list[Member | None]:
    found = {member.id: member for member in await Member.filter(id__in=list(keys))}
    return [found.get(key) for key in keys]


async def active_card_by_account(keys: Sequence[int]) -> list[ServiceCard | None]:
    cards = await ServiceCard.filter(account_id__in=list(keys), state=CardState.ACTIVE)
    found = {card.account_id: card for card in cards}
    return [found.get(key) for key in keys]


async def balances_by_account(keys: Sequence[int]) -> list[dict[Currency, int]]:
    return await member_balances_for(account_ids=keys, year=dt.datetime.now(dt.UTC).year)


async def two_factor_by_account(keys: Sequence[int]) -> list[bool]:
    factors = await TotpFactor.filter(account_id__in=list(keys), confirmed_at__isnull=False).only(
        "account_id"
    )
    confirmed = {factor.account_id for factor in factors}
    return [key in confirmed for key in keys]


async def identities_by_account(keys: Sequence[int]) -> list[list[LinkedIdentity]]:
    grouped: dict[int, list[LinkedIdentity]] = defaultdict(list)
    for identity in await LinkedIdentity.filter(account_id__in=list(keys)).order_by("linked_at"):
        grouped[identity.account_id].append(identity)
    return [grouped[key] for key in keys]


async def miles_expiring_by_account(keys: Sequence[int]) -> list[list[tuple[dt.date, int]]]:
    return await miles_expiring_for(account_ids=list(keys), today=dt.datetime.now(dt.UTC).date())
