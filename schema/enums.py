"""The enums several domains of the schema share, as GraphQL sees them. They are the domain's own classes
(loyalty/ stays free of Strawberry); each is registered with Strawberry here, once, so the domains import
them from one shared module below all of them rather than from each other."""

from __future__ import annotations

import strawberry

from loyalty.auth.factors import SecondFactor
from loyalty.members.models import SessionLevel, Tier

__all__ = ["SecondFactor", "SessionLevel", "Tier"]

strawberry.enum(Tier, description="Status tier (Member, Frequent Traveller, Senator, HON Circle).")
strawberry.enum(SessionLevel, description="How freshly the member proved who they are.")
strawberry.enum(
    SecondFactor,
    name="SecondFactorMethod",
    description="A second factor: APP (authenticator-app code or a recovery code) or SMS (a code sent by SMS).",
)
