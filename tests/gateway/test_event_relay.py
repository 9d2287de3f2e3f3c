"""The domain-event relay: committed events reach the member's pub/sub channel once, in commit order."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import orjson

from gateway.backends.memory import MemoryPubSub, MemorySubscription
from gateway.settings import Settings
from gateway.workers.event_relay import default_handlers, relay_once
from loyalty.crediting import post
from loyalty.events.models import DomainEvent
from loyalty.ledger.events import balance_channel
from loyalty.ledger.models import Currency, PostingSource
from loyalty.rules import current_rules
from tests.factories import make_member
from tests.support import deadline_s

HANDLERS = default_handlers(current_rules())
"""What the served relay runs, under the programme rules the service loads."""


async def _credit(account_id: int, miles: int, key: str) -> None:
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=dt.date(2026, 5, 1),
        rule_version="test",
        rules=current_rules(),
    )


async def _drain(subscription: MemorySubscription, count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for _ in range(count):
        messages.append(orjson.loads(await asyncio.wait_for(subscription.__anext__(), timeout=deadline_s(2))))
    return messages


async def test_events_are_published_on_the_member_channel_in_order_and_once(db: Settings) -> None:
    member = (await make_member()).member
    pubsub = MemoryPubSub()
    subscription = await pubsub.subscribe(balance_channel(member.id))
    for n in range(3):
        await _credit(member.id, 100 + n, f"relay-{n}")

    assert await relay_once(pubsub, handlers=HANDLERS) == 3
    messages = await _drain(subscription, 3)
    assert [m["type"] for m in messages] == ["ledger.posting.created"] * 3
    assert [m["payload"]["amounts"] for m in messages] == [
        {"AWARD_MILES": 100},
        {"AWARD_MILES": 101},
        {"AWARD_MILES": 102},
    ]
    assert await relay_once(pubsub, handlers=HANDLERS) == 0
    assert await DomainEvent.filter(published_at__isnull=True).count() == 0
    await subscription.close()


async def test_concurrent_relays_publish_each_event_once(pg_db: Settings) -> None:
    member = (await make_member()).member
    for n in range(40):
        await _credit(member.id, 10 + n, f"many-{n}")
    pubsub = MemoryPubSub()
    subscription = await pubsub.subscribe(balance_channel(member.id))

    handled = await asyncio.gather(*[relay_once(pubsub, handlers=HANDLERS, batch=7) for _ in range(12)])
    while sum(handled) < 40:
        handled.append(await relay_once(pubsub, handlers=HANDLERS, batch=7))
    messages = await _drain(subscription, 40)
    ids = [m["id"] for m in messages]
    assert len(ids) == len(set(ids)) == 40
    await subscription.close()
