"""The partner-registry enums as GraphQL sees them (``resolvers.partners``' mirrors of ``partners.models``)."""

from __future__ import annotations

import strawberry

from resolvers.partners import PartnerCapability, PartnerKind, PartnerState, SigningKeyKind

__all__ = ["PartnerCapability", "PartnerKind", "PartnerState", "SigningKeyKind"]

strawberry.enum(PartnerKind, description="What kind of business the partner is.")
strawberry.enum(PartnerState, description="ACTIVE partners' deliveries are accepted; SUSPENDED ones get 403.")
strawberry.enum(
    PartnerCapability,
    description="What a partner may send: ACCRUAL (accrual.created, accrual.reversed), FLOWN_DATA "
    "(flight.flown), PHOTO_CREDIT (receipt.verified), LOUNGE_CHECKS, CARD_PROTECTION (card.protection.changed).",
)
strawberry.enum(
    SigningKeyKind,
    description="A Standard Webhooks signing secret (v1, HMAC) or an ed25519 public key (v1a).",
)
