"""The machine-readable codes of refusals in the miles calculator and upgrade quotes: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class EarningErrorCode(StrEnum):
    AMOUNT_INVALID = "AMOUNT_INVALID"
    BOOKING_CLASS_INVALID = "BOOKING_CLASS_INVALID"
    CARRIER_INVALID = "CARRIER_INVALID"
    CHART_NOT_IN_FORCE = "CHART_NOT_IN_FORCE"
    CURRENCY_INVALID = "CURRENCY_INVALID"
    FLIGHT_NUMBER_INVALID = "FLIGHT_NUMBER_INVALID"
    ITINERARY_EMPTY = "ITINERARY_EMPTY"
    ITINERARY_TOO_LONG = "ITINERARY_TOO_LONG"
    REGION_NOT_CONFIGURED = "REGION_NOT_CONFIGURED"
    SAME_AIRPORT = "SAME_AIRPORT"
    TICKET_ISSUER_INVALID = "TICKET_ISSUER_INVALID"
    UNKNOWN_AIRPORT = "UNKNOWN_AIRPORT"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    UPGRADE_CABIN_ORDER = "UPGRADE_CABIN_ORDER"
    UPGRADE_CARRIER_NOT_ELIGIBLE = "UPGRADE_CARRIER_NOT_ELIGIBLE"
    UPGRADE_NOT_AVAILABLE = "UPGRADE_NOT_AVAILABLE"
    UPGRADE_NOT_OFFERED = "UPGRADE_NOT_OFFERED"
