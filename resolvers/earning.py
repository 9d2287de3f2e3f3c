"""Miles calculator and upgrade-quote resolvers: map the input, call the one earning function, map the result."""

from __future__ import annotations

from loyalty.earning.calculator import compute_earning
from loyalty.earning.errors import UnknownAirport as UnknownAirportError
from loyalty.earning.errors import UpgradeNotAvailable as UpgradeNotAvailableError
from loyalty.earning.model import Cabin
from loyalty.earning.upgrades import quote_upgrade
from loyalty.errors import DomainError
from loyalty.members.models import Tier
from loyalty.members.service import get_member
from partners.charts import current_earning_chart
from schema.context import Info
from schema.earning import (
    ItineraryInput,
    MilesCalculation,
    MilesCalculatorResult,
    TicketInput,
    UnknownAirport,
    UpgradeFlightInput,
    UpgradeNotAvailable,
    UpgradeQuote,
    UpgradeQuoteResult,
)
from schema.errors import InputError


async def _tier(info: Info, tier: Tier | None) -> Tier:
    """The tier asked for; else the signed-in member's; else BASE."""
    if tier is not None:
        return tier
    principal = info.context.principal
    if principal is None:
        return Tier.BASE
    return (await get_member(account_id=principal.account_id)).tier


async def miles_calculator(
    info: Info, itinerary: ItineraryInput, ticket: TicketInput | None, tier: Tier | None
) -> MilesCalculatorResult:
    try:
        earning = compute_earning(
            itinerary=[segment.to_domain() for segment in itinerary.segments],
            ticket=None if ticket is None else ticket.to_domain(),
            tier=await _tier(info, tier),
            chart=current_earning_chart(),
        )
    except UnknownAirportError as unknown:
        return UnknownAirport.from_domain(unknown)
    except DomainError as error:
        return InputError.from_domain(error)
    return MilesCalculation.from_domain(earning)


def upgrade_quote(flight: UpgradeFlightInput, from_cabin: Cabin, to_cabin: Cabin) -> UpgradeQuoteResult:
    try:
        quote = quote_upgrade(
            origin=flight.origin,
            destination=flight.destination,
            operating_carrier=flight.operating_carrier,
            marketing_carrier=flight.marketing_carrier,
            flight_number=flight.flight_number,
            from_cabin=from_cabin,
            to_cabin=to_cabin,
            chart=current_earning_chart(),
        )
    except UpgradeNotAvailableError as refused:
        return UpgradeNotAvailable(code=refused.code, field=refused.field, message=refused.message)
    except UnknownAirportError as unknown:
        return UnknownAirport.from_domain(unknown)
    except DomainError as error:
        return InputError.from_domain(error)
    return UpgradeQuote.from_domain(quote)
