"""The machine-readable codes of refusals in retro credit and photo credit: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class RetroCreditErrorCode(StrEnum):
    ALREADY_CREDITED = "ALREADY_CREDITED"
    BOARDING_PASS_MISMATCH = "BOARDING_PASS_MISMATCH"  # noqa: S105 - an error code, not a secret
    BOOKING_CLASS_INVALID = "BOOKING_CLASS_INVALID"
    BOOKING_CLASS_REQUIRED = "BOOKING_CLASS_REQUIRED"
    CARRIER_REQUIRED = "CARRIER_REQUIRED"
    DESTINATION_REQUIRED = "DESTINATION_REQUIRED"
    DOC_REQUIRED = "DOC_REQUIRED"
    DUPLICATE_RECEIPT = "DUPLICATE_RECEIPT"
    DUPLICATE_REQUEST = "DUPLICATE_REQUEST"
    FLIGHT_DATE_MISSING = "FLIGHT_DATE_MISSING"
    FLIGHT_IN_FUTURE = "FLIGHT_IN_FUTURE"
    FLIGHT_NUMBER_INVALID = "FLIGHT_NUMBER_INVALID"
    FLIGHT_NUMBER_REQUIRED = "FLIGHT_NUMBER_REQUIRED"
    MEMBER_MISMATCH = "MEMBER_MISMATCH"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    ORIGIN_REQUIRED = "ORIGIN_REQUIRED"
    RETRO_CREDIT_REFUSED = "RETRO_CREDIT_REFUSED"
    TICKET_NUMBER_INVALID = "TICKET_NUMBER_INVALID"
    TICKET_NUMBER_REQUIRED = "TICKET_NUMBER_REQUIRED"
