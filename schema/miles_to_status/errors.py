"""The machine-readable codes of refusals of the miles-to-status exchange: what ``InputError.code`` carries.
The wire values are the codes the services raise; ``tests/schema/test_error_codes.py`` keeps this list in step
with them."""

from __future__ import annotations

from enum import StrEnum


class MilesToStatusErrorCode(StrEnum):
    ALREADY_EXCHANGED_THIS_YEAR = "ALREADY_EXCHANGED_THIS_YEAR"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    NO_ELIGIBLE_CARD = "NO_ELIGIBLE_CARD"
    NOT_ENOUGH_CARD_MILES = "NOT_ENOUGH_CARD_MILES"
    PACKAGES_INVALID = "PACKAGES_INVALID"
    REQUEST_ID_INVALID = "REQUEST_ID_INVALID"
