"""The status enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.status.models import StatusChange

__all__ = ["StatusChange"]

strawberry.enum(
    StatusChange,
    description="ACHIEVED (a threshold reached), RENEWED (requalified), LIFETIME (lifetime status), "
    "DOWNGRADED (not requalified: one tier lower) or EXPIRED (back to base).",
)
