"""The offer enums as GraphQL sees them."""

from __future__ import annotations

import strawberry

from loyalty.offers.models import OfferKind

__all__ = ["OfferKind"]

strawberry.enum(OfferKind, description="EARN (bonus miles with a partner) or REDEEM (spend miles with one).")
