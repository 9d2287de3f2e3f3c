"""The machine-readable codes of refusals in offers: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class OfferErrorCode(StrEnum):
    ALREADY_ACTIVATED = "ALREADY_ACTIVATED"
    OFFER_BONUS_INVALID = "OFFER_BONUS_INVALID"
    OFFER_EXISTS = "OFFER_EXISTS"
    OFFER_NOT_FOUND = "OFFER_NOT_FOUND"
    OFFER_NOT_RUNNING = "OFFER_NOT_RUNNING"
    OFFER_TITLE_INVALID = "OFFER_TITLE_INVALID"
    OFFER_WINDOW_INVALID = "OFFER_WINDOW_INVALID"
    PAGE_SIZE_INVALID = "PAGE_SIZE_INVALID"
