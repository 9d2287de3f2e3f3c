"""The machine-readable codes of refusals in the statement and postings: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class LedgerErrorCode(StrEnum):
    CARD_NOT_REPORTED = "CARD_NOT_REPORTED"
    CARD_OF_ANOTHER_MEMBER = "CARD_OF_ANOTHER_MEMBER"
    CURSOR_INVALID = "CURSOR_INVALID"
    DATE_RANGE_INVALID = "DATE_RANGE_INVALID"
    EMPTY_POSTING = "EMPTY_POSTING"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    NOT_REVERSIBLE = "NOT_REVERSIBLE"
    PAGE_SIZE_INVALID = "PAGE_SIZE_INVALID"
    POSTING_NOT_FOUND = "POSTING_NOT_FOUND"
