"""The inbox in batches (``webhooks.batch``, PostgreSQL): a partition's leading fresh accruals are
credited in one transaction, with the same outcome as one by one, and what a batch cannot take is
settled one by one with its usual outcome."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest

from gateway.backends.memory import MemoryQueue
from gateway.settings import Settings
from loyalty.enrolment import EnrolledMember
from loyalty.events.models import DomainEvent, EventType
from loyalty.ledger.models import Balance, Currency, Entry, Lot, Posting
from loyalty.ledger.verify import verify_ledger
from loyalty.members.models import Member, Tier
from loyalty.offers.models import Offer, OfferActivation, OfferKind
from loyalty.rules import current_rules
from partners.models import Partner
from tests.factories import make_member, make_partner
from tests.support import statements
from tests.webhooks.test_worker import unknown_card_number
from webhooks.batch import apply_batch
from webhooks.models import InboxState, PartnerInbox
from webhooks.worker import InboxPolicy, InboxWorker, enqueue

pytestmark = pytest.mark.postgres
ONE_PARTITION = InboxPolicy(partitions=1)


def accrual(card: str, transaction_id: str, **amounts: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "member": {"serviceCardNumber": card},
        "transactionId": transaction_id,
        "activityDate": dt.datetime.now(dt.UTC).date().isoformat(),  # when the accrual is made
        **(amounts or {"miles": 100}),
    }
    return {"type": "accrual.created", "data": data}


async def store(event: dict[str, Any]) -> int:
    partner = await Partner.get(code="swiss")
    row = await PartnerInbox.create(
        partner_id=partner.id,
        webhook_id=f"msg_{uuid.uuid4().hex}",
        event_type=event["type"],
        payload=event,
        business_key=f"accrual:{event['data']['transactionId']}",
    )
    return int(row.id)


async def members(count: int) -> list[EnrolledMember]:
    return [await make_member(f"batch{n}@example.com") for n in range(count)]


async def drain(inbox_ids: list[int], batch: int = 50) -> InboxWorker:
    queue = MemoryQueue()
    for inbox_id in inbox_ids:
        await enqueue(queue, inbox_id, "", partitions=1)
    worker = InboxWorker(queue=queue, rules=current_rules(), consumer="w", policy=ONE_PARTITION, batch=batch)
    await worker.queue.ensure_group("milesgate:inbox:{p0}", "inbox-workers")
    while await worker.run_once():
        pass
    return worker


async def miles(account_id: int) -> int:
    balance = await Balance.get(account_id=account_id, currency=Currency.AWARD_MILES)
    return int(balance.amount)


async def test_a_batch_credits_every_accrual_once_with_few_statements(pg_db: Settings):
    # given: 30 accruals for 3 members, stored and queued
    await make_partner("swiss")
    people = await members(3)
    ids = [await store(accrual(people[n % 3].card.number, f"T-{n}", miles=100 + n)) for n in range(30)]

    # when: one batch takes them all
    with statements() as sent:
        taken = await apply_batch(ids, current_rules())

    # then: all credited, exactly once, in a dozen statements for thirty rows
    assert taken == 30
    assert len(sent) < 20, sent
    assert await PartnerInbox.filter(state=InboxState.PROCESSED).count() == 30
    assert await Posting.all().count() == 30
    assert await Entry.all().count() == 30
    assert await Lot.all().count() == 30
    events = await DomainEvent.filter(type=EventType.POSTING_CREATED).order_by("id")
    assert len(events) == 30
    assert {event.payload["postingId"] for event in events} == set(
        await Posting.all().values_list("id", flat=True)
    )
    for n, person in enumerate(people):
        assert await miles(person.member.id) == sum(100 + k for k in range(n, 30, 3))
    rows = await PartnerInbox.filter(id__in=ids).order_by("id")
    assert [row.account_id for row in rows] == [people[n % 3].member.id for n in range(30)]
    assert all(row.attempts == 1 and row.processed_at is not None for row in rows)
    assert (await verify_ledger()).clean

    # and again: nothing more
    assert await apply_batch(ids, current_rules()) == 30
    assert await Posting.all().count() == 30


async def test_the_worker_settles_what_a_batch_cannot_take_one_by_one(pg_db: Settings):
    # given: fresh accruals, one for a card nobody has in the middle, and one already credited
    await make_partner("swiss")
    (person,) = await members(1)
    first = [await store(accrual(person.card.number, f"A-{n}")) for n in range(3)]
    unknown = await store(accrual(unknown_card_number(), "U-1"))
    later = [await store(accrual(person.card.number, f"B-{n}")) for n in range(3)]

    # when
    await drain([*first, unknown, *later])

    # then: the unknown member's row is parked, every other row credited once
    assert (await PartnerInbox.get(id=unknown)).state is InboxState.UNMATCHED
    assert await PartnerInbox.filter(id__in=[*first, *later], state=InboxState.PROCESSED).count() == 6
    assert await miles(person.member.id) == 600
    assert await Posting.all().count() == 6
    assert (await verify_ledger()).clean


async def test_a_transaction_credited_before_is_not_credited_again(pg_db: Settings):
    # given: the same transaction under a second webhook id, after the first was credited
    await make_partner("swiss")
    (person,) = await members(1)
    first = await store(accrual(person.card.number, "T-1", miles=500))
    await drain([first])
    await PartnerInbox.filter(id=first).update(business_key=None)  # as a failed row would give it up
    again = [
        await store(accrual(person.card.number, "T-1", miles=500)),
        await store(accrual(person.card.number, "T-2")),
    ]

    # when
    taken = await apply_batch(again, current_rules())

    # then
    assert taken == 2
    assert await miles(person.member.id) == 600
    assert await Posting.all().count() == 2


async def test_status_points_in_a_batch_run_the_status_engine(pg_db: Settings):
    # given: enough points and qualifying points for Frequent Traveller, in two accruals of one batch
    await make_partner("swiss")
    (person,) = await members(1)
    needed = current_rules().status.thresholds[Tier.FTL.value]
    points, qualifying = needed["POINTS"], needed["QUALIFYING_POINTS"]
    half = {"points": points // 2, "qualifyingPoints": qualifying // 2}
    rest = {"points": points - points // 2, "qualifyingPoints": qualifying - qualifying // 2}
    ids = [
        await store(accrual(person.card.number, "S-1", miles=10, **half)),
        await store(accrual(person.card.number, "S-2", miles=10, **rest)),
    ]

    # when
    assert await apply_batch(ids, current_rules()) == 2

    # then
    member = await Member.get(id=person.member.id)
    assert member.tier is Tier.FTL
    assert (await verify_ledger()).clean


async def test_an_activated_offer_adds_its_bonus_in_a_batch(pg_db: Settings):
    # given: the member activated an earn offer of the partner
    await make_partner("swiss")
    person, other = await members(2)
    now = dt.datetime.now(dt.UTC)
    offer = await Offer.create(
        code="SWISS-BONUS",
        partner_code="swiss",
        kind=OfferKind.EARN,
        title="500 bonus miles",
        bonus_miles=500,
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=30),
    )
    await OfferActivation.create(
        offer=offer, account_id=person.member.id, activated_at=now - dt.timedelta(hours=1)
    )
    ids = [await store(accrual(person.card.number, "O-1")), await store(accrual(other.card.number, "O-2"))]

    # when
    assert await apply_batch(ids, current_rules()) == 2

    # then
    assert await miles(person.member.id) == 600
    assert await miles(other.member.id) == 100
    assert (await verify_ledger()).clean


@pytest.mark.parametrize(("reads", "handled"), [(1, 5), (3, 12)])
async def test_one_visit_reads_a_partition_again_while_each_read_fills_up(
    pg_db: Settings, reads: int, handled: int
):
    # given: 12 fresh accruals queued on one partition, read 5 at a time
    await make_partner("swiss")
    (person,) = await members(1)
    queue = MemoryQueue()
    for n in range(12):
        await enqueue(queue, await store(accrual(person.card.number, f"V-{n}")), "", partitions=1)
    worker = InboxWorker(
        queue=queue,
        rules=current_rules(),
        consumer="w",
        policy=ONE_PARTITION,
        batch=5,
        batches_per_lease=reads,
    )
    await queue.ensure_group("milesgate:inbox:{p0}", "inbox-workers")

    # when: the worker visits the partition once
    assert await worker.run_once() == handled

    # then: what it read is credited and acknowledged; the rest is for the next visit
    assert await PartnerInbox.filter(state=InboxState.PROCESSED).count() == handled
    assert await queue.pending_count("milesgate:inbox:{p0}", "inbox-workers") == 0
    while await worker.run_once():
        pass
    assert await miles(person.member.id) == 1200
    assert (await verify_ledger()).clean


@pytest.mark.parametrize(("keep_max_s", "taken_over"), [(30.0, False), (0.05, True)])
async def test_a_batch_slower_than_its_lease_keeps_its_partition_up_to_the_cap(
    pg_db: Settings, monkeypatch: pytest.MonkeyPatch, keep_max_s: float, taken_over: bool
):
    # given: a batch that takes several lease lifetimes (a busy host), and a second worker waiting
    await make_partner("swiss")
    (person,) = await members(1)
    queue = MemoryQueue()
    for n in range(6):
        await enqueue(queue, await store(accrual(person.card.number, f"L-{n}")), "", partitions=1)
    await queue.ensure_group("milesgate:inbox:{p0}", "inbox-workers")
    lease = "milesgate:inbox-lease:{p0}"
    batch_started = asyncio.Event()

    async def slow_batch(inbox_ids: list[int], rules: Any) -> int:
        batch_started.set()
        await asyncio.sleep(0.6)  # four lease lifetimes of 150 ms
        return await apply_batch(inbox_ids, rules)

    monkeypatch.setattr("webhooks.worker.apply_batch", slow_batch)
    first = InboxWorker(
        queue=queue,
        rules=current_rules(),
        consumer="w1",
        policy=ONE_PARTITION,
        batch=10,
        lease_ms=150,
        lease_keep_max_s=keep_max_s,
    )

    # when: the first worker runs its batch while the second asks for the partition every 20 ms
    visit = asyncio.create_task(first.run_once())
    await batch_started.wait()
    seen_free = False
    while not visit.done():
        seen_free = seen_free or await queue.acquire_lease(lease, "w2", ttl_ms=10)
        await asyncio.sleep(0.02)

    # then: within the cap the partition stays the first worker's; past it, it is free for another
    assert seen_free is taken_over
    assert await visit == 6
    assert await miles(person.member.id) == 600
    assert await queue.pending_count("milesgate:inbox:{p0}", "inbox-workers") == 0
    assert (await verify_ledger()).clean
