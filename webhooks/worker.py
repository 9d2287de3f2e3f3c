"""The inbox worker: takes inbox ids from the queue and applies each event exactly once.

Applying an event and marking its inbox row processed happen in one transaction, with the row locked,
so a crash leaves the row pending and a redelivery finds it done. The sweeper re-queues rows that stayed
pending (a lost queue message, a crash before queueing), and stale unacknowledged messages are claimed
from dead consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from loyalty.cancellation import being_cancelled
from loyalty.errors import Conflict, DomainError, NotFound
from loyalty.paging import Page, PageRequest, newest_first
from loyalty.ports import BackendUnavailable, Queue, QueueMessage
from loyalty.rules import ProgrammeRules
from partners.models import Partner
from webhooks.batch import apply_batch
from webhooks.handlers import HANDLERS as HANDLERS
from webhooks.handlers import REFUSALS
from webhooks.inbound import account_hint
from webhooks.models import InboxState, PartnerInbox

log = logging.getLogger(__name__)

INBOX_STREAM_PREFIX = "milesgate:inbox"
INBOX_GROUP = "inbox-workers"
LEASE_PREFIX = "milesgate:inbox-lease"
UNMATCHED_CODES = frozenset({"CARD_NOT_FOUND", "MEMBER_NOT_FOUND"})
"""Refusals that mean "we do not know this member (yet)": the row is parked as unmatched, not failed."""


@dataclass(frozen=True, slots=True)
class InboxPolicy:
    """How many partitions the inbox stream has, and how often and how patiently a row is retried."""

    partitions: int = 8
    max_attempts: int = 5
    retry_base_s: float = 5.0

    def backoff(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base, ..."""
        return dt.timedelta(seconds=self.retry_base_s * 2 ** max(attempts - 1, 0))


DEFAULT_POLICY = InboxPolicy()


def inbox_stream(partition: int) -> str:
    """The stream of one partition; the hash tag keeps a partition on one Redis Cluster slot."""
    return f"{INBOX_STREAM_PREFIX}:{{p{partition}}}"


def partition_of(hint: str, inbox_id: int, partitions: int) -> int:
    """One member's deliveries (same member reference) share a partition and so keep their order."""
    if not hint:
        return inbox_id % partitions
    return zlib.crc32(hint.encode()) % partitions


async def enqueue(queue: Queue, inbox_id: int, hint: str, *, partitions: int) -> None:
    stream = inbox_stream(partition_of(hint, inbox_id, partitions))
    await queue.publish(stream, {"inbox_id": str(inbox_id)})


async def _count_attempt(
    inbox_id: int, policy: InboxPolicy, now: dt.datetime
) -> tuple[PartnerInbox | None, bool]:
    """Count this attempt in its own commit, so a crash or an unexpected error is not retried for ever:
    a row that has used up its attempts becomes a dead letter (FAILED, PROCESSING_FAILED). A row whose
    backoff has not run out is returned unchanged (still PENDING, no attempt counted)."""
    async with in_transaction():
        row = await PartnerInbox.filter(id=inbox_id).select_for_update().first()
        if row is None or row.state is not InboxState.PENDING:
            return None, False
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return row, False
        if row.attempts >= policy.max_attempts:
            row.state, row.error_code = InboxState.FAILED, "PROCESSING_FAILED"
            row.error_message = f"gave up after {row.attempts} attempts"
            row.processed_at = now
            refusal = REFUSALS.get(row.event_type)
            if refusal is not None and refusal.final:
                await refusal.announce(row, await Partner.get(id=row.partner_id))
            await row.save()
            return row, False
        row.attempts += 1
        await row.save(update_fields=["attempts"])
        return row, True


def is_deferred(row: PartnerInbox | None) -> bool:
    """A row ``process_inbox_row`` left pending: its backoff after a failed attempt has not run out."""
    return row is not None and row.state is InboxState.PENDING


async def process_inbox_row(
    inbox_id: int, rules: ProgrammeRules, policy: InboxPolicy = DEFAULT_POLICY
) -> PartnerInbox | None:
    """Apply one stored delivery; returns the row in its final state, None if already done or unknown,
    or the row still PENDING while the backoff after a failed attempt runs (``is_deferred``)."""
    now = dt.datetime.now(dt.UTC)
    counted, go = await _count_attempt(inbox_id, policy, now)
    if not go or counted is None:
        return counted
    try:
        return await _apply(inbox_id, rules)
    except Exception:
        # Unexpected (a bug, the database gone): try again after the backoff, by whichever worker.
        retry_at = dt.datetime.now(dt.UTC) + policy.backoff(counted.attempts)
        await PartnerInbox.filter(id=inbox_id, state=InboxState.PENDING).update(next_attempt_at=retry_at)
        raise


async def _apply(inbox_id: int, rules: ProgrammeRules) -> PartnerInbox | None:
    """Apply the row's event and settle the row, in one transaction with the row locked."""
    async with in_transaction():
        row = await PartnerInbox.filter(id=inbox_id).select_for_update().first()
        if row is None or row.state is not InboxState.PENDING:
            return None
        partner = await Partner.get(id=row.partner_id)
        handler = HANDLERS.get(row.event_type)
        if handler is None:
            row.state, row.error_code = InboxState.FAILED, "EVENT_TYPE_UNSUPPORTED"
            row.error_message = f"no handler for {row.event_type!r}"
        else:
            try:
                async with in_transaction():
                    row.account_id = await handler(row, partner, rules)
                row.state = InboxState.PROCESSED
            except DomainError as exc:
                unmatched = exc.code in UNMATCHED_CODES
                row.state = InboxState.UNMATCHED if unmatched else InboxState.FAILED
                row.error_code, row.error_message = exc.code, exc.message[:500]
                refusal = REFUSALS.get(row.event_type)
                if refusal is None or not refusal.final:
                    row.business_key = None  # nothing was applied: a corrected resend may come
                if refusal is not None:
                    await refusal.announce(row, partner)
        row.processed_at = dt.datetime.now(dt.UTC)
        await row.save()
        return row


async def requeue_pending(
    queue: Queue, *, older_than_s: float, limit: int = 500, partitions: int = DEFAULT_POLICY.partitions
) -> int:
    """Queue again the inbox rows still pending after ``older_than_s``; returns how many."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_s)
    rows = (
        await PartnerInbox.filter(state=InboxState.PENDING, received_at__lt=cutoff)
        .order_by("id")
        .limit(limit)
        .only("id", "payload")
    )
    for row in rows:
        await enqueue(queue, row.id, account_hint(row.payload), partitions=partitions)
    return len(rows)


async def inbox_rows(state: InboxState, *, limit: int) -> list[PartnerInbox]:
    """Inbox rows in ``state`` (unmatched or failed ones, for operators), newest first, with their partner."""
    return await PartnerInbox.filter(state=state).prefetch_related("partner").order_by("-id").limit(limit)


async def inbox_page(state: InboxState, request: PageRequest) -> Page[PartnerInbox]:
    """One keyset page of the inbox rows in ``state``, newest first (by id), with their partner."""
    return await newest_first(PartnerInbox.filter(state=state).prefetch_related("partner"), request)


async def reprocess(inbox_ids: list[int] | None, queue: Queue, *, partitions: int) -> int:
    """Put parked (unmatched) rows, or the given unmatched or failed rows, back to pending and queue them.

    Exactly once still holds: a posting's idempotency key is the partner's transaction, so a row whose
    transaction was credited meanwhile (a corrected resend) posts nothing more."""
    if inbox_ids is None:
        rows = await PartnerInbox.filter(state=InboxState.UNMATCHED).order_by("id")
    else:
        rows = await PartnerInbox.filter(id__in=inbox_ids).order_by("id")
        _check_reprocessable(inbox_ids, rows)
    for row in rows:
        await PartnerInbox.filter(id=row.id).update(
            state=InboxState.PENDING,
            attempts=0,
            next_attempt_at=None,
            error_code=None,
            error_message=None,
            processed_at=None,
        )
        await enqueue(queue, row.id, account_hint(row.payload), partitions=partitions)
    return len(rows)


_REPROCESSABLE = frozenset({InboxState.UNMATCHED, InboxState.FAILED})


def _check_reprocessable(inbox_ids: list[int], rows: list[PartnerInbox]) -> None:
    """Every row named exists and is unmatched or failed; otherwise nothing is queued."""
    missing = sorted(set(inbox_ids) - {row.id for row in rows})
    if missing:
        raise NotFound(
            f"No partner delivery has inbox id {', '.join(map(str, missing))}.", code="INBOX_ROW_NOT_FOUND"
        )
    settled = [f"{row.id} ({row.state.value})" for row in rows if row.state not in _REPROCESSABLE]
    if settled:
        raise Conflict(
            f"Only unmatched or failed rows are processed again, not {', '.join(settled)}.",
            code="INBOX_ROW_NOT_REPROCESSABLE",
        )


@dataclass
class InboxWorker:
    """One consumer of the partitioned inbox stream; run ``run()`` as a task and cancel it to stop.

    A round visits every partition, starting at a different one each time. It takes the partition's
    lease (so no other worker reads it meanwhile, which keeps one member's deliveries in order), first
    re-takes messages left pending by a dead worker, else reads new ones, and applies them in order. A
    message that fails stays pending and holds its partition until it succeeds or becomes a dead letter.
    """

    queue: Queue
    rules: ProgrammeRules
    consumer: str
    policy: InboxPolicy = DEFAULT_POLICY
    batch: int = 20
    batches_per_lease: int = 1
    """Reads of a partition in one visit while each fills up (fewer lease and claim round trips)."""
    idle_pause_s: float = 0.1
    lease_ms: int = 10_000
    lease_keep_max_s: float = 120.0
    """Longest a batch in progress keeps renewing its partition's lease (a stuck one lets go after it)."""
    claim_idle_ms: int = 10_000
    sweep_every_s: float = 30.0
    sweep_older_than_s: float = 60.0
    unavailable_backoff_max_s: float = 10.0
    """Longest wait between attempts while the queue's backend is unreachable (waits double up to it)."""
    _round: int = 0

    async def run_once(self) -> int:
        """Visit every partition once; returns how many messages were handled."""
        partitions = self.policy.partitions
        start = self._round % partitions
        self._round += 1
        handled = 0
        for offset in range(partitions):
            partition = (start + offset) % partitions
            lease = f"{LEASE_PREFIX}:{{p{partition}}}"
            if not await self.queue.acquire_lease(lease, self.consumer, ttl_ms=self.lease_ms):
                continue
            try:
                handled += await self._drain(partition, lease)
            finally:
                await self.queue.release_lease(lease, self.consumer)
        return handled

    async def _drain(self, partition: int, lease: str) -> int:
        """Up to ``batches_per_lease`` reads of the partition under one lease; how many were handled.

        Only the first read looks for stale and pending messages: after it, under the lease, nothing
        but this worker's own messages can be pending, and a read that leaves one pending ends the visit."""
        stream = inbox_stream(partition)
        messages = await self.queue.claim_stale(
            stream, INBOX_GROUP, self.consumer, min_idle_ms=self.claim_idle_ms, count=self.batch
        )
        if not messages:
            if await self.queue.pending_count(stream, INBOX_GROUP):
                return 0  # an earlier message waits for its retry: later ones wait behind it
            messages = await self.queue.consume(
                stream, INBOX_GROUP, self.consumer, count=self.batch, block_ms=0
            )
        total = 0
        for read in range(1, self.batches_per_lease + 1):
            handled, held = await self._settle(messages, lease)
            total += handled
            if not held or handled < len(messages) or len(messages) < self.batch:
                break  # the lease is lost, a message waits for a retry, or the partition is drained
            if read < self.batches_per_lease:
                messages = await self.queue.consume(
                    stream, INBOX_GROUP, self.consumer, count=self.batch, block_ms=0
                )
        return total

    async def _settle(self, messages: list[QueueMessage], lease: str) -> tuple[int, bool]:
        """Apply ``messages`` in order (the leading ones in a batch); how many were handled, and whether
        the lease is still this worker's."""
        if not messages:
            return 0, True
        held = True
        async with self._lease_kept(lease):
            batched = await self._apply_batch(messages)
        if batched:
            held = await self.queue.acquire_lease(lease, self.consumer, ttl_ms=self.lease_ms)
        for handled, message in enumerate(messages[batched:], start=batched):
            if not await self._handle(message):
                return handled, held
            held = await self.queue.acquire_lease(lease, self.consumer, ttl_ms=self.lease_ms)
        return len(messages), held

    @contextlib.asynccontextmanager
    async def _lease_kept(self, lease: str) -> AsyncIterator[None]:
        """Renew ``lease`` every third of its life while the body runs, for ``lease_keep_max_s`` at most.

        A batch of hundreds of accruals can outlive one lease on a busy host; were the lease to run out,
        another worker would take the partition and claim the batch's messages, and claimed messages go
        one by one (a message taken from a dead worker may be what killed it): a slow batch would turn into
        a crawl. A worker that is alive keeps its partition; one that hangs lets go after the cap, and a
        dead one stops renewing at once."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.lease_keep_max_s

        async def renew() -> None:
            every_s = self.lease_ms / 3000
            while loop.time() + every_s < until:
                await asyncio.sleep(every_s)
                try:
                    if not await self.queue.acquire_lease(lease, self.consumer, ttl_ms=self.lease_ms):
                        return  # taken over meanwhile: the batch's outcome is checked after it
                except BackendUnavailable:
                    return  # the queue is away: the batch commits or not on PostgreSQL alone

        keeper = asyncio.create_task(renew())
        try:
            yield
        finally:
            keeper.cancel()
            try:
                await keeper
            except asyncio.CancelledError:
                # The keeper's own end stops here; a cancellation of this worker that arrived meanwhile
                # goes on (swallowing it would leave the worker running after it was told to stop).
                if being_cancelled():
                    raise

    async def _apply_batch(self, messages: list[QueueMessage]) -> int:
        """Settle the leading messages in one transaction (``webhooks.batch``); how many it settled.

        Only messages delivered for the first time: one taken from a dead consumer may be what killed
        it, and goes one by one, which counts its attempts."""
        inbox_ids: list[int] = []
        for message in messages:
            value = message.fields.get("inbox_id", "")
            if message.deliveries > 1 or not value.isdigit():
                break
            inbox_ids.append(int(value))
        settled = await apply_batch(inbox_ids, self.rules)
        if settled:
            stream = messages[0].stream
            await self.queue.ack(stream, INBOX_GROUP, [message.message_id for message in messages[:settled]])
        return settled

    async def _handle(self, message: QueueMessage) -> bool:
        """Apply one message; False leaves it pending (to be retried) and stops its partition's round."""
        try:
            inbox_id = int(message.fields["inbox_id"])
        except (KeyError, ValueError):
            log.warning("dropping malformed queue message", extra={"message_id": message.message_id})
            await self.queue.ack(message.stream, INBOX_GROUP, [message.message_id])
            return True
        try:
            row = await process_inbox_row(inbox_id, self.rules, self.policy)
        except Exception:
            # Left unacknowledged: retried after its backoff, by this or another worker.
            log.exception("inbox row failed, will retry", extra={"inbox_id": inbox_id})
            return False
        if is_deferred(row):
            return False
        await self.queue.ack(message.stream, INBOX_GROUP, [message.message_id])
        if row is not None:
            # Live updates come from the postings' domain events (gateway.workers.event_relay), not from here.
            log.info("inbox row %s", row.state.value, extra={"inbox_id": inbox_id})
        return True

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        groups_ready = False
        unavailable = 0  # attempts in a row that found the queue's backend unreachable
        while stop is None or not stop.is_set():
            try:
                if not groups_ready:
                    # Inside the retried loop: Redis slow to answer at start (a connect timeout on a
                    # busy host) delays the worker instead of ending its process.
                    for partition in range(self.policy.partitions):
                        await self.queue.ensure_group(inbox_stream(partition), INBOX_GROUP)
                    groups_ready = True
                if loop.time() >= next_sweep:
                    await requeue_pending(
                        self.queue, older_than_s=self.sweep_older_than_s, partitions=self.policy.partitions
                    )
                    next_sweep = loop.time() + self.sweep_every_s
                handled = await self.run_once()
                unavailable = 0
                if not handled:
                    await asyncio.sleep(self.idle_pause_s)
            except asyncio.CancelledError:
                raise
            except BackendUnavailable:
                # Redis is away: its guard logged that once; wait, longer each time, and try again.
                unavailable += 1
                await _pause(stop, min(self.idle_pause_s * 2**unavailable, self.unavailable_backoff_max_s))
            except Exception:
                if being_cancelled():
                    # A library turned our cancellation into another error: stop all the same.
                    raise asyncio.CancelledError from None
                log.exception("worker loop error; backing off")
                await asyncio.sleep(1.0)


async def _pause(stop: asyncio.Event | None, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def stop_worker(
    task: asyncio.Task[None], stop: asyncio.Event, *, grace_s: float = 0.2, cancel_wait_s: float = 5.0
) -> None:
    """Stop a background loop (inbox worker, notification sender) without an unbounded wait.

    A short grace lets a loop between batches leave by itself; then it is cancelled. Cancelling mid-batch
    is safe: each row is applied in its own transaction, and an unacknowledged message is delivered again.
    """
    stop.set()
    done, _ = await asyncio.wait({task}, timeout=grace_s)
    if not done:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=cancel_wait_s)
    if not done:
        log.error("%s did not stop in time; leaving it behind", task.get_name())
    elif not task.cancelled() and task.exception() is not None:
        log.error("%s ended with an error", task.get_name(), exc_info=task.exception())
