"""The machine-readable codes of refusals in sign-in, sessions, the second factor and resets: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class AuthErrorCode(StrEnum):
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    CHALLENGE_INVALID = "CHALLENGE_INVALID"
    CHALLENGE_USED = "CHALLENGE_USED"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    IDENTITY_ALREADY_LINKED = "IDENTITY_ALREADY_LINKED"
    IDENTITY_LINKED_TO_OTHER_MEMBER = "IDENTITY_LINKED_TO_OTHER_MEMBER"
    REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"  # noqa: S105 - an error code, not a secret
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"  # noqa: S105 - an error code, not a secret
    RESET_TOKEN_INVALID = "RESET_TOKEN_INVALID"  # noqa: S105 - an error code, not a secret
    SIGN_IN_METHOD_NOT_HERE = "SIGN_IN_METHOD_NOT_HERE"
    TWO_FACTOR_ALREADY_ENABLED = "TWO_FACTOR_ALREADY_ENABLED"
    TWO_FACTOR_CODE_REUSED = "TWO_FACTOR_CODE_REUSED"
    TWO_FACTOR_INVALID = "TWO_FACTOR_INVALID"
    TWO_FACTOR_LOCKED = "TWO_FACTOR_LOCKED"
    TWO_FACTOR_NOT_ENABLED = "TWO_FACTOR_NOT_ENABLED"
    TWO_FACTOR_NOT_STARTED = "TWO_FACTOR_NOT_STARTED"
