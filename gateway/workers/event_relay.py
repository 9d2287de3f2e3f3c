"""The domain-event relay: announces committed domain events on the member's pub/sub channel.

Events are written in the transaction of the change (``loyalty.events``); this loop reads the ones not
yet published, in commit order, publishes each on ``balances:{acct:<id>}`` (Redis pub/sub in
production, so every gateway process's subscriptions hear it) and marks them published. Several relays
may run: on PostgreSQL each claims its batch with ``FOR UPDATE SKIP LOCKED``. Delivery is at least once:
a relay that dies after publishing and before its commit publishes those events again, which is
harmless for subscribers that re-read the state they show.

Before an event is announced, its handlers run in the relay's transaction:
challenge progress (``loyalty.engagement.challenges``) and the member messages it causes
(``loyalty.notifications.events``) and the partners' outbound webhook messages
(``webhooks.outbound.fan_out``). Marking the event published in
that same transaction makes their effects exactly once. A handler that fails leaves the event (and the
ones after it, to keep the order) for the next round; after ``MAX_DISPATCH_ATTEMPTS`` the event is set
aside with its error, logged, and the relay goes on.

Throughput: each handler has a batched form (``RelayHandler.many``) that takes a round's events together
with a few statements for the whole batch (the members, consents, partners and endpoints they need read
once, multi-row inserts), all of them in one savepoint; the round's events are announced through one
pub/sub pipeline and marked published with one statement. Only when that savepoint fails do the events
go one by one, each in its own savepoint, to find the one that fails and hold it back as described.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson
from tortoise.transactions import in_transaction

from gateway.workers.loops import MAX_BACKOFF_S, RETRY_S, run_polling
from loyalty.engagement.challenges import progress_for_event, progress_for_events
from loyalty.events.models import DomainEvent, EventType
from loyalty.events.service import mark_published
from loyalty.ledger.events import balance_channel
from loyalty.notifications.events import NOTIFIED, notify_for_event, notify_for_events
from loyalty.ports import PubSub
from loyalty.rules import ProgrammeRules
from webhooks.outbound.fan_out import FANNED_OUT, fan_out_for_event, fan_out_for_events

log = logging.getLogger(__name__)

BATCH = 200


EventHandler = Callable[[DomainEvent], Awaitable[object]]
BatchHandler = Callable[[Sequence[DomainEvent]], Awaitable[object]]
MAX_DISPATCH_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class RelayHandler:
    """A handler in both forms: ``many(events)`` has the effects of ``one(event)`` for each of the events
    in their order, with a few statements for the whole batch. ``types``: the only event types it acts
    on (None: any), so the one-by-one path skips it for the others without calling it."""

    one: EventHandler
    many: BatchHandler
    types: frozenset[EventType] | None = None

    async def __call__(self, event: DomainEvent) -> object:
        return await self.one(event)

    def takes(self, event: DomainEvent) -> bool:
        return self.types is None or event.type in self.types


def default_handlers(rules: ProgrammeRules) -> tuple[RelayHandler, ...]:
    """Challenge progress (a completed challenge posts its bonus under ``rules``, the running service's
    programme rules), member messages and the partners' outbound webhook messages."""
    return (
        RelayHandler(
            one=functools.partial(progress_for_event, rules=rules),
            many=functools.partial(progress_for_events, rules=rules),
            types=frozenset({EventType.POSTING_CREATED}),
        ),
        RelayHandler(one=notify_for_event, many=notify_for_events, types=NOTIFIED),
        RelayHandler(one=fan_out_for_event, many=fan_out_for_events, types=FANNED_OUT),
    )


async def relay_once(
    pubsub: PubSub, *, handlers: Sequence[EventHandler | RelayHandler], batch: int = BATCH
) -> int:
    """Dispatch, publish and mark one batch of unpublished events, in order; returns how many."""
    published, _ = await relay_round(pubsub, handlers=handlers, batch=batch)
    return published


async def relay_round(
    pubsub: PubSub, *, handlers: Sequence[EventHandler | RelayHandler], batch: int = BATCH
) -> tuple[int, bool]:
    """``relay_once``, also saying whether an event whose handler failed held the round back (it and
    the events after it wait for a retry).

    The batch's handlers first run together in one savepoint (``_dispatch_all``). Should anything fail
    there, that savepoint is rolled back and the events go one by one, each in its own savepoint
    (``_dispatch``), which finds the failing event, records its error and holds it and the ones after it
    back, exactly as if there were no batched path. A batch with an event that failed before goes one
    by one straight away."""
    held_back = False
    async with in_transaction():
        events: list[DomainEvent] = (
            await DomainEvent.filter(published_at__isnull=True)
            .order_by("id")
            .limit(batch)
            .select_for_update(skip_locked=True)
        )
        if not events:
            return 0, False
        if all(event.dispatch_attempts == 0 for event in events) and await _dispatch_all(events, handlers):
            done: list[DomainEvent] = events
        else:
            done, held_back = await _dispatch_one_by_one(events, handlers)
        await pubsub.publish_many(
            [
                (
                    balance_channel(event.account_id),
                    orjson.dumps({"id": event.id, "type": event.type.value, "payload": event.payload}),
                )
                for event in done
            ]
        )
        await mark_published([event.id for event in done], now=dt.datetime.now(dt.UTC))
    return len(done), held_back


def _taking(
    handlers: Sequence[EventHandler | RelayHandler], event: DomainEvent
) -> list[EventHandler | RelayHandler]:
    """The handlers that act on the event's type (a plain handler acts on every type)."""
    return [handler for handler in handlers if not isinstance(handler, RelayHandler) or handler.takes(event)]


async def _dispatch_one_by_one(
    events: list[DomainEvent], handlers: Sequence[EventHandler | RelayHandler]
) -> tuple[list[DomainEvent], bool]:
    """Each event in its own savepoint, in order, up to the first whose handlers fail and that may still be
    retried: the events done, and whether that one held the rest back. One failed ``MAX_DISPATCH_ATTEMPTS``
    times is set aside (logged, counted as done) and the next ones go on."""
    done: list[DomainEvent] = []
    for event in events:
        if await _dispatch(event, handlers):
            done.append(event)
        elif event.dispatch_attempts < MAX_DISPATCH_ATTEMPTS:
            return done, True  # retried next round; later events wait so members see them in order
        else:
            log.error(
                "domain event set aside after %s failed dispatches",
                event.dispatch_attempts,
                extra={"event_id": event.id, "error": event.dispatch_error},
            )
            done.append(event)
    return done, False


async def _dispatch_all(events: list[DomainEvent], handlers: Sequence[EventHandler | RelayHandler]) -> bool:
    """Every handler for every event in one savepoint: with batched handlers each takes the whole batch
    (handler after handler: none of them reads what another writes), otherwise event after event. False
    (and nothing kept) if anything failed."""
    try:
        async with in_transaction():
            batched = [handler for handler in handlers if isinstance(handler, RelayHandler)]
            if len(batched) == len(handlers):
                for batch_handler in batched:
                    await batch_handler.many(events)
            else:
                for event in events:
                    for handler in _taking(handlers, event):
                        await handler(event)
    except Exception:
        log.info("domain event batch failed; dispatching its events one by one", exc_info=True)
        return False
    return True


async def _dispatch(event: DomainEvent, handlers: Sequence[EventHandler | RelayHandler]) -> bool:
    """Run every handler in one savepoint: all their effects, or none and the error recorded. A handler
    that does not take the event's type is skipped, and no savepoint is opened when none does."""
    chosen = _taking(handlers, event)
    if not chosen:
        return True
    try:
        async with in_transaction():
            for handler in chosen:
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
