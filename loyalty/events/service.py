"""Recording domain events inside the caller's transaction, and reading the unpublished ones in order.

``record`` must run in the same transaction as the change it describes (a posting, a status change,
a redemption): either both are committed or neither is, so no subscriber or partner ever hears of a
change that did not happen, nor misses one that did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from loyalty.events.models import DomainEvent, EventType


async def record(
    *,
    account_id: int,
    type: EventType,
    payload: Mapping[str, Any],
    posting_id: int | None = None,
) -> DomainEvent:
    """Write one event; call it inside the transaction of the change it announces."""
    return await DomainEvent.create(
        account_id=account_id, type=type, payload=dict(payload), posting_id=posting_id
    )


async def unpublished(*, limit: int) -> list[DomainEvent]:
    """The oldest events not yet announced, in commit order."""
    return await DomainEvent.filter(published_at__isnull=True).order_by("id").limit(limit)


async def mark_published(event_ids: Sequence[int], *, now: dt.datetime) -> int:
    if not event_ids:
        return 0
    return await DomainEvent.filter(id__in=list(event_ids), published_at__isnull=True).update(
        published_at=now
    )


async def events_of(*, account_id: int, limit: int = 100) -> list[DomainEvent]:
    """The member's latest events, newest first (support and tests)."""
    return await DomainEvent.filter(account_id=account_id).order_by("-id").limit(limit)
