"""The engagement enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.engagement.definitions import RuleKind

__all__ = ["RuleKind"]

strawberry.enum(
    RuleKind,
    description="COUNT (qualifying activities), DISTINCT_PARTNERS (different partners), SUM_MILES (award miles).",
)
