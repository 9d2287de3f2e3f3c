"""Reads that may go to a PostgreSQL streaming replica instead of the primary.

The gateway marks the execution of a read-only GraphQL operation with ``replica_reads()`` when a replica is
installed (``MILESGATE_DATABASE_REPLICA_URL``, ``use_replica``) and it has replayed the member's own last
write. Inside it, the ORM's default connection is a ``ReplicaReadingClient``: a plain ``SELECT`` (the ORM's
and the fixed SQL of the hot paths alike) goes to the replica; every other statement, a row lock
(``FOR UPDATE``/``FOR SHARE``) and everything inside a transaction goes to the primary. Outside it
(mutations, workers, the CLI) nothing changes. The replica is no Tortoise connection of its own, so
``in_transaction()`` keeps meaning the primary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from tortoise import BaseDBAsyncClient, connections
from tortoise.backends.base.client import TransactionalDBClient

_replica: list[BaseDBAsyncClient] = []
_PLAIN_READ = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_NOT_A_PLAIN_READ = re.compile(
    r"\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE)\b|\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE
)


def use_replica(client: BaseDBAsyncClient | None) -> None:
    """Install (or, with None, remove) the replica's client for this process."""
    _replica.clear()
    if client is not None:
        _replica.append(client)


def replica_client() -> BaseDBAsyncClient | None:
    return _replica[0] if _replica else None


def is_plain_read(sql: str) -> bool:
    """A statement that reads and locks nothing: the replica may answer it."""
    return bool(_PLAIN_READ.match(sql)) and not _NOT_A_PLAIN_READ.search(sql)


class ReplicaReadingClient:
    """The primary's client, except that a plain read goes to the replica."""

    def __init__(self, primary: BaseDBAsyncClient, replica: BaseDBAsyncClient) -> None:
        self._primary = primary
        self._replica = replica

    def __getattr__(self, name: str) -> Any:
        return getattr(self._primary, name)

    def _for(self, sql: str) -> BaseDBAsyncClient:
        return self._replica if is_plain_read(sql) else self._primary

    async def execute_query(self, query: str, values: Sequence[Any] | None = None) -> Any:
        return await self._for(query).execute_query(query, cast(Any, values))

    async def execute_query_dict(
        self, query: str, values: Sequence[Any] | None = None
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self._for(query).execute_query_dict(query, cast(Any, values))
        return rows


@contextmanager
def replica_reads() -> Iterator[None]:
    """Plain reads made inside (by this task and the tasks it starts) go to the replica, if one is
    installed and no transaction is open."""
    replica = replica_client()
    primary = connections.get("default")
    if replica is None or isinstance(primary, TransactionalDBClient):
        yield
        return
    token = connections.set("default", cast(BaseDBAsyncClient, ReplicaReadingClient(primary, replica)))
    try:
        yield
    finally:
        connections.reset(token)
