"""Read-only GraphQL operations on the PostgreSQL replica, with each member reading their own writes.

With ``MILESGATE_DATABASE_REPLICA_URL`` the schema gets ``ReplicaRouting``:

- a **mutation** by a signed-in member is followed by one question to the primary, its WAL position
  (``pg_current_wal_lsn()``, past every commit the mutation made), kept in the cache port (Redis in
  production, so every gateway sees it) under the member's hash tag for ``MILESGATE_REPLICA_WRITE_MEMORY_S``;
- a **query** runs on the replica (``loyalty.read_replica``) unless its member wrote recently and the
  replica has not replayed that position yet: then it asks the replica again every few milliseconds for
  up to ``MILESGATE_REPLICA_WAIT_MS`` and, if it is still behind (or does not answer), reads the primary.
  Anonymous queries read the replica;
- subscriptions and everything outside GraphQL stay on the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType
from tortoise import connections
from tortoise.exceptions import DBConnectionError, OperationalError

from loyalty.ports import Cache
from loyalty.read_replica import replica_client, replica_reads
from schema.context import Context

log = logging.getLogger(__name__)
POLL_S = 0.005


def written_key(account_id: int) -> str:
    """Where a member's last write position is kept (the member's Redis Cluster hash tag)."""
    return f"replica:{{acct:{account_id}}}:written"


async def primary_position() -> str:
    """The primary's current WAL position: every transaction committed before this call is behind it."""
    rows = await connections.get("default").execute_query_dict("SELECT pg_current_wal_lsn()::text AS lsn")
    return str(rows[0]["lsn"])


async def replica_has_replayed(position: str) -> bool:
    replica = replica_client()
    if replica is None:
        return False
    rows = await replica.execute_query_dict(
        "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn AS caught_up", [position]
    )
    return bool(rows[0]["caught_up"])


class ReplicaPolicy:
    """Where a member's reads go, and remembering where their writes went."""

    def __init__(self, *, wait_ms: int, write_memory_s: int) -> None:
        self.wait_s = wait_ms / 1000
        self.write_memory_s = write_memory_s

    async def remember_write(self, cache: Cache, account_id: int) -> None:
        await cache.set(
            written_key(account_id), (await primary_position()).encode(), ttl_s=self.write_memory_s
        )

    async def may_read_replica(self, cache: Cache, account_id: int | None) -> bool:
        """True when the replica has every write this member made lately (or the member made none)."""
        if account_id is None:
            return True
        written = await cache.get(written_key(account_id))
        if written is None:
            return True
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                if await replica_has_replayed(written.decode()):
                    return True
            except (OSError, DBConnectionError, OperationalError) as exc:  # the replica is away: the primary
                log.warning("replica unreachable (%s): reading the primary", type(exc).__name__)
                return False
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_S)

    @contextlib.asynccontextmanager
    async def routing(self, context: object, kind: OperationType) -> AsyncIterator[None]:
        """Around one operation's execution: a query on the replica when the member's own writes are
        there; a mutation's write position remembered afterwards. Strawberry's extension
        (``ReplicaRouting``) and the engine's persisted-document path both execute inside it."""
        if not isinstance(context, Context):
            yield
            return
        principal = context.principal
        account_id = principal.account_id if principal is not None else None
        if kind is OperationType.QUERY and await self.may_read_replica(context.backends.cache, account_id):
            with replica_reads():
                yield
            return
        yield
        if kind is OperationType.MUTATION and account_id is not None:
            await self.remember_write(context.backends.cache, account_id)


class ReplicaRouting(SchemaExtension):
    """Queries on the replica when the member's own writes are there; mutations remember their writes."""

    def __init__(self, policy: ReplicaPolicy) -> None:
        self.policy = policy

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        async with self.policy.routing(execution.context, execution.operation_type):
            yield


def replica_extension(policy: ReplicaPolicy) -> Callable[[], SchemaExtension]:
    """The extension factory for the schema (one extension per request)."""
    return lambda: ReplicaRouting(policy)
