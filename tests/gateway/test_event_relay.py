"""The domain-event relay: committed events reach the member's pub/sub channel once, in commit order."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson

from gateway.backends.memory import MemoryPubSub, MemorySubscription
from gateway.settings import Settings
from gateway.workers.event_relay import (
    MAX_DISPATCH_ATTEMPTS,
    RelayHandler,
    default_handlers,
    relay_once,
    relay_round,
)
from loyalty.consents.models import ConsentPurpose
from loyalty.consents.service import record_consent
from loyalty.crediting import post
from loyalty.events.models import DomainEvent, EventType
from loyalty.ledger.events import balance_channel
from loyalty.ledger.models import Currency, PostingSource
from loyalty.notifications.models import Notification
from loyalty.rules import current_rules
from tests.factories import make_member, make_partner, partner_box_for_tests
from tests.support import deadline_s, statements
from webhooks.outbound.models import OutboundDelivery, OutboundMessage
from webhooks.outbound.policy import DeliveryPolicy
from webhooks.outbound.service import create_endpoint

HANDLERS = default_handlers(current_rules())
"""What the served relay runs, under the programme rules the service loads."""


async def _credit(account_id: int, miles: int, key: str, *, partner_reference: str | None = None) -> None:
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: miles},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=dt.date(2026, 5, 1),
        rule_version="test",
        rules=current_rules(),
        partner_reference=partner_reference,
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


async def _consenting_member(email: str) -> int:
    account = int((await make_member(email)).member.id)
    for purpose in (ConsentPurpose.EMAIL, ConsentPurpose.PUSH):
        await record_consent(
            account_id=account,
            purpose=purpose,
            given=True,
            text_version="v1",
            now=dt.datetime.now(dt.UTC),
            rules=current_rules(),
        )
    return account


async def test_a_failing_event_in_a_batch_keeps_what_went_before_once_and_holds_back_the_rest(
    pg_db: Settings,
) -> None:
    # given: two members' credits, every handler batched, and one that fails on the third event
    first, second = await _consenting_member("one@example.com"), await _consenting_member("two@example.com")
    await relay_once(MemoryPubSub(), handlers=HANDLERS)  # what enrolment announced
    notified_before = await Notification.all().count()
    for n in range(6):
        await _credit(first if n % 2 == 0 else second, 100 + n, f"batch-{n}")
    events = await DomainEvent.filter(published_at__isnull=True).order_by("id")
    bad = events[2]
    failing = {bad.id}
    batch_calls: list[list[int]] = []

    async def fussy_one(event: DomainEvent) -> None:
        if event.id in failing:
            raise RuntimeError("flaky")

    async def fussy_many(batch: Sequence[DomainEvent]) -> None:
        batch_calls.append([event.id for event in batch])
        for event in batch:
            await fussy_one(event)

    fussy = RelayHandler(one=fussy_one, many=fussy_many, types=frozenset({EventType.POSTING_CREATED}))
    pubsub = MemoryPubSub()
    subscriptions = [await pubsub.subscribe(balance_channel(account)) for account in (first, second)]

    # when: a round runs
    assert await relay_round(pubsub, handlers=(*HANDLERS, fussy)) == (2, True)

    # then: the batch was tried once, whole; the two events before the failing one are published with
    # their messages (once each, nothing left over from the rolled back batch); it and the rest wait
    assert batch_calls == [[event.id for event in events]]
    published = [event.id for event in await DomainEvent.filter(published_at__isnull=False).order_by("id")]
    assert published == [events[0].id, events[1].id]
    assert sorted(
        str(key)
        for key in await Notification.filter(template="miles_credited").values_list("dedupe_key", flat=True)
    ) == sorted(f"event:{event.id}:{channel}" for event in events[:2] for channel in ("EMAIL", "PUSH"))
    await bad.refresh_from_db()
    assert (bad.dispatch_attempts, bad.dispatch_error, bad.published_at) == (1, "RuntimeError: flaky", None)
    assert [m["id"] for m in await _drain(subscriptions[0], 1)] == [events[0].id]
    assert [m["id"] for m in await _drain(subscriptions[1], 1)] == [events[1].id]

    # when: the handler works again; a batch holding a failed event goes one by one
    failing.clear()
    assert await relay_round(pubsub, handlers=(*HANDLERS, fussy)) == (4, False)

    # then: the rest follows in order, every event's messages exactly once
    assert len(batch_calls) == 1
    assert [m["id"] for m in await _drain(subscriptions[0], 2)] == [events[2].id, events[4].id]
    assert [m["id"] for m in await _drain(subscriptions[1], 2)] == [events[3].id, events[5].id]
    assert await Notification.all().count() == notified_before + 2 * len(events)
    assert await DomainEvent.filter(published_at__isnull=True).count() == 0
    for subscription in subscriptions:
        await subscription.close()


async def test_a_set_aside_event_lets_the_batch_behind_it_through(pg_db: Settings) -> None:
    member = (await make_member()).member
    await relay_once(MemoryPubSub(), handlers=HANDLERS)  # what enrolment announced
    for n in range(3):
        await _credit(member.id, 10 + n, f"aside-{n}")
    events = await DomainEvent.filter(published_at__isnull=True).order_by("id")

    async def broken(event: DomainEvent) -> None:
        if event.id == events[0].id:
            raise RuntimeError("never works")

    pubsub = MemoryPubSub()
    for _ in range(1, MAX_DISPATCH_ATTEMPTS):
        assert await relay_round(pubsub, handlers=[broken]) == (0, True)
    assert await relay_round(pubsub, handlers=[broken]) == (3, False)
    await events[0].refresh_from_db()
    assert events[0].dispatch_attempts == MAX_DISPATCH_ATTEMPTS


async def test_a_batched_round_takes_as_many_statements_for_forty_events_as_for_five(pg_db: Settings) -> None:
    # given: consenting members whose partner accruals make member messages and outbound messages
    await make_partner("swiss")
    await create_endpoint(
        partner_code="swiss",
        url="http://127.0.0.1:9/hook",
        event_types=["accrual.credited"],
        box=partner_box_for_tests(),
        policy=DeliveryPolicy(allowed_hosts=("127.0.0.1",), allow_http=True),
    )
    accounts = [await _consenting_member(f"m{n}@example.com") for n in range(4)]
    await relay_once(MemoryPubSub(), handlers=HANDLERS)  # what enrolment announced

    async def round_of(count: int, tag: str) -> list[str]:
        for n in range(count):
            key = f"{tag}-{n}"
            await _credit(accounts[n % len(accounts)], 100 + n, key, partner_reference=f"swiss:{key}")
        with statements() as sent:
            assert await relay_once(MemoryPubSub(), handlers=HANDLERS) == count
        return sent

    # when: a round of 5 and one of 40 events
    five, forty = await round_of(5, "five"), await round_of(40, "forty")

    # then: the same statements, and every event's effects are there
    assert len(five) == len(forty) <= 16, forty
    assert await OutboundMessage.all().count() == 45
    assert await OutboundDelivery.all().count() == 45
    assert await Notification.filter(template="miles_credited").count() == 2 * 45


async def test_the_one_by_one_path_skips_handlers_for_types_they_do_not_take(db: Settings) -> None:
    member = (await make_member()).member
    await relay_once(MemoryPubSub(), handlers=HANDLERS)  # what enrolment announced
    await _credit(member.id, 100, "skip-1")
    seen: list[int] = []

    async def record_one(event: DomainEvent) -> None:
        seen.append(event.id)

    async def refuse_many(batch: Sequence[DomainEvent]) -> None:
        raise RuntimeError("go one by one")

    only_status = RelayHandler(one=record_one, many=refuse_many, types=frozenset({EventType.STATUS_CHANGED}))
    every_type = RelayHandler(one=record_one, many=refuse_many)
    assert await relay_once(MemoryPubSub(), handlers=[only_status]) == 1
    assert seen == []
    await _credit(member.id, 100, "skip-2")
    assert await relay_once(MemoryPubSub(), handlers=[every_type]) == 1
    assert len(seen) == 1
