"""Exchanging award miles for status (AUTHENTICATED only)."""

from __future__ import annotations

import strawberry

from resolvers import miles_to_status
from schema.context import Info
from schema.fields import mutation
from schema.miles_to_status.types import (
    ExchangeMilesForStatusInput,
    ExchangeMilesForStatusResult,
    MilesExchangedForStatus,
    StatusExchange,
)
from schema.permissions import StepUp, signed_in
from schema.status.types import StatusProgress


@strawberry.type
class MilesToStatusMutations:
    @mutation(
        description="Exchange award miles for Points and Qualifying Points (needs AUTHENTICATED): holders of a "
        "co-branded credit card with the feature, once per calendar year, up to 25,000 miles in packages of "
        "5,000 miles = 20 Points + 20 Qualifying Points, from miles earned with the card this or last year "
        "(me.milesToStatus shows how many packages). Never HON Circle Points; it cannot be undone. The status "
        "engine runs at once. Refusals: NO_ELIGIBLE_CARD, PACKAGES_INVALID, ALREADY_EXCHANGED_THIS_YEAR, "
        "NOT_ENOUGH_CARD_MILES, INSUFFICIENT_BALANCE.",
        permission_classes=[StepUp],
    )
    async def exchange_miles_for_status(
        self, info: Info, input: ExchangeMilesForStatusInput
    ) -> ExchangeMilesForStatusResult:
        exchange, award_miles, progress = await miles_to_status.exchange_miles_for_status(
            account_id=signed_in(info.context).account_id,
            packages=input.packages,
            request_id=input.request_id,
            rules=info.context.rules,
        )
        return MilesExchangedForStatus(
            exchange=StatusExchange.from_model(exchange),
            award_miles=award_miles,
            status=StatusProgress.from_domain(progress),
        )
