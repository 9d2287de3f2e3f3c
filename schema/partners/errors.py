"""The machine-readable codes of refusals in the partner registry: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class PartnerErrorCode(StrEnum):
    EARNING_CONFIG_INVALID = "EARNING_CONFIG_INVALID"
    LABEL_TOO_LONG = "LABEL_TOO_LONG"
    LAST_SIGNING_KEY = "LAST_SIGNING_KEY"
    PARTNER_CODE_INVALID = "PARTNER_CODE_INVALID"
    PARTNER_EXISTS = "PARTNER_EXISTS"
    PARTNER_NAME_REQUIRED = "PARTNER_NAME_REQUIRED"
    PARTNER_NOT_AVAILABLE = "PARTNER_NOT_AVAILABLE"
    PARTNER_NOT_FOUND = "PARTNER_NOT_FOUND"
    PUBLIC_KEY_EXISTS = "PUBLIC_KEY_EXISTS"
    PUBLIC_KEY_INVALID = "PUBLIC_KEY_INVALID"
    SIGNING_KEY_NOT_FOUND = "SIGNING_KEY_NOT_FOUND"
