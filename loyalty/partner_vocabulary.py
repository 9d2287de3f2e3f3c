"""The words for partners that both wings use: what kind of business a partner is, whether it is active,
and what it may send us. The registry (``partners.models``) stores them; the GraphQL wing shows them
(``resolvers.partners``). Defined once here, below both, so neither wing keeps a copy."""

from __future__ import annotations

from enum import StrEnum


class PartnerKind(StrEnum):
    AIRLINE = "airline"
    SHOP = "shop"
    BANK = "bank"
    HOTEL = "hotel"
    RAIL = "rail"
    CAR_RENTAL = "car_rental"
    LOUNGE = "lounge"
    OTHER = "other"


class PartnerState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class PartnerCapability(StrEnum):
    """What a partner may send us; each webhook event type needs one of these."""

    ACCRUAL = "accrual"
    FLOWN_DATA = "flown_data"
    PHOTO_CREDIT = "photo_credit"
    LOUNGE_CHECKS = "lounge_checks"
    CARD_PROTECTION = "card_protection"
    MILESPAY = "milespay"
