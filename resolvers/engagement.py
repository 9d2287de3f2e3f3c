"""Engagement resolvers: challenges (list, join) and the monthly quiz (read, enter)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty.engagement import challenges, quiz
from loyalty.engagement.challenges import ChallengeView
from loyalty.engagement.definitions import current_challenges
from loyalty.engagement.models import Quiz, QuizEntry
from loyalty.errors import DomainError


@dataclass(frozen=True, slots=True)
class MemberQuiz:
    quiz: Quiz
    entry: QuizEntry | None


@dataclass(frozen=True, slots=True)
class QuizEntered:
    month: str
    answer: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def member_challenges(*, account_id: int) -> list[ChallengeView]:
    return await challenges.challenges_for(account_id=account_id, today=_now().date())


async def join_challenge(*, account_id: int, code: str) -> ChallengeView:
    enrolment = await challenges.join_challenge(account_id=account_id, code=code, now=_now())
    definition = current_challenges().get(enrolment.challenge_code)
    assert definition is not None  # join checked it
    return ChallengeView(definition, enrolment)


async def member_quiz(*, account_id: int) -> MemberQuiz | None:
    try:
        row = await quiz.quiz_for(quiz.month_of(_now()))
    except DomainError:
        return None
    return MemberQuiz(quiz=row, entry=await QuizEntry.get_or_none(quiz_id=row.id, account_id=account_id))


async def enter_quiz(*, account_id: int, answer: int) -> QuizEntered:
    now = _now()
    entry = await quiz.enter_quiz(account_id=account_id, answer=answer, now=now)
    return QuizEntered(month=quiz.month_of(now), answer=entry.answer)
