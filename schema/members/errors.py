"""The machine-readable codes of refusals in enrolment and profile changes: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class MemberErrorCode(StrEnum):
    CARD_NOT_FOUND = "CARD_NOT_FOUND"
    COUNTRY_INVALID = "COUNTRY_INVALID"
    DOB_INVALID = "DOB_INVALID"
    EMAIL_ALREADY_VERIFIED = "EMAIL_ALREADY_VERIFIED"
    EMAIL_INVALID = "EMAIL_INVALID"
    EMAIL_MISSING = "EMAIL_MISSING"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    ENROLMENT_ATTEMPTS_EXCEEDED = "ENROLMENT_ATTEMPTS_EXCEEDED"
    ENROLMENT_CODE_INVALID = "ENROLMENT_CODE_INVALID"
    ENROLMENT_EXPIRED = "ENROLMENT_EXPIRED"
    ENROLMENT_USED = "ENROLMENT_USED"
    LANGUAGE_INVALID = "LANGUAGE_INVALID"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    NAME_INVALID = "NAME_INVALID"
    NAME_REQUIRED = "NAME_REQUIRED"
    NAME_TOO_LONG = "NAME_TOO_LONG"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"  # noqa: S105 - an error code, not a secret
    PASSWORD_TOO_SIMPLE = "PASSWORD_TOO_SIMPLE"  # noqa: S105 - an error code, not a secret
    PIN_FORMAT = "PIN_FORMAT"
    PIN_TOO_SIMPLE = "PIN_TOO_SIMPLE"
    USER_ID_INVALID = "USER_ID_INVALID"
    USER_ID_TAKEN = "USER_ID_TAKEN"
    VERIFICATION_ATTEMPTS_EXCEEDED = "VERIFICATION_ATTEMPTS_EXCEEDED"
    VERIFICATION_CODE_INVALID = "VERIFICATION_CODE_INVALID"
    VERIFICATION_EXPIRED = "VERIFICATION_EXPIRED"
