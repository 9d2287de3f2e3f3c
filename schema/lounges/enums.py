"""The lounge-check enums as GraphQL sees them (the domain's own classes)."""

from __future__ import annotations

import strawberry

from loyalty.lounges.admission import Facility, Refusal

__all__ = ["Facility", "Refusal"]

strawberry.enum(
    Facility,
    name="LoungeFacility",
    description="Where a check happened: FIRST_CLASS_LOUNGE, FIRST_CLASS_TERMINAL (Frankfurt), SENATOR_LOUNGE, "
    "BUSINESS_LOUNGE or FAST_LANE (security).",
)
strawberry.enum(
    Refusal,
    name="LoungeRefusalReason",
    description="Why a check refused: CARD_NOT_FOUND, CARD_BLOCKED (reported lost or stolen), "
    "BOARDING_PASS_INVALID, NAME_MISMATCH (pass not in the holder's name), NOT_DEPARTING_HERE, WRONG_DAY "
    "(not today ±1 day), CARRIER_NOT_ELIGIBLE (needs a Lufthansa Group or Star Alliance flight), BASIC_FARE "
    "(no lounge for FTL and Senator on the Eurowings / Discover basic fare), NO_PRIVILEGE (neither status nor "
    "travel class gives access).",
)
