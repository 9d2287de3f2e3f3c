"""The machine-readable codes of refusals in status: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class StatusErrorCode(StrEnum):
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
