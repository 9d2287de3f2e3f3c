"""The offer mutations' input objects."""

from __future__ import annotations

import strawberry

OFFER_CODE = "The offer's code."


@strawberry.input(description="The offer to activate (me.offers).")
class ActivateOfferInput:
    code: str = strawberry.field(description=OFFER_CODE)
