"""Status resolvers: the member's status progress, status history and eVouchers."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from loyalty.ledger.events import balance_channel
from loyalty.rules import current_rules
from loyalty.status import engine
from loyalty.status.progress import status_progress
from schema.context import Info
from schema.errors import NotAuthenticated
from schema.status import EVoucher, StatusHistoryEntry, StatusProgress


async def member_status(*, account_id: int) -> StatusProgress:
    view = await status_progress(
        account_id=account_id, today=dt.datetime.now(dt.UTC).date(), rules=current_rules()
    )
    return StatusProgress.from_domain(view)


async def member_status_history(*, account_id: int) -> list[StatusHistoryEntry]:
    return [StatusHistoryEntry.from_model(row) for row in await engine.history_of(account_id=account_id)]


async def member_evouchers(*, account_id: int) -> list[EVoucher]:
    return [EVoucher.from_model(row) for row in await engine.evouchers_of(account_id=account_id)]


async def my_status(info: Info) -> AsyncIterator[StatusProgress]:
    """The signed-in member's status progress now, then again after every change announced on pub/sub
    (status.changed, and every posting: the counters and what is missing move with each)."""
    principal = info.context.principal
    if principal is None:
        raise NotAuthenticated()
    subscription = await info.context.backends.pubsub.subscribe(balance_channel(principal.account_id))
    try:
        yield await member_status(account_id=principal.account_id)
        async for _ in subscription:
            yield await member_status(account_id=principal.account_id)
    finally:
        await subscription.close()
