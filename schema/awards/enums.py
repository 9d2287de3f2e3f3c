"""The award enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.awards.config import FareFamily
from loyalty.awards.models import AwardBookingState, MilesPayState
from loyalty.awards.pricing import PricingMethod

__all__ = ["AwardBookingState", "FareFamily", "MilesPayState", "PricingMethod"]

strawberry.enum(
    FareFamily,
    description="Lufthansa Group fare families: continental LIGHT, CLASSIC, FLEX; long-haul LIGHT, BASIC, "
    "BASIC_PLUS, FLEX.",
)
strawberry.enum(
    PricingMethod,
    description="DYNAMIC (Lufthansa, SWISS, Austrian, Lufthansa City: miles from the cash fare and the fare "
    "family) or ZONE_CHART (every other partner: the zones of the two airports and the cabin).",
)
strawberry.enum(
    AwardBookingState, description="BOOKED while the award stands; CANCELLED once the miles went back."
)
strawberry.enum(
    MilesPayState,
    description="ACTIVE until a card purchase uses it (USED) or the member turns it off (OFF).",
)
