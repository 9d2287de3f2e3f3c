"""The machine-readable codes of refusals in the data export and security notices: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class PrivacyErrorCode(StrEnum):
    ALREADY_ERASED = "ALREADY_ERASED"
    LANGUAGE_INVALID = "LANGUAGE_INVALID"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    NOTICE_BODY_INVALID = "NOTICE_BODY_INVALID"
    NOTICE_EXPIRY_INVALID = "NOTICE_EXPIRY_INVALID"
    NOTICE_NOT_FOUND = "NOTICE_NOT_FOUND"
    NOTICE_TITLE_INVALID = "NOTICE_TITLE_INVALID"
