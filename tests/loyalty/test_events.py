"""Domain events (issue 4): every posting and redemption writes its event in the same transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from tortoise.transactions import in_transaction

from gateway.settings import Settings
from loyalty.crediting import post
from loyalty.events.models import DomainEvent, EventType
from loyalty.events.service import events_of, mark_published, unpublished
from loyalty.ledger.models import Currency, Posting, PostingSource
from loyalty.ledger.reversal import reverse_posting
from loyalty.rewards import service as rewards
from loyalty.rules import current_rules
from tests.factories import make_member

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


class Boom(RuntimeError):
    pass


async def _credit(account_id: int, miles: int, key: str) -> int:
    result = await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: miles, Currency.POINTS: 40},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=NOW.date(),
        rule_version="test",
        rules=current_rules(),
        partner_reference="LX-1",
    )
    return result.posting_id


async def test_a_posting_writes_one_event_with_its_amounts(db: Settings) -> None:
    member = (await make_member()).member
    posting_id = await _credit(member.id, 1200, "e-1")
    await _credit(member.id, 1200, "e-1")  # a repeat posts nothing, so announces nothing
    events = await events_of(account_id=member.id)
    assert [event.type for event in events] == [EventType.POSTING_CREATED]
    assert events[0].posting_id == posting_id
    assert events[0].payload["amounts"] == {"AWARD_MILES": 1200, "POINTS": 40}
    assert events[0].payload["source"] == "PARTNER_ACCRUAL"
    assert events[0].payload["partnerReference"] == "LX-1"


async def test_a_rolled_back_posting_leaves_no_event(db: Settings) -> None:
    member = (await make_member()).member

    async def credit_then_fail() -> None:
        async with in_transaction():
            await _credit(member.id, 500, "e-rolled-back")
            raise Boom

    with pytest.raises(Boom):
        await credit_then_fail()
    assert await Posting.filter(account_id=member.id).count() == 0
    assert await DomainEvent.filter(account_id=member.id).count() == 0


async def test_redemption_and_cancellation_announce_themselves(db: Settings) -> None:
    member = (await make_member()).member
    await _credit(member.id, 5000, "e-2")
    rules = current_rules()
    redemption = await rewards.redeem(
        account_id=member.id, reward_code="SHOP-LUGGAGE-TAG", idempotency_key="r1", rules=rules, now=NOW
    )
    await rewards.cancel_redemption(account_id=member.id, redemption_id=redemption.id, now=NOW, rules=rules)
    types = [event.type for event in reversed(await events_of(account_id=member.id))]
    assert types == [
        EventType.POSTING_CREATED,  # the credit
        EventType.POSTING_CREATED,  # the redemption's debit
        EventType.REDEMPTION_CREATED,
        EventType.POSTING_CREATED,  # the reversal
        EventType.REDEMPTION_CANCELLED,
    ]


async def test_reversal_announces_the_mirror_amounts(db: Settings) -> None:
    member = (await make_member()).member
    posting_id = await _credit(member.id, 800, "e-3")
    await reverse_posting(
        posting_id=posting_id, activity_date=NOW.date(), rule_version="test", rules=current_rules()
    )
    latest = (await events_of(account_id=member.id))[0]
    assert latest.payload["source"] == "REVERSAL"
    assert latest.payload["amounts"] == {"AWARD_MILES": -800, "POINTS": -40}


async def test_unpublished_events_come_in_commit_order_and_are_marked_once(db: Settings) -> None:
    member = (await make_member()).member
    for n in range(3):
        await _credit(member.id, 100 + n, f"e-order-{n}")
    pending = await unpublished(limit=10)
    assert [event.payload["amounts"]["AWARD_MILES"] for event in pending] == [100, 101, 102]
    assert await mark_published([pending[0].id, pending[1].id], now=NOW) == 2
    assert await mark_published([pending[0].id], now=NOW) == 0
    assert [event.id for event in await unpublished(limit=10)] == [pending[2].id]
