"""Activating an offer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import offers
from schema.context import Info
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
from schema.offers.inputs import OFFER_CODE, ActivateOfferInput
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
        input: ActivateOfferInput | None = None,
        code: Annotated[str | None, old_argument(OFFER_CODE, field="code")] = None,
    ) -> ActivateOfferResult:
        account_id = signed_in(info.context).account_id  # signed in before the input is read
        given = from_arguments(ActivateOfferInput, input, code=code)
        activation = await offers.activate_offer(account_id=account_id, code=given.code)
        return OfferActivated(code=given.code, activated_at=activation.activated_at)
