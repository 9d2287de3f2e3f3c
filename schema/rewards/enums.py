"""The reward enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.rewards.catalogue import RewardKind
from loyalty.rewards.models import RedemptionState

__all__ = ["RedemptionState", "RewardKind"]

strawberry.enum(
    RewardKind,
    description="FLIGHT (award flight), UPGRADE (cabin upgrade), SHOP (WorldShop item) or CASH_AND_MILES "
    "(paid in miles plus cash).",
)
strawberry.enum(
    RedemptionState, description="REDEEMED while the reward stands; CANCELLED once the miles went back."
)
