"""The machine-readable codes of refusals in the member's lounge visits (a keyset page); a check's own
refusal reasons are ``LoungeRefusalReason``. ``tests/schema/test_error_codes.py`` keeps this list in step."""

from __future__ import annotations

from enum import StrEnum


class LoungeErrorCode(StrEnum):
    CURSOR_INVALID = "CURSOR_INVALID"
    PAGE_SIZE_INVALID = "PAGE_SIZE_INVALID"
