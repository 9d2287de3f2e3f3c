"""Offer resolvers: the member's ranked offers and activating one."""

from __future__ import annotations

import datetime as dt

from loyalty.offers import service
from loyalty.offers.models import OfferActivation


async def member_offers(*, account_id: int, first: int) -> list[service.OfferView]:
    """``Member.offers``: the first ``first`` offers; a count outside 1 to 20 is a domain error."""
    return await service.offers_for(account_id=account_id, now=dt.datetime.now(dt.UTC), limit=first)


async def activate_offer(*, account_id: int, code: str) -> OfferActivation:
    return await service.activate_offer(account_id=account_id, code=code, now=dt.datetime.now(dt.UTC))
