"""Database wiring: the Tortoise configuration, start-up and shutdown, and migrations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.migrations.api import migrate as tortoise_migrate

from gateway.notification_secrets import notification_sealer
from gateway.settings import Settings
from loyalty.members.pins import HashCost, use_hash_cost, use_hash_threads
from loyalty.notifications.service import use_secret_sealer
from loyalty.read_replica import replica_client, use_replica

APP_LABEL = "milesgate"
MODEL_MODULES = [
    "loyalty.members.models",
    "loyalty.ledger.models",
    "loyalty.rewards.models",
    "loyalty.auth.models",
    "loyalty.notifications.models",
    "loyalty.events.models",
    "loyalty.status.models",
    "loyalty.consents.models",
    "loyalty.privacy.models",
    "loyalty.notices.models",
    "loyalty.engagement.models",
    "loyalty.offers.models",
    "loyalty.pooling.models",
    "loyalty.flown.models",
    "loyalty.photo_credit.models",
    "loyalty.retro_credit.models",
    "loyalty.miles_to_status.models",
    "loyalty.status_stars.models",
    "loyalty.awards.models",
    "loyalty.lounges.models",
    "loyalty.operators",
    "partners.models",
    "webhooks.models",
    "webhooks.outbound.models",
]


def tortoise_config(settings: Settings) -> dict[str, Any]:
    url = settings.resolved_database_url
    if url.startswith("sqlite://"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        credentials: Any = url
    else:
        credentials = _postgres_credentials(url, settings)
    return {
        "connections": {"default": credentials},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _postgres_credentials(url: str, settings: Settings) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "asyncpg"}:
        raise ValueError(f"unsupported database URL scheme {parts.scheme!r}")
    return {
        "engine": "tortoise.backends.asyncpg",
        "credentials": {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password or ""),
            "database": (parts.path or "/postgres").lstrip("/"),
            "minsize": 1,
            "maxsize": settings.db_pool_max,
            "reset": keep_session,
        },
    }


async def keep_session(connection: asyncpg.Connection) -> None:
    """Hand a released connection back to the pool as it is, without asyncpg's reset query.

    The default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every
    release: a second round trip for each ORM statement. milesgate leaves none of that session state
    behind (no advisory locks, cursors, LISTEN or SET on pooled connections; pub/sub is Redis), and an
    open transaction is still rolled back by asyncpg itself before this runs, whatever it does.
    """


async def open_database(settings: Settings) -> None:
    """Initialise Tortoise for the whole process.

    The global fallback makes the ORM reachable from every task (requests, the worker), not only the
    lifespan task that ran this; Tortoise's own Starlette integration does the same. Every process that
    opens the database may hash a PIN or password and may seal a notification secret, so the configured
    hash cost and the key that seals notification secrets in the database are installed here too.
    """
    use_hash_cost(
        HashCost(
            time_cost=settings.secret_hash_time_cost,
            memory_kib=settings.secret_hash_memory_kib,
            parallelism=settings.secret_hash_parallelism,
        )
    )
    use_hash_threads(settings.secret_hash_threads)
    use_secret_sealer(notification_sealer(settings))
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    replica_url = settings.resolved_database_replica_url
    use_replica(
        None
        if replica_url is None
        else AsyncpgDBClient(
            connection_name="replica", **_postgres_credentials(replica_url, settings)["credentials"]
        )
    )


async def close_database() -> None:
    replica = replica_client()
    use_replica(None)
    if replica is not None:
        await replica.close()
    await Tortoise.close_connections()


async def ping_database() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def apply_migrations(
    settings: Settings, *, progress: Callable[[str, str, str], object] | None = None
) -> None:
    """Apply every migration under ``migrations/`` that the database has not seen yet.

    Runs with its own short-lived ORM context; call it before ``open_database``.
    """
    try:
        await tortoise_migrate(config=tortoise_config(settings), progress=progress)
    finally:
        await Tortoise.close_connections()
