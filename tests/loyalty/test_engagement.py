"""MyChallenge and the monthly quiz (issue 7): progress from events as they happen, rewards once,
one entry per month, a draw that an operator can recompute."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from gateway.backends.memory import MemoryPubSub
from gateway.settings import Settings
from gateway.workers.event_relay import default_handlers, relay_once
from loyalty.crediting import post
from loyalty.engagement import quiz
from loyalty.engagement.challenges import join_challenge, progress_for_event
from loyalty.engagement.definitions import ChallengesInvalid, current_challenges, parse_challenges
from loyalty.engagement.models import ChallengeEnrolment, QuizWinner
from loyalty.errors import Conflict, ValidationFailed
from loyalty.events.models import DomainEvent
from loyalty.ledger.models import Currency, Posting, PostingSource
from loyalty.ledger.service import balances_of
from loyalty.ledger.verify import verify_ledger
from loyalty.rules import current_rules
from tests.factories import make_member

HANDLERS = default_handlers(current_rules())
"""What the served relay runs, under the programme rules the service loads."""

JOINED = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
FLIGHTS = "LHG-2-FLIGHTS-2026-12"
SHOPS = "SHOP-3-PARTNERS-2026-12"


async def _accrual(account: int, key: str, partner: str, day: dt.date, miles: int = 800) -> None:
    await post(
        account_id=account,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=day,
        rule_version="test",
        rules=current_rules(),
        partner_reference=f"{partner}:{key}",
    )


async def _relay_all() -> None:
    pubsub = MemoryPubSub()
    while await relay_once(pubsub, handlers=HANDLERS):
        pass


async def _miles(account: int) -> int:
    return (await balances_of(account_id=account))[Currency.AWARD_MILES]


def test_the_shipped_challenges_load_and_broken_ones_are_refused() -> None:
    assert current_challenges().get(FLIGHTS) is not None
    with pytest.raises(ChallengesInvalid, match="ends_on is before starts_on"):
        parse_challenges(
            {
                "challenges": [
                    {
                        "code": "BAD-1",
                        "title": "x",
                        "starts_on": dt.date(2026, 2, 1),
                        "ends_on": dt.date(2026, 1, 1),
                        "rule": {"kind": "count", "target": 1, "sources": ["PARTNER_ACCRUAL"]},
                        "reward": {"bonus_miles": 10},
                    }
                ]
            }
        )


async def test_two_lufthansa_group_flights_in_december_complete_it_once(db: Settings) -> None:
    account = int((await make_member()).member.id)
    await _accrual(account, "before-joining", "lufthansa", dt.date(2026, 12, 2))
    await join_challenge(account_id=account, code=FLIGHTS, now=JOINED)
    await _accrual(account, "wrong-partner", "united", dt.date(2026, 12, 3))
    await _accrual(account, "november", "swiss", dt.date(2026, 11, 28))
    await _accrual(account, "first", "swiss", dt.date(2026, 12, 5))
    await _relay_all()
    enrolment = await ChallengeEnrolment.get(account_id=account)
    assert (enrolment.progress, enrolment.completed_at) == (1, None)

    await _accrual(account, "second", "austrian", dt.date(2026, 12, 20))
    await _accrual(account, "third", "lufthansa", dt.date(2026, 12, 22))
    await _relay_all()
    await enrolment.refresh_from_db()
    assert enrolment.progress == 2
    assert enrolment.completed_at is not None
    assert await Posting.filter(account_id=account, source="CHALLENGE").count() == 1
    assert await _miles(account) == 6 * 800 + 1000
    assert (await verify_ledger()).clean
    # Handling an event again changes nothing.
    latest = await DomainEvent.filter(account_id=account).order_by("-id").first()
    assert latest is not None
    assert await progress_for_event(latest, rules=current_rules()) == 0


async def test_distinct_partners_and_badge(db: Settings) -> None:
    account = int((await make_member()).member.id)
    await join_challenge(account_id=account, code=SHOPS, now=JOINED)
    for key, partner in [("a", "shop-a"), ("b", "shop-a"), ("c", "shop-b"), ("d", "shop-c")]:
        await _accrual(account, key, partner, dt.date(2026, 12, 10), miles=50)
    await _relay_all()
    enrolment = await ChallengeEnrolment.get(account_id=account)
    assert enrolment.partners == ["shop-a", "shop-b", "shop-c"]
    assert (enrolment.progress, enrolment.badge) == (3, "Shopping Explorer")
    with pytest.raises(Conflict):
        await join_challenge(account_id=account, code=SHOPS, now=JOINED)


async def test_a_challenge_that_is_over_cannot_be_joined(db: Settings) -> None:
    account = int((await make_member()).member.id)
    with pytest.raises(ValidationFailed) as refused:
        await join_challenge(account_id=account, code=FLIGHTS, now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert refused.value.code == "CHALLENGE_OVER"


OPENS = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
CLOSES = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
PRIZES = [
    {"partner": "swiss", "prize": "Business class flight", "count": 1},
    {"partner": "shop", "prize": "Trolley", "count": 2},
]


async def _quiz() -> None:
    await quiz.create_quiz(
        month="2026-11",
        question="Which airport is Lufthansa's largest hub?",
        options=["Munich", "Frankfurt", "Vienna"],
        correct_option=1,
        prizes=PRIZES,
        opens_at=OPENS,
        closes_at=CLOSES,
        actor="operator:ada",
        now=OPENS,
    )


async def test_one_entry_per_member_and_month(db: Settings) -> None:
    await _quiz()
    account = int((await make_member()).member.id)
    entry = await quiz.enter_quiz(account_id=account, answer=1, now=JOINED)
    assert entry.correct
    with pytest.raises(Conflict):
        await quiz.enter_quiz(account_id=account, answer=0, now=JOINED)
    with pytest.raises(ValidationFailed) as invalid:
        await quiz.enter_quiz(
            account_id=int((await make_member("b@example.com")).member.id), answer=7, now=JOINED
        )
    assert invalid.value.code == "ANSWER_INVALID"
    with pytest.raises(ValidationFailed) as closed:
        await quiz.enter_quiz(account_id=account, answer=1, now=CLOSES)
    assert closed.value.code in {"QUIZ_CLOSED", "QUIZ_NOT_FOUND"}


async def test_the_draw_is_reproducible_and_auditable(db: Settings) -> None:
    await _quiz()
    accounts = [int((await make_member(f"m{n}@example.com")).member.id) for n in range(6)]
    for n, account in enumerate(accounts):
        await quiz.enter_quiz(account_id=account, answer=1 if n % 3 else 0, now=JOINED)  # 4 correct
    with pytest.raises(ValidationFailed):
        await quiz.draw(month="2026-11", actor="operator:ada", now=JOINED)
    winners = await quiz.draw(month="2026-11", actor="operator:ada", now=CLOSES)
    assert len(winners) == 3
    correct = {accounts[n] for n in range(6) if n % 3}
    assert {w.account_id for w in winners} <= correct
    assert len({w.account_id for w in winners}) == 3
    assert await quiz.verify_draw(month="2026-11")
    stored = (await quiz.quiz_for("2026-11")).draw_seed
    assert stored is not None
    # The same seed and entries always give the same winners.
    again = quiz.pick_winners(stored, sorted(correct, key=accounts.index), quiz.parse_prizes(PRIZES))
    assert [account for account, _ in again] == [w.account_id for w in winners]
    # Tampering with a stored winner is caught.
    first = await QuizWinner.get(position=1)
    first.account_id = accounts[0]
    await first.save()
    assert not await quiz.verify_draw(month="2026-11")
    with pytest.raises(Conflict):
        await quiz.draw(month="2026-11", actor="operator:ada", now=CLOSES)


async def test_concurrent_entries_count_once(pg_db: Settings) -> None:
    await _quiz()
    account = int((await make_member()).member.id)
    results = await asyncio.gather(
        *[quiz.enter_quiz(account_id=account, answer=1, now=JOINED) for _ in range(8)], return_exceptions=True
    )
    assert sum(not isinstance(result, BaseException) for result in results) == 1
    assert all(isinstance(result, Conflict) for result in results if isinstance(result, BaseException))
