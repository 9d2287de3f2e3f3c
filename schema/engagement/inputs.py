"""The engagement mutations' input objects."""

from __future__ import annotations

import strawberry

CHALLENGE_CODE = "The challenge's code."
QUIZ_ANSWER = "The index of the chosen option."


@strawberry.input(description="The challenge to join (me.challenges).")
class JoinChallengeInput:
    code: str = strawberry.field(description=CHALLENGE_CODE)


@strawberry.input(description="The answer to this month's quiz.")
class EnterQuizInput:
    answer: int = strawberry.field(description=QUIZ_ANSWER)
