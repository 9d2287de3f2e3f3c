"""Miles calculator and upgrade-quote resolvers: one earning function each, under the current chart."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty.earning.calculator import compute_earning
from loyalty.earning.chart import EarningChart
from loyalty.earning.model import Cabin, Earning, FlightSegment, Ticket, UpgradeQuote
from loyalty.earning.upgrades import quote_upgrade
from loyalty.members.models import Tier
from loyalty.members.service import get_member
from loyalty.members.sessions import Principal


async def _tier(principal: Principal | None, tier: Tier | None) -> Tier:
    """The tier asked for; else the signed-in member's; else BASE."""
    if tier is not None:
        return tier
    if principal is None:
        return Tier.BASE
    return (await get_member(account_id=principal.account_id)).tier


async def miles_calculator(
    *,
    itinerary: Sequence[FlightSegment],
    ticket: Ticket | None,
    tier: Tier | None,
    principal: Principal | None,
    chart: EarningChart,
) -> Earning:
    return compute_earning(itinerary=itinerary, ticket=ticket, tier=await _tier(principal, tier), chart=chart)


def upgrade_quote(
    *,
    origin: str,
    destination: str,
    operating_carrier: str,
    marketing_carrier: str | None,
    flight_number: str,
    from_cabin: Cabin,
    to_cabin: Cabin,
    chart: EarningChart,
) -> UpgradeQuote:
    return quote_upgrade(
        origin=origin,
        destination=destination,
        operating_carrier=operating_carrier,
        marketing_carrier=marketing_carrier,
        flight_number=flight_number,
        from_cabin=from_cabin,
        to_cabin=to_cabin,
        chart=chart,
    )
