"""Daily offers to earn and to redeem miles (DOMAIN.md 8)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.offers.service import OfferView
from schema.errors import InputError
from schema.offers.enums import OfferKind


@strawberry.type(description="An offer of a partner, running now and meant for this member.")
class Offer:
    code: str = strawberry.field(description="Pass it to activateOffer.")
    partner_code: str = strawberry.field(description="The partner it is with.")
    kind: OfferKind = strawberry.field(description="Earn or redeem.")
    title: str = strawberry.field(description="Headline.")
    description: str = strawberry.field(description="Details.")
    bonus_miles: int = strawberry.field(
        description="Bonus award miles on the next matching accrual (earn offers)."
    )
    ends_at: dt.datetime = strawberry.field(description="Until when it runs.")
    activated: bool = strawberry.field(description="Whether the member activated it.")
    personalised: bool = strawberry.field(
        description="True when the order was personalised (only with PERSONALISATION consent)."
    )

    @classmethod
    def from_view(cls, view: OfferView) -> Offer:
        offer = view.offer
        return cls(
            code=offer.code,
            partner_code=offer.partner_code,
            kind=offer.kind,
            title=offer.title,
            description=offer.description,
            bonus_miles=offer.bonus_miles,
            ends_at=offer.ends_at,
            activated=view.activated,
            personalised=view.personalised,
        )


@strawberry.type(description="The offer is active for the member; the partner has been told.")
class OfferActivated:
    code: str = strawberry.field(description="The offer's code.")
    activated_at: dt.datetime = strawberry.field(description="When.")


ActivateOfferResult = Annotated[OfferActivated | InputError, strawberry.union("ActivateOfferResult")]
