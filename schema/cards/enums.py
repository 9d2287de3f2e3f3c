"""The card enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.members.cards import CardBlockReason
from loyalty.members.models import CardOrderReason, CardState

__all__ = ["CardBlockReason", "CardOrderReason", "CardState"]

strawberry.enum(
    CardState,
    description="ACTIVE is the card to use; SUPERSEDED numbers still credit partner accruals; BLOCKED "
    "ones (lost or stolen) neither sign in nor redeem, and partner activity dated before the day of the block "
    "still credits the owner while activity on or after it is refused (CARD_BLOCKED).",
)
strawberry.enum(
    CardOrderReason,
    description="Why a physical status card is made: status ACHIEVED (ships at once), RENEWED (ships "
    "shortly before the current card expires) or LIFETIME status reached.",
)
strawberry.enum(
    CardBlockReason, description="LOST or STOLEN: either way the number is blocked and a new one issued."
)
