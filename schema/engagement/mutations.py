"""Taking part: joining a challenge, answering the monthly quiz."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import engagement
from schema.context import Info
from schema.engagement.types import (
    Challenge,
    ChallengeJoined,
    EnterQuizResult,
    JoinChallengeResult,
    QuizEntered,
)
from schema.fields import mutation
from schema.permissions import signed_in


@strawberry.type
class EngagementMutations:
    @mutation(description="Take part in a challenge (me.challenges); activity from now on counts towards it.")
    async def join_challenge(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The challenge's code.")],
    ) -> JoinChallengeResult:
        view = await engagement.join_challenge(account_id=signed_in(info.context).account_id, code=code)
        return ChallengeJoined(challenge=Challenge.from_view(view))

    @mutation(
        description="Answer this month's quiz (once); correct answers take part in the partner prize draw."
    )
    async def enter_quiz(
        self,
        info: Info,
        answer: Annotated[int, strawberry.argument(description="The index of the chosen option.")],
    ) -> EnterQuizResult:
        entered = await engagement.enter_quiz(account_id=signed_in(info.context).account_id, answer=answer)
        return QuizEntered(month=entered.month, answer=entered.answer)
