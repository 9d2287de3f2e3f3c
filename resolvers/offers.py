"""Offer resolvers: the member's ranked offers and activating one."""

from __future__ import annotations

import datetime as dt

from graphql import GraphQLError

from loyalty.errors import DomainError
from loyalty.offers import service
from resolvers.auth import require_member
from schema.context import Info
from schema.errors import InputError
from schema.offers import ActivateOfferResult, Offer, OfferActivated


async def member_offers(*, account_id: int, first: int, audience: service.Audience) -> list[Offer]:
    """``Member.offers``: the first ``first`` offers; a count outside 1 to 20 is an error with a code."""
    try:
        views = await service.offers_for(
            account_id=account_id, now=dt.datetime.now(dt.UTC), limit=first, audience=audience
        )
    except DomainError as error:
        raise GraphQLError(error.message, extensions={"code": error.code, "field": "first"}) from error
    return [Offer.from_view(view) for view in views]


async def activate_offer(info: Info, code: str) -> ActivateOfferResult:
    principal = require_member(info)
    try:
        activation = await service.activate_offer(
            account_id=principal.account_id, code=code, now=dt.datetime.now(dt.UTC)
        )
    except DomainError as error:
        return InputError.from_domain(error)
    return OfferActivated(code=code, activated_at=activation.activated_at)
