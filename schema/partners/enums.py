"""The partner-registry enums as GraphQL sees them: ``loyalty.partner_vocabulary``'s, which the registry stores,
and the signing-key kinds of ``resolvers.partners``."""

from __future__ import annotations

import strawberry

from loyalty.partner_vocabulary import PartnerCapability, PartnerKind, PartnerState
from resolvers.partners import SigningKeyKind

__all__ = ["PartnerCapability", "PartnerKind", "PartnerState", "SigningKeyKind"]

strawberry.enum(PartnerKind, description="What kind of business the partner is.")
strawberry.enum(PartnerState, description="ACTIVE partners' deliveries are accepted; SUSPENDED ones get 403.")
strawberry.enum(
    PartnerCapability,
    description="What a partner may send: ACCRUAL (accrual.created, accrual.reversed), FLOWN_DATA "
    "(flight.flown), PHOTO_CREDIT (receipt.verified), LOUNGE_CHECKS, CARD_PROTECTION (card.protection.changed), "
    "MILESPAY (card.transaction).",
)
strawberry.enum(
    SigningKeyKind,
    description="A Standard Webhooks signing secret (v1, HMAC) or an ed25519 public key (v1a).",
)
