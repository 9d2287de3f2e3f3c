"""What a journey earns and what an upgrade costs, before booking."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import earning
from resolvers.partners import directory_of
from schema.context import Info
from schema.earning.enums import Cabin
from schema.earning.types import (
    ItineraryInput,
    MilesCalculation,
    MilesCalculatorResult,
    TicketInput,
    UpgradeFlightInput,
    UpgradeQuote,
    UpgradeQuoteResult,
)
from schema.enums import Tier
from schema.fields import result_field


@strawberry.type
class EarningQueries:
    @result_field(
        description="What a journey earns, before booking: award miles, Points, Qualifying Points and HON Circle "
        "Points per segment and in total, with each segment's great-circle distance and the rules applied. "
        "Tickets issued by a Lufthansa Group airline earn miles per EUR (4 for members, 5 or 6 with status); "
        "other tickets earn a booking-class percentage of the distance. Points depend only on cabin and "
        "continental or intercontinental. No sign-in needed."
    )
    async def miles_calculator(
        self,
        info: Info,
        itinerary: Annotated[ItineraryInput, strawberry.argument(description="The flights, in order.")],
        ticket: Annotated[
            TicketInput | None,
            strawberry.argument(
                description="The ticket, for revenue-based miles; leave out to earn by distance."
            ),
        ] = None,
        tier: Annotated[
            Tier | None,
            strawberry.argument(
                description="The status to compute for; the signed-in member's if left out, BASE when signed out."
            ),
        ] = None,
    ) -> MilesCalculatorResult:
        calculated = await earning.miles_calculator(
            itinerary=[segment.to_domain() for segment in itinerary.segments],
            ticket=None if ticket is None else ticket.to_domain(),
            tier=tier,
            principal=info.context.principal,
            chart=directory_of(info.context.partners).earning_chart(),
        )
        return MilesCalculation.from_domain(calculated)

    @result_field(
        description="Award miles for a cabin change on one flight, one way (e.g. FRA-LAX Economy to Business: "
        "35,000 miles or 2 eVouchers). Only on flights operated, under their own number, by LH, OS, LX, SN, "
        "Discover or LOT."
    )
    def upgrade_quote(
        self,
        info: Info,
        flight: Annotated[UpgradeFlightInput, strawberry.argument(description="The flight to upgrade.")],
        from_cabin: Annotated[Cabin, strawberry.argument(description="The cabin booked.")],
        to_cabin: Annotated[Cabin, strawberry.argument(description="The cabin wanted.")],
    ) -> UpgradeQuoteResult:
        quote = earning.upgrade_quote(
            origin=flight.origin,
            destination=flight.destination,
            operating_carrier=flight.operating_carrier,
            marketing_carrier=flight.marketing_carrier,
            flight_number=flight.flight_number,
            from_cabin=from_cabin,
            to_cabin=to_cabin,
            chart=directory_of(info.context.partners).earning_chart(),
        )
        return UpgradeQuote.from_domain(quote)
