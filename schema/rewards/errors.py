"""The machine-readable codes of refusals in redemptions and reward goals: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class RewardErrorCode(StrEnum):
    ALREADY_CANCELLED = "ALREADY_CANCELLED"
    BELOW_MINIMUM = "BELOW_MINIMUM"
    INSUFFICIENT_MILES = "INSUFFICIENT_MILES"
    NOT_FOUND = "NOT_FOUND"
    REQUEST_ID_INVALID = "REQUEST_ID_INVALID"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    REWARD_NOT_FOUND = "REWARD_NOT_FOUND"
