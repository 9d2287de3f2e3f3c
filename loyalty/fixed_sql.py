"""Fixed SQL for hot read paths: written once, sent as it is through the ORM's connection.

Building a query with the ORM costs more CPU than the database needs to answer it (pypika clones, filter
resolution, model instances per row). The hottest reads (the member dashboard) are written as SQL
constants instead, in the subset both PostgreSQL and SQLite understand, with ``$1``-style parameters
(rewritten to SQLite's ``?1`` once per statement). They go through ``connections.get("default")``, so
they use the current transaction when there is one, asyncpg's prepared-statement cache on PostgreSQL,
and the ``tortoise.db_client`` log like every ORM statement; inside a read-only GraphQL operation with a
replica, the replica (``loyalty.read_replica``).

SQLite hands dates, timestamps and booleans back as text and integers: the ``as_*`` converters accept
what either database returns.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from tortoise import connections

E = TypeVar("E", bound=enum.Enum)

_PARAMETER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=64)
def _for_sqlite(sql: str) -> str:
    return _PARAMETER.sub(r"?\1", sql)


def dialect() -> str:
    """The database behind the default connection: ``postgres`` or ``sqlite``."""
    name: str = connections.get("default").capabilities.dialect
    return name


async def fetch(sql: str, *values: Any) -> list[dict[str, Any]]:
    """The rows of one fixed statement (``$1``, ``$2``… bound to ``values`` in order)."""
    client = connections.get("default")
    if client.capabilities.dialect == "sqlite":
        sql = _for_sqlite(sql)
    rows: list[dict[str, Any]] = await client.execute_query_dict(sql, list(values))
    return rows


def enum_by_value(kind: type[E]) -> Callable[[Any], E]:
    """A text column → ``kind``'s member with that value, by a dict lookup: calling the enum costs ten
    times more, and the dashboard reads an enum per statement amount and offer (``KeyError`` for a value
    the enum does not have)."""
    return {member.value: member for member in kind}.__getitem__


def as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def as_optional_date(value: Any) -> dt.date | None:
    return None if value is None else as_date(value)


def as_datetime(value: Any) -> dt.datetime:
    """A timestamp column (stored in UTC) as an aware datetime in UTC: asyncpg hands back UTC, SQLite
    naive text, and PostgreSQL's JSON the session's time zone offset (``loyalty.dashboard.read``)."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
