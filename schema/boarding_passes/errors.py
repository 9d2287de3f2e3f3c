"""The machine-readable codes of refusals in boarding passes: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class BoardingPassErrorCode(StrEnum):
    BOARDING_PASS_INVALID = "BOARDING_PASS_INVALID"  # noqa: S105 - an error code, not a secret
    BOARDING_PASS_TOO_OLD = "BOARDING_PASS_TOO_OLD"  # noqa: S105 - an error code, not a secret
    IMAGE_UNREADABLE = "IMAGE_UNREADABLE"
    NO_BARCODE_FOUND = "NO_BARCODE_FOUND"
