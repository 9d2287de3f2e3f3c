"""The machine-readable codes of refusals in mileage pooling: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class PoolingErrorCode(StrEnum):
    ALREADY_INVITED = "ALREADY_INVITED"
    ALREADY_IN_POOL = "ALREADY_IN_POOL"
    BELOW_MINIMUM = "BELOW_MINIMUM"
    CANNOT_INVITE_SELF = "CANNOT_INVITE_SELF"
    CANNOT_REMOVE_SELF = "CANNOT_REMOVE_SELF"
    CARD_BLOCKED = "CARD_BLOCKED"
    COUNTRY_NOT_ELIGIBLE = "COUNTRY_NOT_ELIGIBLE"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    INVITATION_NOT_FOUND = "INVITATION_NOT_FOUND"
    MEMBERSHIP_NOT_FOUND = "MEMBERSHIP_NOT_FOUND"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    NOT_ADULT = "NOT_ADULT"
    NOT_COMBINED_YET = "NOT_COMBINED_YET"
    NOT_FOUND = "NOT_FOUND"
    NOT_FOUNDER = "NOT_FOUNDER"
    NOT_IN_POOL = "NOT_IN_POOL"
    ONLY_ADULTS_REDEEM = "ONLY_ADULTS_REDEEM"
    POOL_BLOCKED = "POOL_BLOCKED"
    POOL_FULL = "POOL_FULL"
    POOL_NOT_FOUND = "POOL_NOT_FOUND"
    POOL_NOT_WORKING = "POOL_NOT_WORKING"
    REQUEST_ID_INVALID = "REQUEST_ID_INVALID"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    TOO_YOUNG = "TOO_YOUNG"
