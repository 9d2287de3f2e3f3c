"""MyChallenge and the monthly quiz (DOMAIN.md 8)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.engagement.challenges import ChallengeView
from loyalty.engagement.models import Quiz as QuizRow
from loyalty.engagement.models import QuizEntry
from schema.engagement.enums import RuleKind
from schema.errors import InputError


@strawberry.type(description="A challenge, with the member's progress once they joined.")
class Challenge:
    code: str = strawberry.field(description="Pass it to joinChallenge.")
    title: str = strawberry.field(description="What to do, in words.")
    starts_on: dt.date = strawberry.field(description="First day that counts.")
    ends_on: dt.date = strawberry.field(description="Last day that counts.")
    kind: RuleKind = strawberry.field(description="What is counted.")
    target: int = strawberry.field(description="How much of it completes the challenge.")
    bonus_miles: int = strawberry.field(description="Award miles for completing it (0: none).")
    badge: str | None = strawberry.field(description="The badge for completing it, if any.")
    joined: bool = strawberry.field(description="Whether the member takes part.")
    progress: int = strawberry.field(description="How far the member got (0 before joining).")
    completed_at: dt.datetime | None = strawberry.field(description="When the member completed it.")

    @classmethod
    def from_view(cls, view: ChallengeView) -> Challenge:
        challenge, enrolment = view.challenge, view.enrolment
        return cls(
            code=challenge.code,
            title=challenge.title,
            starts_on=challenge.starts_on,
            ends_on=challenge.ends_on,
            kind=challenge.rule.kind,
            target=challenge.rule.target,
            bonus_miles=challenge.reward.bonus_miles,
            badge=challenge.reward.badge,
            joined=enrolment is not None,
            progress=enrolment.progress if enrolment else 0,
            completed_at=enrolment.completed_at if enrolment else None,
        )


@strawberry.type(description="The member takes part in the challenge from now on.")
class ChallengeJoined:
    challenge: Challenge = strawberry.field(description="The challenge with the member's progress.")


JoinChallengeResult = Annotated[ChallengeJoined | InputError, strawberry.union("JoinChallengeResult")]


@strawberry.type(description="This month's quiz: one question, one answer per member.")
class Quiz:
    month: str = strawberry.field(description="YYYY-MM.")
    question: str = strawberry.field(description="The question.")
    options: list[str] = strawberry.field(description="The answers to choose from (pass the index).")
    closes_at: dt.datetime = strawberry.field(description="Entries until then; the draw follows.")
    my_answer: int | None = strawberry.field(description="The member's answer, once given.")

    @classmethod
    def from_model(cls, quiz: QuizRow, entry: QuizEntry | None) -> Quiz:
        return cls(
            month=quiz.month,
            question=quiz.question,
            options=list(quiz.options),
            closes_at=quiz.closes_at,
            my_answer=entry.answer if entry else None,
        )


@strawberry.type(description="The member's answer was recorded; correct ones take part in the prize draw.")
class QuizEntered:
    month: str = strawberry.field(description="The quiz's month.")
    answer: int = strawberry.field(description="The option chosen.")


EnterQuizResult = Annotated[QuizEntered | InputError, strawberry.union("EnterQuizResult")]
