"""The earning enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.earning.model import Cabin, MilesMethod, Region, RuleCode

__all__ = ["Cabin", "MilesMethod", "Region", "RuleCode"]

strawberry.enum(Cabin, description="Travel class of a segment (not the booking class).")
strawberry.enum(
    Region,
    description="The six regions of the programme. Europe includes Egypt, Algeria, Libya, Morocco and Tunisia; "
    "North America includes Central America and the Caribbean. A segment within one region is continental.",
)
strawberry.enum(
    MilesMethod,
    description="REVENUE_BASED (Lufthansa Group ticket: EUR x factor), DISTANCE_BASED (distance x booking-class "
    "percentage) or NOT_EARNING (not a partner airline).",
)
strawberry.enum(RuleCode, description="Machine-readable name of a rule the calculation applied.")
