"""The machine-readable codes of refusals in card changes and lost-number cases: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class CardErrorCode(StrEnum):
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
    ACCOUNT_REQUIRED = "ACCOUNT_REQUIRED"
    CARD_BLOCKED = "CARD_BLOCKED"
    CARD_NOT_FOUND = "CARD_NOT_FOUND"
    CASE_CLOSED = "CASE_CLOSED"
    CASE_NOT_FOUND = "CASE_NOT_FOUND"
    DOB_INVALID = "DOB_INVALID"
    EMAIL_INVALID = "EMAIL_INVALID"
    ID_DOCUMENT_REFERENCE_INVALID = "ID_DOCUMENT_REFERENCE_INVALID"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    NAME_INVALID = "NAME_INVALID"
    NAME_REQUIRED = "NAME_REQUIRED"
    NAME_TOO_LONG = "NAME_TOO_LONG"
    NOTE_REQUIRED = "NOTE_REQUIRED"
    NOTE_TOO_LONG = "NOTE_TOO_LONG"
    NOTHING_TO_RENEW = "NOTHING_TO_RENEW"
    RENEWAL_NOT_LATER = "RENEWAL_NOT_LATER"
    TIER_HAS_NO_STATUS_CARD = "TIER_HAS_NO_STATUS_CARD"
