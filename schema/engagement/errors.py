"""The machine-readable codes of refusals in challenges and the quiz: what ``InputError.code`` (and this domain's
typed results' ``code``) carries. The wire values are the codes the services raise;
``tests/schema/test_error_codes.py`` keeps this list in step with them."""

from __future__ import annotations

from enum import StrEnum


class EngagementErrorCode(StrEnum):
    ALREADY_DRAWN = "ALREADY_DRAWN"
    ALREADY_ENTERED = "ALREADY_ENTERED"
    ALREADY_JOINED = "ALREADY_JOINED"
    ANSWER_INVALID = "ANSWER_INVALID"
    CHALLENGE_NOT_FOUND = "CHALLENGE_NOT_FOUND"
    CHALLENGE_OVER = "CHALLENGE_OVER"
    MONTH_INVALID = "MONTH_INVALID"
    NOT_DRAWN = "NOT_DRAWN"
    PRIZE_INVALID = "PRIZE_INVALID"
    QUIZ_CLOSED = "QUIZ_CLOSED"
    QUIZ_EXISTS = "QUIZ_EXISTS"
    QUIZ_INVALID = "QUIZ_INVALID"
    QUIZ_NOT_FOUND = "QUIZ_NOT_FOUND"
    QUIZ_STILL_OPEN = "QUIZ_STILL_OPEN"
