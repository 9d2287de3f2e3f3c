"""The machine-readable codes of refusals in the statement and postings: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class LedgerErrorCode(StrEnum):
    ACTIVITY_TOO_OLD = "ACTIVITY_TOO_OLD"
    CARD_NOT_REPORTED = "CARD_NOT_REPORTED"
    CARD_OF_ANOTHER_MEMBER = "CARD_OF_ANOTHER_MEMBER"
    CARD_REFERENCE_IS_PAN = "CARD_REFERENCE_IS_PAN"
    CURSOR_INVALID = "CURSOR_INVALID"
    DATE_RANGE_INVALID = "DATE_RANGE_INVALID"
    EMPTY_POSTING = "EMPTY_POSTING"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    NOT_REVERSIBLE = "NOT_REVERSIBLE"
    PAGE_SIZE_INVALID = "PAGE_SIZE_INVALID"
    POSTING_NOT_FOUND = "POSTING_NOT_FOUND"
