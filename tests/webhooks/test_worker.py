"""The accrual path: a stored ``accrual.created`` delivery credited once by the inbox worker.

End-to-end tests go through ``POST /webhooks/partners/{code}`` and wait (bounded) for the app's
in-process worker; service-level tests call ``process_inbox_row`` and ``requeue_pending`` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from typing import Any

import pytest
from httpx2 import AsyncClient

from gateway.backends.memory import MemoryQueue
from gateway.services import services
from gateway.settings import Settings
from loyalty.enrolment import EnrolledMember
from loyalty.identifiers import new_service_card_number
from loyalty.ledger.models import Balance, Currency, Entry, Posting
from loyalty.ledger.service import balances_of
from loyalty.members.cards import CardBlockReason, block_card
from loyalty.members.models import CardState, ServiceCard
from loyalty.rules import current_rules
from partners.models import Partner
from partners.service import NewPartner
from tests.factories import ME, enrolled_member, gql, make_member, make_partner
from tests.support import deadline_s, signed_delivery
from tests.waiting import eventually, settled_inbox_row
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound.models import OutboundMessage
from webhooks.worker import (
    INBOX_GROUP,
    UNMATCHED_CODES,
    InboxPolicy,
    InboxWorker,
    enqueue,
    inbox_stream,
    process_inbox_row,
    requeue_pending,
)

# the inbox queue and its streams: Redis on the production stack, and a Redis Cluster in .ci/run's cluster part
pytestmark = pytest.mark.redis

URL = "/webhooks/partners/swiss"
WAIT_S = 5.0
POLL_S = 0.02


def accrual_event(member: dict[str, str], transaction_id: str = "LX-1", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "member": member,
        "transactionId": transaction_id,
        "activityDate": "2025-03-01",
        "miles": 1200,
    }
    data.update(extra)
    return {"type": "accrual.created", "data": data}


def unknown_card_number() -> str:
    """A well-formed (Luhn-valid, known prefix) card number that nobody holds."""
    return new_service_card_number(current_rules().identifiers, tier="BASE", advertising_consent=True)


async def deliver(
    client: AsyncClient, secret: str, event: dict[str, Any], webhook_id: str | None = None
) -> int:
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    body, headers = signed_delivery(secret, event, webhook_id=webhook_id)
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 202, response.text
    inbox_id: int = response.json()["id"]
    return inbox_id


async def settled(inbox_id: int) -> PartnerInbox:
    """The inbox row once the worker is done with it (processed or failed)."""
    return await settled_inbox_row(inbox_id, timeout_s=WAIT_S, interval_s=POLL_S)


async def award_miles(account_id: int) -> int:
    return (await balances_of(account_id=account_id))[Currency.AWARD_MILES]


@pytest.fixture
async def partner(client: AsyncClient) -> NewPartner:
    return await make_partner("swiss")


@pytest.fixture
async def member(client: AsyncClient) -> EnrolledMember:
    return await make_member()


# --- through HTTP and the in-process worker --------------------------------------------------------


async def test_accrual_is_credited_and_visible_in_me(client: AsyncClient, partner: NewPartner):
    # given: a member enrolled through the API
    success = await enrolled_member(client)
    token = success["accessToken"]
    event = accrual_event({"serviceCardNumber": success["serviceCardNumber"]}, "LX-1001", miles=1200)

    # when
    inbox_id = await deliver(client, partner.signing_secret, event)

    # then: the member sees the miles (polled, bounded)
    async def me_now() -> dict[str, Any]:
        answer = await gql(client, ME, token=token)
        assert "errors" not in answer, answer
        return answer

    me = await eventually(
        me_now,
        lambda answer: answer["data"]["me"]["balances"]["awardMiles"] == 1200,
        timeout_s=WAIT_S,
        interval_s=POLL_S,
        what="the member sees the miles",
    )
    assert me["data"]["me"]["balances"]["points"] == 0
    # and the database shows one processed row and one posting
    row = await PartnerInbox.get(id=inbox_id)
    swiss = await Partner.get(code="swiss")
    assert row.state is InboxState.PROCESSED
    assert row.error_code is None
    assert row.attempts == 1
    assert row.processed_at is not None
    posting = await Posting.get(account_id=row.account_id)
    assert posting.account_id == row.account_id
    assert posting.source == "PARTNER_ACCRUAL"
    assert posting.partner_reference == "swiss:LX-1001"
    assert posting.idempotency_key == f"accrual:{swiss.id}:LX-1001"
    assert posting.activity_date == dt.date(2025, 3, 1)
    entries = await Entry.filter(posting_id=posting.id).values_list("currency", "amount")
    assert entries == [(Currency.AWARD_MILES, 1200)]


async def test_accrual_by_account_number_is_credited(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given
    event = accrual_event({"accountNumber": member.member.account_number}, miles=800, points=40)

    # when
    row = await settled(await deliver(client, partner.signing_secret, event))

    # then
    assert row.state is InboxState.PROCESSED, row.error_code
    assert row.account_id == member.member.id
    balances = await balances_of(account_id=member.member.id)
    assert balances[Currency.AWARD_MILES] == 800
    assert balances[Currency.POINTS] == 40
    assert await Posting.filter(account_id=member.member.id).count() == 1


async def test_same_transaction_under_a_new_webhook_id_is_a_duplicate(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: the transaction was credited once
    event = accrual_event({"serviceCardNumber": member.card.number}, "LX-7", miles=500)
    first = await settled(await deliver(client, partner.signing_secret, event, "msg_a"))
    assert first.state is InboxState.PROCESSED, first.error_code
    assert await award_miles(member.member.id) == 500

    # when: the partner sends the same transaction again as a new delivery
    body, headers = signed_delivery(partner.signing_secret, event, webhook_id="msg_b")
    again = await client.post(URL, content=body, headers=headers)

    # then: answered 2xx as a duplicate of the first row; nothing stored, nothing more posted
    assert again.status_code == 200, again.text
    assert again.json() == {"id": first.id, "duplicate": True}
    assert await PartnerInbox.all().count() == 1
    assert await award_miles(member.member.id) == 500
    assert await Posting.filter(account_id=member.member.id).count() == 1
    assert await Entry.filter(account_id=member.member.id).count() == 1


async def test_a_failed_transaction_can_be_sent_again_corrected(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: the first delivery named a card nobody holds, so it failed and credited nothing
    wrong = accrual_event({"serviceCardNumber": unknown_card_number()}, "LX-8", miles=700)
    failed = await settled(await deliver(client, partner.signing_secret, wrong, "msg_wrong"))
    assert (failed.state, failed.error_code) == (InboxState.UNMATCHED, "CARD_NOT_FOUND")

    # when: the partner sends the same transaction with the right card under a new webhook id
    right = accrual_event({"serviceCardNumber": member.card.number}, "LX-8", miles=700)
    corrected = await settled(await deliver(client, partner.signing_secret, right, "msg_right"))

    # then: it is accepted and credited once
    assert corrected.state is InboxState.PROCESSED, corrected.error_code
    assert await award_miles(member.member.id) == 700
    assert (await PartnerInbox.get(id=failed.id)).business_key is None


async def test_superseded_card_number_still_credits_the_account(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: the member's card number was superseded (e.g. after a status change)
    await ServiceCard.filter(id=member.card.id).update(state=CardState.SUPERSEDED)
    event = accrual_event({"serviceCardNumber": member.card.number}, miles=3400)

    # when
    row = await settled(await deliver(client, partner.signing_secret, event))

    # then
    assert row.state is InboxState.PROCESSED, row.error_code
    assert row.account_id == member.member.id
    assert await award_miles(member.member.id) == 3400


async def test_a_blocked_number_credits_activity_before_the_block_and_refuses_the_rest_with_the_reason(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: the member reported the card stolen on 5 March 2025; a new number was issued
    blocked_at = dt.datetime(2025, 3, 5, 10, 0, tzinfo=dt.UTC)
    await block_card(
        account_id=member.member.id, reason=CardBlockReason.STOLEN, rules=current_rules(), now=blocked_at
    )
    old = {"serviceCardNumber": member.card.number}

    # when: the partner sends an activity of the day before, one of the day of the block and one after
    before = await settled(await deliver(client, partner.signing_secret, accrual_event(old, "LX-B1")))
    on_the_day = await settled(
        await deliver(client, partner.signing_secret, accrual_event(old, "LX-B2", activityDate="2025-03-05"))
    )
    after = await settled(
        await deliver(client, partner.signing_secret, accrual_event(old, "LX-B3", activityDate="2025-03-09"))
    )

    # then: the first credits the owner; the others are refused with CARD_BLOCKED and credit nobody
    assert before.state is InboxState.PROCESSED and before.account_id == member.member.id
    assert await award_miles(member.member.id) == 1200
    for row in (on_the_day, after):
        assert (row.state, row.error_code) == (InboxState.FAILED, "CARD_BLOCKED")
        assert row.error_message and "2025-03-05" in row.error_message
    assert await Posting.filter(account_id=member.member.id).count() == 1
    # and the partner is told why, in an accrual.rejected message naming the code and the reason
    rejected = {
        message.payload["data"]["transactionId"]: message.payload["data"]
        for message in await OutboundMessage.filter(event_type="accrual.rejected")
    }
    assert set(rejected) == {"LX-B2", "LX-B3"}
    assert all(data["code"] == "CARD_BLOCKED" and not data["unmatched"] for data in rejected.values())
    assert "blocked on 2025-03-05" in rejected["LX-B2"]["reason"]


async def test_grouped_card_number_is_credited(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: the partner sends the number as printed, in groups of four
    number = member.card.number
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    event = accrual_event({"serviceCardNumber": grouped}, miles=250)

    # when
    row = await settled(await deliver(client, partner.signing_secret, event))

    # then
    assert row.state is InboxState.PROCESSED, row.error_code
    assert await award_miles(member.member.id) == 250


@pytest.mark.parametrize(
    ("member_ref", "overrides", "code"),
    [
        pytest.param({"serviceCardNumber": "UNKNOWN"}, {}, "CARD_NOT_FOUND", id="unknown-card"),
        pytest.param({"accountNumber": "000000001"}, {}, "MEMBER_NOT_FOUND", id="unknown-account"),
        pytest.param({"accountNumber": "12345"}, {}, "ACCOUNT_NUMBER_INVALID", id="short-account-number"),
        pytest.param(None, {"activityDate": "2016-12-12"}, "ACTIVITY_TOO_OLD", id="miles-expired-already"),
    ],
)
async def test_accrual_that_cannot_be_applied_fails_without_posting(
    client: AsyncClient,
    partner: NewPartner,
    member: EnrolledMember,
    member_ref: dict[str, str] | None,
    overrides: dict[str, Any],
    code: str,
):
    # given
    if member_ref is None:
        member_ref = {"serviceCardNumber": member.card.number}
    elif member_ref.get("serviceCardNumber") == "UNKNOWN":
        member_ref = {"serviceCardNumber": unknown_card_number()}
    event = accrual_event(member_ref, **overrides)

    # when
    row = await settled(await deliver(client, partner.signing_secret, event))

    # then: an unknown member parks the row as unmatched, anything else fails it
    assert row.state is (InboxState.UNMATCHED if code in UNMATCHED_CODES else InboxState.FAILED)
    assert row.error_code == code
    assert row.error_message
    assert row.attempts == 1
    assert row.processed_at is not None
    assert await Posting.all().count() == 0
    assert await Balance.filter(amount__not=0).count() == 0


# --- service level ---------------------------------------------------------------------------------


async def store(partner_code: str, event: dict[str, Any], webhook_id: str | None = None) -> PartnerInbox:
    """An inbox row as ``webhooks.inbound.receive`` stores it, without queueing it."""
    partner = await Partner.get(code=partner_code)
    return await PartnerInbox.create(
        partner_id=partner.id,
        webhook_id=webhook_id or f"msg_{uuid.uuid4().hex}",
        event_type=event["type"],
        payload=event,
    )


async def test_process_inbox_row_applies_a_row_once(db: Settings):
    # given
    await make_partner("swiss")
    member = await make_member()
    row = await store("swiss", accrual_event({"serviceCardNumber": member.card.number}, miles=900))
    rules = current_rules()

    # when
    first = await process_inbox_row(row.id, rules)
    second = await process_inbox_row(row.id, rules)

    # then: the first call returns the row in its final state, the second does nothing
    assert first is not None
    assert first.id == row.id
    assert first.state is InboxState.PROCESSED
    assert second is None
    stored = await PartnerInbox.get(id=row.id)
    assert stored.state is InboxState.PROCESSED
    assert stored.attempts == 1
    assert stored.account_id == member.member.id
    assert await award_miles(member.member.id) == 900
    assert await Posting.all().count() == 1


async def test_process_inbox_row_leaves_a_failed_row_alone(db: Settings):
    # given
    await make_partner("swiss")
    row = await store("swiss", accrual_event({"serviceCardNumber": unknown_card_number()}))
    rules = current_rules()

    # when
    first = await process_inbox_row(row.id, rules)
    second = await process_inbox_row(row.id, rules)

    # then
    assert first is not None
    assert first.state is InboxState.UNMATCHED
    assert second is None
    stored = await PartnerInbox.get(id=row.id)
    assert (stored.state, stored.error_code, stored.attempts) == (InboxState.UNMATCHED, "CARD_NOT_FOUND", 1)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"transactionId": ""}, "TRANSACTION_ID_MISSING", id="no-transaction-id"),
        pytest.param({"miles": -5}, "AMOUNT_INVALID", id="negative-miles"),
        pytest.param({"miles": 0}, "AMOUNT_INVALID", id="nothing-credited"),
        pytest.param({"miles": True}, "AMOUNT_INVALID", id="boolean-miles"),
        pytest.param({"activityDate": "yesterday"}, "DATE_INVALID", id="bad-date"),
        pytest.param({"member": {}}, "MEMBER_MISSING", id="no-member-reference"),
        # refused at the entry point since issue 21 (400 CARD_NUMBER_CHECK_DIGIT); a row stored before fails
        pytest.param(
            {"member": {"serviceCardNumber": "992012345678900"}}, "CARD_NUMBER_CHECK_DIGIT", id="bad-luhn"
        ),
    ],
)
async def test_rows_stored_without_the_catalogue_check_still_fail_cleanly(
    db: Settings, overrides: dict[str, Any], code: str
):
    # given: rows the entry point would refuse today (stored before the catalogue existed)
    await make_partner("swiss")
    member = await make_member()
    event = accrual_event({"serviceCardNumber": member.card.number})
    event["data"].update(overrides)
    row = await store("swiss", event)

    # when
    result = await process_inbox_row(row.id, current_rules())

    # then
    assert result is not None
    assert (result.state, result.error_code) == (InboxState.FAILED, code)
    assert await Posting.all().count() == 0


async def test_row_of_an_event_type_without_handler_fails(db: Settings):
    # given: a stored row of a type no handler knows (the entry point refuses such types today)
    await make_partner("swiss")
    row = await store("swiss", {"type": "member.renamed", "data": {}})

    # when
    result = await process_inbox_row(row.id, current_rules())

    # then
    assert result is not None
    assert (result.state, result.error_code) == (InboxState.FAILED, "EVENT_TYPE_UNSUPPORTED")
    assert "member.renamed" in (result.error_message or "")


async def test_two_rows_of_one_transaction_post_once(db: Settings):
    # given: two stored rows of the same partner transaction (the ledger's idempotency key is the last guard)
    await make_partner("swiss")
    member = await make_member()
    event = accrual_event({"serviceCardNumber": member.card.number}, "LX-9", miles=300)
    first, second = await store("swiss", event), await store("swiss", event)

    # when
    results = [await process_inbox_row(row.id, current_rules()) for row in (first, second)]

    # then: both processed, one posting
    assert [result.state for result in results if result] == [InboxState.PROCESSED, InboxState.PROCESSED]
    assert await award_miles(member.member.id) == 300
    assert await Posting.all().count() == 1


async def test_process_inbox_row_of_an_unknown_id_returns_none(db: Settings):
    # when
    result = await process_inbox_row(987654, current_rules())

    # then
    assert result is None
    assert await PartnerInbox.all().count() == 0


async def test_requeue_pending_queues_only_old_pending_rows(db: Settings):
    # given: an old pending row, a fresh pending row and an old processed row
    await make_partner("swiss")
    member = await make_member()
    event = accrual_event({"serviceCardNumber": member.card.number})
    old = await store("swiss", event, "msg_old")
    fresh = await store("swiss", event, "msg_fresh")
    done = await store("swiss", event, "msg_done")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    await PartnerInbox.filter(id__in=[old.id, done.id]).update(received_at=long_ago)
    await PartnerInbox.filter(id=done.id).update(state=InboxState.PROCESSED)
    queue = MemoryQueue()

    # when
    queued = await requeue_pending(queue, older_than_s=60, partitions=1)

    # then
    assert queued == 1
    messages = await queue.consume(inbox_stream(0), INBOX_GROUP, "test", count=10, block_ms=0)
    assert [message.fields for message in messages] == [{"inbox_id": str(old.id)}]
    assert fresh.id != old.id
    # and requeueing changes no row
    states = await PartnerInbox.all().order_by("id").values_list("webhook_id", "state")
    assert states == [
        ("msg_old", InboxState.PENDING),
        ("msg_fresh", InboxState.PENDING),
        ("msg_done", InboxState.PROCESSED),
    ]


async def test_requeue_pending_respects_the_limit_oldest_first(db: Settings):
    # given: three old pending rows
    await make_partner("swiss")
    event = {"type": "accrual.created", "data": {}}
    rows = [await store("swiss", event, f"msg_{n}") for n in range(3)]
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    await PartnerInbox.all().update(received_at=long_ago)
    queue = MemoryQueue()

    # when
    queued = await requeue_pending(queue, older_than_s=60, limit=2, partitions=1)

    # then
    assert queued == 2
    messages = await queue.consume(inbox_stream(0), INBOX_GROUP, "test", count=10, block_ms=0)
    assert [message.fields["inbox_id"] for message in messages] == [str(rows[0].id), str(rows[1].id)]


async def test_requeued_row_is_processed_by_the_worker(
    client: AsyncClient, partner: NewPartner, member: EnrolledMember
):
    # given: a row stored while the queue was unreachable (never queued)
    row = await store("swiss", accrual_event({"serviceCardNumber": member.card.number}, miles=600))
    await PartnerInbox.filter(id=row.id).update(received_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    queue = services(client._transport.app).backends.ports.queue  # type: ignore[attr-defined]

    # when: the sweeper queues it again
    assert await requeue_pending(queue, older_than_s=60) == 1

    # then
    settled_row = await settled(row.id)
    assert settled_row.state is InboxState.PROCESSED, settled_row.error_code
    assert await award_miles(member.member.id) == 600


async def test_a_worker_whose_redis_is_slow_to_answer_at_start_waits_instead_of_ending(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a queue whose first attempts at creating the consumer groups time out (a busy host)
    queue = MemoryQueue()
    ensure_group = queue.ensure_group
    failures = [TimeoutError("Timeout connecting to server")] * 2

    async def slow_at_first(stream: str, group: str) -> None:
        if failures:
            raise failures.pop()
        await ensure_group(stream, group)

    monkeypatch.setattr(queue, "ensure_group", slow_at_first)
    await make_partner("swiss")
    member = await make_member()
    row = await store("swiss", accrual_event({"serviceCardNumber": member.card.number}, miles=700))
    await enqueue(queue, row.id, member.card.number, partitions=InboxPolicy().partitions)
    monkeypatch.setattr("webhooks.worker.asyncio.sleep", _no_backoff)

    # when: the worker runs
    worker = InboxWorker(queue=queue, rules=current_rules(), consumer="patient")
    task = asyncio.create_task(worker.run())
    try:
        settled_row = await settled(row.id)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # then: it kept going and credited the row
    assert not failures
    assert settled_row.state is InboxState.PROCESSED, settled_row.error_code
    assert await award_miles(member.member.id) == 700


_real_sleep = asyncio.sleep


async def _no_backoff(seconds: float) -> None:
    await _real_sleep(min(seconds, 0.01))  # the worker's 1 s back-off after an error, shortened


async def test_card_number_with_non_ascii_digits_fails_the_row(db: Settings):
    # given
    await make_partner("swiss")
    row = await store("swiss", accrual_event({"serviceCardNumber": "9920" + "²" * 11}))

    # when
    result = await process_inbox_row(row.id, current_rules())

    # then
    assert result is not None
    assert (result.state, result.error_code) == (InboxState.FAILED, "CARD_NUMBER_NOT_DIGITS")


async def test_a_row_that_keeps_failing_unexpectedly_becomes_a_dead_letter(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stored delivery whose handler crashes with an unexpected error
    from webhooks import worker

    partner = await make_partner()
    row = await PartnerInbox.create(
        partner_id=(await Partner.get(code=partner.code)).id,
        webhook_id="msg_crash",
        event_type="accrual.created",
        payload={"type": "accrual.created", "data": {}},
    )

    async def crash(*_: object) -> int:
        raise RuntimeError("a bug, not a domain error")

    monkeypatch.setitem(worker.HANDLERS, "accrual.created", crash)
    # when it is tried more often than allowed
    policy = InboxPolicy(max_attempts=4, retry_base_s=0)
    for _ in range(policy.max_attempts):
        with pytest.raises(RuntimeError):
            await worker.process_inbox_row(row.id, current_rules(), policy)
    final = await worker.process_inbox_row(row.id, current_rules(), policy)
    # then every attempt was counted and the row is a dead letter, not pending for ever
    assert final is not None and final.state is InboxState.FAILED and final.error_code == "PROCESSING_FAILED"
    assert (await PartnerInbox.get(id=row.id)).attempts == policy.max_attempts


async def test_a_worker_told_to_stop_while_its_lease_keeper_ends_stops() -> None:
    # given: a lease keeper whose renewal is under way and takes a while to give up when cancelled
    queue = MemoryQueue()
    renewing = asyncio.Event()

    async def slow_renewal(name: str, owner: str, *, ttl_ms: int) -> bool:
        renewing.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await _real_sleep(0.1)  # e.g. a Redis call that needs its connection closed
            raise
        return True

    queue.acquire_lease = slow_renewal  # type: ignore[method-assign]
    worker = InboxWorker(queue=queue, rules=current_rules(), consumer="w", lease_ms=30)
    went_on = asyncio.Event()

    async def visit() -> None:
        async with worker._lease_kept("milesgate:inbox-lease:{p0}"):
            await renewing.wait()
        went_on.set()  # only when nobody told the worker to stop

    # when: the worker is told to stop while it waits for the keeper's end
    task = asyncio.create_task(visit())
    await renewing.wait()
    await _real_sleep(0.03)
    task.cancel()

    # then: it stops, and does not go on with its round
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, deadline_s(5))
    assert not went_on.is_set()
