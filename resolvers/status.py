"""Status resolvers: the member's status progress, status history and eVouchers, and their updates."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator

from loyalty.ledger.events import balance_channel
from loyalty.paging import Page, PageRequest
from loyalty.ports import PubSub
from loyalty.rules import current_rules
from loyalty.status import engine, models
from loyalty.status.progress import StatusProgress, status_progress


async def member_status(*, account_id: int) -> StatusProgress:
    return await status_progress(
        account_id=account_id, today=dt.datetime.now(dt.UTC).date(), rules=current_rules()
    )


async def member_status_history(*, account_id: int) -> list[models.StatusHistory]:
    return await engine.history_of(account_id=account_id)


async def member_status_history_page(*, account_id: int, request: PageRequest) -> Page[models.StatusHistory]:
    return await engine.history_page(account_id=account_id, request=request)


async def member_evouchers(*, account_id: int) -> list[models.EVoucher]:
    return await engine.evouchers_of(account_id=account_id)


async def status_updates(*, account_id: int, pubsub: PubSub) -> AsyncGenerator[StatusProgress, None]:
    """The member's status progress now, then again after every change announced on pub/sub
    (status.changed, and every posting: the counters and what is missing move with each)."""
    subscription = await pubsub.subscribe(balance_channel(account_id))
    try:
        yield await member_status(account_id=account_id)
        async for _ in subscription:
            yield await member_status(account_id=account_id)
    finally:
        await subscription.close()
