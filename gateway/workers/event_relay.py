"""The domain-event relay: announces committed domain events on the member's pub/sub channel.

Events are written in the transaction of the change (``loyalty.events``); this loop reads the ones not
yet published, in commit order, publishes each on ``balances:{acct:<id>}`` (Redis pub/sub in
production, so every gateway process's subscriptions hear it) and marks them published. Several relays
may run: on PostgreSQL each claims its batch with ``FOR UPDATE SKIP LOCKED``. Delivery is at least once:
a relay that dies after publishing and before its commit publishes those events again, which is
harmless for subscribers that re-read the state they show.

Before an event is announced, its handlers run in the relay's transaction (each event in a savepoint):
challenge progress (``loyalty.engagement.challenges``) and the member messages it causes
(``loyalty.notifications.events``) and the partners' outbound webhook messages
(``webhooks.outbound.service.fan_out_for_event``). Marking the event published in
that same transaction makes their effects exactly once. A handler that fails leaves the event (and the
ones after it, to keep the order) for the next round; after ``MAX_DISPATCH_ATTEMPTS`` the event is set
aside with its error, logged, and the relay goes on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

import orjson
from tortoise.transactions import in_transaction

from gateway.workers.loops import MAX_BACKOFF_S, RETRY_S, run_polling
from loyalty.engagement.challenges import progress_for_event
from loyalty.events.models import DomainEvent
from loyalty.events.service import mark_published
from loyalty.ledger.events import balance_channel
from loyalty.notifications.events import notify_for_event
from loyalty.ports import PubSub
from loyalty.rules import ProgrammeRules
from webhooks.outbound.service import fan_out_for_event

log = logging.getLogger(__name__)

BATCH = 200


EventHandler = Callable[[DomainEvent], Awaitable[object]]
MAX_DISPATCH_ATTEMPTS = 5


def default_handlers(rules: ProgrammeRules) -> tuple[EventHandler, ...]:
    """Challenge progress (a completed challenge posts its bonus under ``rules``, the running service's
    programme rules), member messages and the partners' outbound webhook messages."""
    return (functools.partial(progress_for_event, rules=rules), notify_for_event, fan_out_for_event)


async def relay_once(pubsub: PubSub, *, handlers: Sequence[EventHandler], batch: int = BATCH) -> int:
    """Dispatch, publish and mark one batch of unpublished events, in order; returns how many."""
    published, _ = await relay_round(pubsub, handlers=handlers, batch=batch)
    return published


async def relay_round(
    pubsub: PubSub, *, handlers: Sequence[EventHandler], batch: int = BATCH
) -> tuple[int, bool]:
    """``relay_once``, also saying whether an event whose handler failed held the round back (it and
    the events after it wait for a retry)."""
    held_back = False
    async with in_transaction():
        events = (
            await DomainEvent.filter(published_at__isnull=True)
            .order_by("id")
            .limit(batch)
            .select_for_update(skip_locked=True)
        )
        done: list[DomainEvent] = []
        for event in events:
            if await _dispatch(event, handlers):
                done.append(event)
            elif event.dispatch_attempts < MAX_DISPATCH_ATTEMPTS:
                held_back = True
                break  # retried next round; later events wait so members see them in order
            else:
                log.error(
                    "domain event set aside after %s failed dispatches",
                    event.dispatch_attempts,
                    extra={"event_id": event.id, "error": event.dispatch_error},
                )
                done.append(event)
        for event in done:
            message = {"id": event.id, "type": event.type.value, "payload": event.payload}
            await pubsub.publish(balance_channel(event.account_id), orjson.dumps(message))
        await mark_published([event.id for event in done], now=dt.datetime.now(dt.UTC))
    return len(done), held_back


async def _dispatch(event: DomainEvent, handlers: Sequence[EventHandler]) -> bool:
    """Run every handler in one savepoint: all their effects, or none and the error recorded."""
    try:
        async with in_transaction():
            for handler in handlers:
                await handler(event)
    except Exception as exc:
        event.dispatch_attempts += 1
        event.dispatch_error = f"{type(exc).__name__}: {exc}"[:500]
        await event.save(update_fields=["dispatch_attempts", "dispatch_error"])
        log.warning("domain event handler failed", extra={"event_id": event.id}, exc_info=True)
        return False
    return True


async def run_event_relay(
    pubsub: PubSub,
    stop: asyncio.Event,
    every_s: float = 0.2,
    *,
    rules: ProgrammeRules,
    max_backoff_s: float = MAX_BACKOFF_S,
    wake: asyncio.Event | None = None,
) -> None:
    """Relay until ``stop`` is set (stop it with ``webhooks.worker.stop_worker``). With ``wake`` (set when
    events are written), ``every_s`` is the safety sweep; see ``gateway.workers.loops.run_polling``."""
    handlers = default_handlers(rules)
    held_back = False

    async def step() -> int:
        nonlocal held_back
        published, held_back = await relay_round(pubsub, handlers=handlers)
        return published

    async def retry_in() -> float | None:
        """A failed event is tried again after ``RETRY_S``; new events announce themselves."""
        return RETRY_S if held_back else None

    await run_polling(
        "event relay",
        step,
        stop,
        batch=BATCH,
        every_s=every_s,
        max_backoff_s=max_backoff_s,
        wake=wake,
        due_in=retry_in if wake is not None else None,
    )
