"""The domain-event relay: announces committed domain events on the member's pub/sub channel.

Events are written in the transaction of the change (``loyalty.events``); this loop reads the ones not
yet published, in commit order, publishes each on ``balances:{acct:<id>}`` (Redis pub/sub in
production, so every gateway process's subscriptions hear it) and marks them published. Several relays
may run: on PostgreSQL each claims its batch with ``FOR UPDATE SKIP LOCKED``. Delivery is at least once:
a relay that dies after publishing and before its commit publishes those events again, which is
harmless for subscribers that re-read the state they show.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import orjson
from tortoise.transactions import in_transaction

from gateway.loops import MAX_BACKOFF_S, run_polling
from loyalty.events.models import DomainEvent
from loyalty.events.service import mark_published
from loyalty.ledger.events import balance_channel
from loyalty.ports import PubSub

log = logging.getLogger(__name__)

BATCH = 200


async def relay_once(pubsub: PubSub, *, batch: int = BATCH) -> int:
    """Publish and mark one batch of unpublished events; returns how many."""
    async with in_transaction():
        events = (
            await DomainEvent.filter(published_at__isnull=True)
            .order_by("id")
            .limit(batch)
            .select_for_update(skip_locked=True)
        )
        for event in events:
            message = {"id": event.id, "type": event.type.value, "payload": event.payload}
            await pubsub.publish(balance_channel(event.account_id), orjson.dumps(message))
        await mark_published([event.id for event in events], now=dt.datetime.now(dt.UTC))
    return len(events)


async def run_event_relay(
    pubsub: PubSub, stop: asyncio.Event, every_s: float = 0.2, *, max_backoff_s: float = MAX_BACKOFF_S
) -> None:
    """Relay until ``stop`` is set (stop it with ``webhooks.worker.stop_worker``)."""

    async def step() -> int:
        return await relay_once(pubsub)

    await run_polling("event relay", step, stop, batch=BATCH, every_s=every_s, max_backoff_s=max_backoff_s)
