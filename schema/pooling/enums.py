"""The pooling enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.pooling.models import MembershipState, PoolRole

__all__ = ["MembershipState", "PoolRole"]

strawberry.enum(PoolRole, description="ADULT (18 and over: redeems pooled miles) or CHILD (2 to 17).")
strawberry.enum(
    MembershipState,
    description="INVITED, ACCEPTED (miles combine 2 days after acceptance), COMBINED; or ended: DECLINED, "
    "WITHDRAWN (invitation taken back), EXPIRED (invitation not answered within 14 days), LEFT, REMOVED (by "
    "the founder), DISSOLVED (the pool ended).",
)
