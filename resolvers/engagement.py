"""Engagement resolvers: challenges (list, join) and the monthly quiz (read, enter)."""

from __future__ import annotations

import datetime as dt

from loyalty.engagement import challenges, quiz
from loyalty.engagement.challenges import ChallengeView
from loyalty.engagement.definitions import current_challenges
from loyalty.engagement.models import QuizEntry
from loyalty.errors import DomainError
from resolvers.auth import require_member
from schema.context import Info
from schema.engagement import (
    Challenge,
    ChallengeJoined,
    EnterQuizResult,
    JoinChallengeResult,
    Quiz,
    QuizEntered,
)
from schema.errors import InputError


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def member_challenges(*, account_id: int) -> list[Challenge]:
    views = await challenges.challenges_for(account_id=account_id, today=_now().date())
    return [Challenge.from_view(view) for view in views]


async def join_challenge(info: Info, code: str) -> JoinChallengeResult:
    principal = require_member(info)
    try:
        enrolment = await challenges.join_challenge(account_id=principal.account_id, code=code, now=_now())
    except DomainError as error:
        return InputError.from_domain(error)
    definition = current_challenges().get(enrolment.challenge_code)
    assert definition is not None  # join checked it
    return ChallengeJoined(challenge=Challenge.from_view(ChallengeView(definition, enrolment)))


async def member_quiz(*, account_id: int) -> Quiz | None:
    try:
        row = await quiz.quiz_for(quiz.month_of(_now()))
    except DomainError:
        return None
    entry = await QuizEntry.get_or_none(quiz_id=row.id, account_id=account_id)
    return Quiz.from_model(row, entry)


async def enter_quiz(info: Info, answer: int) -> EnterQuizResult:
    principal = require_member(info)
    now = _now()
    try:
        entry = await quiz.enter_quiz(account_id=principal.account_id, answer=answer, now=now)
    except DomainError as error:
        return InputError.from_domain(error)
    return QuizEntered(month=quiz.month_of(now), answer=entry.answer)
