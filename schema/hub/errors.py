"""The machine-readable codes of refusals in the partner webhook hub: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class HubErrorCode(StrEnum):
    ENDPOINT_DISABLED = "ENDPOINT_DISABLED"
    ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
    ENDPOINT_NOT_SUBSCRIBED = "ENDPOINT_NOT_SUBSCRIBED"
    EVENT_TYPES_EMPTY = "EVENT_TYPES_EMPTY"
    EVENT_TYPE_UNKNOWN = "EVENT_TYPE_UNKNOWN"
    INBOX_ROW_NOT_FOUND = "INBOX_ROW_NOT_FOUND"
    INBOX_ROW_NOT_REPROCESSABLE = "INBOX_ROW_NOT_REPROCESSABLE"
    MESSAGE_NOT_FOUND = "MESSAGE_NOT_FOUND"
    PARTNER_NOT_FOUND = "PARTNER_NOT_FOUND"
    RATE_LIMIT_INVALID = "RATE_LIMIT_INVALID"
    URL_HOST_NOT_PUBLIC = "URL_HOST_NOT_PUBLIC"
    URL_HOST_UNRESOLVED = "URL_HOST_UNRESOLVED"
