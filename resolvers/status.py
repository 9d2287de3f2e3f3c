"""Status resolvers: the member's status progress, status history and eVouchers."""

from __future__ import annotations

import datetime as dt

from loyalty.rules import current_rules
from loyalty.status import engine
from loyalty.status.progress import status_progress
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
