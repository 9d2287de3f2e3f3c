"""Activating an offer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import offers
from schema.context import Info
from schema.fields import mutation
from schema.offers.types import ActivateOfferResult, OfferActivated
from schema.permissions import signed_in


@strawberry.type
class OfferMutations:
    @mutation(
        description="Activate an offer (me.offers); the partner is told, and an earn offer's bonus comes with "
        "the next matching accrual."
    )
    async def activate_offer(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The offer's code.")],
    ) -> ActivateOfferResult:
        activation = await offers.activate_offer(account_id=signed_in(info.context).account_id, code=code)
        return OfferActivated(code=code, activated_at=activation.activated_at)
