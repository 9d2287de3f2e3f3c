"""Live balances over WebSocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry

from resolvers import members
from schema.context import Info
from schema.ledger.types import Balances
from schema.permissions import signed_in


@strawberry.type
class LedgerSubscriptions:
    @strawberry.subscription(
        description="The signed-in member's balances, sent at once and again whenever miles or points post. "
        "Send the access token as connection_init payload {authorization: 'Bearer …'}."
    )
    async def my_balances(self, info: Info) -> AsyncGenerator[Balances, None]:
        principal = signed_in(info.context)
        updates = members.balance_updates(
            account_id=principal.account_id, pubsub=info.context.backends.pubsub
        )
        async with aclosing(updates):
            async for amounts in updates:
                yield Balances.from_amounts(amounts)
