"""Taking part: joining a challenge, answering the monthly quiz."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import engagement
from schema.context import Info
from schema.engagement.inputs import CHALLENGE_CODE, QUIZ_ANSWER, EnterQuizInput, JoinChallengeInput
from schema.engagement.types import (
    Challenge,
    ChallengeJoined,
    EnterQuizResult,
    JoinChallengeResult,
    QuizEntered,
)
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
from schema.permissions import signed_in


@strawberry.type
class EngagementMutations:
    @mutation(description="Take part in a challenge (me.challenges); activity from now on counts towards it.")
    async def join_challenge(
        self,
        info: Info,
        input: JoinChallengeInput | None = None,
        code: Annotated[str | None, old_argument(CHALLENGE_CODE, field="code")] = None,
    ) -> JoinChallengeResult:
        account_id = signed_in(info.context).account_id  # signed in before the input is read
        given = from_arguments(JoinChallengeInput, input, code=code)
        view = await engagement.join_challenge(account_id=account_id, code=given.code)
        return ChallengeJoined(challenge=Challenge.from_view(view))

    @mutation(
        description="Answer this month's quiz (once); correct answers take part in the partner prize draw."
    )
    async def enter_quiz(
        self,
        info: Info,
        input: EnterQuizInput | None = None,
        answer: Annotated[int | None, old_argument(QUIZ_ANSWER, field="answer")] = None,
    ) -> EnterQuizResult:
        account_id = signed_in(info.context).account_id  # signed in before the input is read
        given = from_arguments(EnterQuizInput, input, answer=answer)
        entered = await engagement.enter_quiz(account_id=account_id, answer=given.answer)
        return QuizEntered(month=entered.month, answer=entered.answer)
