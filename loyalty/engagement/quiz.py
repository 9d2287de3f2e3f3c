"""The monthly quiz: one quiz a month, one entry per member, a reproducible and auditable prize draw.

The draw takes the correct entries in entry order and a recorded random seed; the winners follow from
those alone (``pick_winners`` is a pure function), so an operator can recompute any past draw from
the stored seed and entries (``verify_draw``) and see that it matches what was announced.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from loyalty.engagement.models import Quiz, QuizEntry, QuizWinner
from loyalty.errors import Conflict, NotFound, ValidationFailed
from loyalty.privacy.service import audit

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class Prize:
    partner: str
    prize: str
    count: int


def month_of(moment: dt.datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def parse_prizes(rows: list[dict[str, Any]]) -> list[Prize]:
    prizes = []
    for row in rows:
        try:
            prize = Prize(
                partner=str(row["partner"]), prize=str(row["prize"]), count=int(row.get("count", 1))
            )
        except (KeyError, TypeError, ValueError):
            raise ValidationFailed(
                "A prize has a partner, a prize and a count.", field="prizes", code="PRIZE_INVALID"
            ) from None
        if prize.count < 1 or not prize.partner or not prize.prize:
            raise ValidationFailed(
                "A prize has a partner, a prize and a count.", field="prizes", code="PRIZE_INVALID"
            )
        prizes.append(prize)
    if not prizes:
        raise ValidationFailed("A quiz has at least one prize.", field="prizes", code="PRIZE_INVALID")
    return prizes


async def create_quiz(
    *,
    month: str,
    question: str,
    options: list[str],
    correct_option: int,
    prizes: list[dict[str, Any]],
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    actor: str,
    now: dt.datetime,
) -> Quiz:
    if not MONTH.match(month):
        raise ValidationFailed("A month is written YYYY-MM.", field="month", code="MONTH_INVALID")
    if not question.strip() or len(options) < 2 or any(not option.strip() for option in options):
        raise ValidationFailed(
            "A quiz has a question and at least two options.", field="options", code="QUIZ_INVALID"
        )
    if not 0 <= correct_option < len(options):
        raise ValidationFailed(
            "The correct option is one of the options.", field="correctOption", code="QUIZ_INVALID"
        )
    if closes_at <= opens_at:
        raise ValidationFailed("A quiz closes after it opens.", field="closesAt", code="QUIZ_INVALID")
    parse_prizes(prizes)
    async with in_transaction():
        try:
            quiz = await Quiz.create(
                month=month,
                question=question.strip(),
                options=[option.strip() for option in options],
                correct_option=correct_option,
                prizes=prizes,
                opens_at=opens_at,
                closes_at=closes_at,
            )
        except IntegrityError:
            raise Conflict(
                f"There is a quiz for {month} already.", field="month", code="QUIZ_EXISTS"
            ) from None
        await audit(actor=actor, action="quiz.create", account_id=None, now=now, details={"month": month})
    return quiz


async def quiz_for(month: str) -> Quiz:
    quiz = await Quiz.get_or_none(month=month)
    if quiz is None:
        raise NotFound(f"No quiz for {month}.", field="month", code="QUIZ_NOT_FOUND")
    return quiz


async def enter_quiz(*, account_id: int, answer: int, now: dt.datetime) -> QuizEntry:
    """The member's one entry in this month's quiz, while it is open."""
    quiz = await quiz_for(month_of(now))
    if not quiz.opens_at <= now < quiz.closes_at:
        raise ValidationFailed("This month's quiz is not open.", field="answer", code="QUIZ_CLOSED")
    if not 0 <= answer < len(quiz.options):
        raise ValidationFailed("Pick one of the options.", field="answer", code="ANSWER_INVALID")
    try:
        return await QuizEntry.create(
            quiz_id=quiz.id,
            account_id=account_id,
            answer=answer,
            correct=answer == quiz.correct_option,
            entered_at=now,
        )
    except IntegrityError:
        raise Conflict(
            "You took part in this month's quiz already.", field="answer", code="ALREADY_ENTERED"
        ) from None


def pick_winners(seed: str, entrants: list[int], prizes: list[Prize]) -> list[tuple[int, Prize]]:
    """Winners for the prizes in listed order, each entrant at most once: a pure function of its inputs.

    ``entrants`` are account ids of the correct entries in entry order. The generator is seeded only
    by ``seed`` (reproducibility is the point here, not secrecy: the seed is drawn with ``secrets``).
    """
    slots = [prize for prize in prizes for _ in range(prize.count)]
    chosen = random.Random(seed).sample(entrants, k=min(len(slots), len(entrants)))  # noqa: S311
    return list(zip(chosen, slots, strict=False))


async def _entrants(quiz: Quiz) -> list[int]:
    rows = await QuizEntry.filter(quiz_id=quiz.id, correct=True).order_by("id").values_list("account_id")
    return [int(account) for (account,) in rows]


async def draw(*, month: str, actor: str, now: dt.datetime, seed: str | None = None) -> list[QuizWinner]:
    """Draw the month's winners once, after the quiz closed; the seed and the result are recorded."""
    async with in_transaction():
        quiz = await Quiz.filter(month=month).select_for_update().first()
        if quiz is None:
            raise NotFound(f"No quiz for {month}.", field="month", code="QUIZ_NOT_FOUND")
        if quiz.drawn_at is not None:
            raise Conflict(f"The {month} draw took place already.", field="month", code="ALREADY_DRAWN")
        if now < quiz.closes_at:
            raise ValidationFailed("The quiz is still open.", field="month", code="QUIZ_STILL_OPEN")
        quiz.draw_seed = seed or secrets.token_hex(16)
        quiz.drawn_at, quiz.drawn_by = now, actor
        await quiz.save(update_fields=["draw_seed", "drawn_at", "drawn_by"])
        winners = [
            await QuizWinner.create(
                quiz_id=quiz.id,
                account_id=account,
                position=position,
                prize=prize.prize,
                partner=prize.partner,
            )
            for position, (account, prize) in enumerate(
                pick_winners(quiz.draw_seed, await _entrants(quiz), parse_prizes(quiz.prizes)), start=1
            )
        ]
        await audit(
            actor=actor,
            action="quiz.draw",
            account_id=None,
            now=now,
            details={"month": month, "seed": quiz.draw_seed, "winners": [w.account_id for w in winners]},
        )
    return winners


async def verify_draw(*, month: str) -> bool:
    """Recompute the draw from its recorded seed and the entries; True when it matches the stored one."""
    quiz = await quiz_for(month)
    if quiz.draw_seed is None:
        raise ValidationFailed(f"The {month} quiz has not been drawn.", field="month", code="NOT_DRAWN")
    expected = [
        (account, prize.prize, prize.partner)
        for account, prize in pick_winners(quiz.draw_seed, await _entrants(quiz), parse_prizes(quiz.prizes))
    ]
    stored = [
        (row.account_id, row.prize, row.partner)
        for row in await QuizWinner.filter(quiz_id=quiz.id).order_by("position")
    ]
    return expected == stored
