"""The inbox worker: takes inbox ids from the queue and applies each event exactly once.

Applying an event and marking its inbox row processed happen in one transaction, with the row locked,
so a crash leaves the row pending and a redelivery finds it done. The sweeper re-queues rows that stayed
pending (a lost queue message, a crash before queueing), and stale unacknowledged messages are claimed
from dead consumers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from loyalty.errors import DomainError
from loyalty.ports import Queue, QueueMessage
from loyalty.rules import ProgrammeRules
from partners.models import Partner
from webhooks.handlers import HANDLERS as HANDLERS
from webhooks.models import InboxState, PartnerInbox

log = logging.getLogger(__name__)

INBOX_STREAM = "milesgate:inbox"
INBOX_GROUP = "inbox-workers"


async def enqueue(queue: Queue, inbox_id: int) -> None:
    await queue.publish(INBOX_STREAM, {"inbox_id": str(inbox_id)})


MAX_ATTEMPTS = 5


async def _count_attempt(inbox_id: int) -> PartnerInbox | None:
    """Count this attempt in its own commit, so a crash or an unexpected error is not retried for ever:
    a row that has used up its attempts becomes a dead letter (FAILED, PROCESSING_FAILED)."""
    async with in_transaction():
        row = await PartnerInbox.filter(id=inbox_id).select_for_update().first()
        if row is None or row.state is not InboxState.PENDING:
            return None
        if row.attempts >= MAX_ATTEMPTS:
            row.state, row.error_code = InboxState.FAILED, "PROCESSING_FAILED"
            row.error_message = f"gave up after {row.attempts} attempts"
            row.processed_at = dt.datetime.now(dt.UTC)
            await row.save()
            return row
        row.attempts += 1
        await row.save(update_fields=["attempts"])
        return row


async def process_inbox_row(inbox_id: int, rules: ProgrammeRules) -> PartnerInbox | None:
    """Apply one stored delivery; returns the row in its final state, or None if already done or unknown."""
    counted = await _count_attempt(inbox_id)
    if counted is None or counted.state is not InboxState.PENDING:
        return counted
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
                row.state, row.error_code, row.error_message = InboxState.FAILED, exc.code, exc.message[:500]
                row.business_key = None  # nothing was applied: a corrected resend may come
        row.processed_at = dt.datetime.now(dt.UTC)
        await row.save()
        return row


async def requeue_pending(queue: Queue, *, older_than_s: float, limit: int = 500) -> int:
    """Queue again the inbox rows still pending after ``older_than_s``; returns how many."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_s)
    ids = (
        await PartnerInbox.filter(state=InboxState.PENDING, received_at__lt=cutoff)
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    for inbox_id in ids:
        await enqueue(queue, int(inbox_id))  # type: ignore[call-overload]
    return len(ids)


@dataclass
class InboxWorker:
    """One consumer of the inbox stream; run ``run()`` as a task and cancel it to stop."""

    queue: Queue
    rules: ProgrammeRules
    consumer: str
    batch: int = 20
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    sweep_every_s: float = 30.0
    sweep_older_than_s: float = 60.0

    async def run_once(self) -> int:
        """Take one batch (new or stale messages) and apply it; returns how many messages were handled."""
        messages = await self.queue.claim_stale(
            INBOX_STREAM, INBOX_GROUP, self.consumer, min_idle_ms=self.claim_idle_ms, count=self.batch
        )
        if not messages:
            messages = await self.queue.consume(
                INBOX_STREAM, INBOX_GROUP, self.consumer, count=self.batch, block_ms=self.block_ms
            )
        for message in messages:
            await self._handle(message)
        return len(messages)

    async def _handle(self, message: QueueMessage) -> None:
        try:
            inbox_id = int(message.fields["inbox_id"])
        except (KeyError, ValueError):
            log.warning("dropping malformed queue message", extra={"message_id": message.message_id})
            await self.queue.ack(INBOX_STREAM, INBOX_GROUP, [message.message_id])
            return
        try:
            row = await process_inbox_row(inbox_id, self.rules)
        except Exception:
            # Left unacknowledged: another consumer claims it after claim_idle_ms.
            log.exception("inbox row failed, will retry", extra={"inbox_id": inbox_id})
            return
        await self.queue.ack(INBOX_STREAM, INBOX_GROUP, [message.message_id])
        if row is None:
            return
        # Live updates come from the postings' domain events (gateway.event_relay), not from here.
        log.info("inbox row %s", row.state.value, extra={"inbox_id": inbox_id})

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        await self.queue.ensure_group(INBOX_STREAM, INBOX_GROUP)
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while stop is None or not stop.is_set():
            try:
                if loop.time() >= next_sweep:
                    await requeue_pending(self.queue, older_than_s=self.sweep_older_than_s)
                    next_sweep = loop.time() + self.sweep_every_s
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                if _being_cancelled():
                    # A library turned our cancellation into another error: stop all the same.
                    raise asyncio.CancelledError from None
                log.exception("worker loop error; backing off")
                await asyncio.sleep(1.0)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


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
