"""Reads that may go to a PostgreSQL streaming replica instead of the primary.

The gateway marks the execution of a read-only GraphQL operation with ``replica_reads()`` when a replica is
configured (``MILESGATE_DATABASE_REPLICA_URL``) and it has replayed the member's own last write. Inside it,
the ORM's reads (``ReplicaRouter``, a Tortoise router) and the fixed SQL of the hot paths
(``loyalty.fixed_sql.fetch``) use the ``replica`` connection; writes, row locks and everything inside a
transaction stay on the primary. Outside it (mutations, workers, the CLI) nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tortoise import BaseDBAsyncClient, Model, connections
from tortoise.backends.base.client import TransactionalDBClient

REPLICA = "replica"
"""The Tortoise connection name of the replica."""

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads made inside (by this task and the tasks it starts) go to the replica."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reading_from_replica() -> bool:
    """True inside ``replica_reads()`` and outside any transaction (a transaction is the primary's)."""
    return _replica_reads.get() and not isinstance(connections.get("default"), TransactionalDBClient)


def read_client() -> BaseDBAsyncClient:
    """The connection a read goes to now: the replica's, or the default one (the current transaction's)."""
    client: BaseDBAsyncClient = connections.get(REPLICA if reading_from_replica() else "default")
    return client


class ReplicaRouter:
    """Tortoise's router: a read inside ``replica_reads()`` goes to the replica; writes never do."""

    def db_for_read(self, model: type[Model]) -> str | None:
        return REPLICA if reading_from_replica() else None

    def db_for_write(self, model: type[Model]) -> str | None:
        return None
