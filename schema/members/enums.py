"""The member enums as GraphQL sees them (the domain's own classes: loyalty/ stays free of Strawberry)."""

from __future__ import annotations

import strawberry

from loyalty.members.models import Tier

__all__ = ["Tier"]

strawberry.enum(Tier, description="Status tier (Member, Frequent Traveller, Senator, HON Circle).")
