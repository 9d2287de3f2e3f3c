"""Live status progress over WebSocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry

from resolvers import status
from schema.context import Info
from schema.permissions import signed_in
from schema.status.types import StatusProgress


@strawberry.type
class StatusSubscriptions:
    @strawberry.subscription(
        description="The signed-in member's status progress (tier, validity, this year's counters, what is "
        "missing), sent at once and again on every status change (status.changed) and posting. Sign in as "
        "for myBalances."
    )
    async def my_status(self, info: Info) -> AsyncGenerator[StatusProgress, None]:
        principal = signed_in(info.context)
        updates = status.status_updates(account_id=principal.account_id, pubsub=info.context.backends.pubsub)
        async with aclosing(updates):
            async for progress in updates:
                yield StatusProgress.from_domain(progress)
