"""The ledger enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.ledger.models import Currency

__all__ = ["Currency"]

strawberry.enum(
    Currency,
    description="What a ledger entry counts: AWARD_MILES (redeemable, they expire), POINTS, QUALIFYING_POINTS "
    "and HON_CIRCLE_POINTS (this calendar year's status counters), LIFETIME_QUALIFYING_POINTS.",
)
