"""Builds the infrastructure ports: in-process by default, Redis when a URL is configured.

The rest of the code only sees ``loyalty.ports.Backends``; this module owns the connection, the
health check and the shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from gateway.backends.memory import MemoryCache, MemoryPubSub, MemoryQueue, MemoryRateLimiter
from gateway.backends.outage import (
    GuardedCache,
    GuardedPubSub,
    GuardedQueue,
    GuardedRateLimiter,
    RedisGuard,
    RedisUnavailable,
)
from gateway.backends.redis import RedisCache, RedisClient, RedisPubSub, RedisQueue, RedisRateLimiter
from loyalty.ports import Backends

__all__ = ["BackendKind", "BackendSet", "RedisUnavailable", "open_backends"]

# A dropped connection is tried again at once (a Redis restart, an idle connection cut by a NAT); a
# Redis that stays away is known within a fraction of a second, not after redis-py's default ten tries.
REDIS_RETRIES = 3
REDIS_RETRY_CAP_S = 0.25

BackendKind = Literal["memory", "redis"]


class BackendSet:
    """The ports plus what is needed to check and release them; ``close`` is safe to call twice."""

    def __init__(
        self,
        ports: Backends,
        kind: BackendKind,
        *,
        client: RedisClient | None = None,
        pubsub: MemoryPubSub | GuardedPubSub | None = None,
        guard: RedisGuard | None = None,
    ) -> None:
        self.ports = ports
        self.kind: BackendKind = kind
        self._client = client
        self._pubsub = pubsub
        self.guard = guard
        """Redis's state in this process (None: in-process backends)."""
        self._closed = False

    async def ping(self) -> None:
        """Raise if the backends cannot serve requests (readiness probe); in-process ones always can."""
        if self._closed:
            raise RuntimeError("backends are closed")
        if self._client is not None and not await self._client.ping():
            raise ConnectionError("Redis did not answer PING")

    async def reachable(self, *, where: str = "", timeout_s: float = 2.0) -> bool:
        """Ask Redis now (readiness, start-up), for at most ``timeout_s``, and let the guard log a change;
        in-process backends are always reachable."""
        if self._closed:
            raise RuntimeError("backends are closed")
        if self.guard is None or self._client is None:
            return True
        return await self.guard.probe(lambda: asyncio.wait_for(self.ping(), timeout_s), where=where)

    async def close(self) -> None:
        """End open subscriptions first so their readers stop, then drop the connections."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._pubsub is not None:
                await self._pubsub.close()
        finally:
            if self._client is not None:
                await self._client.aclose()

    async def __aenter__(self) -> BackendSet:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def open_backends(
    redis_url: str | None,
    *,
    cluster: bool = False,
    prefix: str = "",
    retry_s: float = 1.0,
    on_fallback: Callable[[str], None] | None = None,
) -> BackendSet:
    """In-process backends when ``redis_url`` is None, else Redis ones sharing one client, every key,
    stream and channel behind ``prefix``, behind one ``RedisGuard`` (``gateway.backends.outage``: what
    each port does while Redis is unreachable; ``retry_s`` between tries then, ``on_fallback(use)`` for
    every operation that went without it). ``cluster``: ``redis_url`` names one node of a Redis Cluster
    (redis-py's ``RedisCluster`` finds the others and routes each key to the node of its slot).

    Nothing is contacted here (the client connects lazily); call ``reachable`` or ``ping`` to check.
    """
    if redis_url is None:
        memory_pubsub = MemoryPubSub()
        ports = Backends(
            queue=MemoryQueue(), pubsub=memory_pubsub, rate_limiter=MemoryRateLimiter(), cache=MemoryCache()
        )
        return BackendSet(ports, "memory", pubsub=memory_pubsub)

    # Blocking stream reads are cut into rounds shorter than socket_timeout (see RedisQueue), and the
    # health check re-validates pooled connections that sat idle behind a load balancer or NAT.
    options: dict[str, Any] = {
        "decode_responses": False,
        "protocol": 2,
        "socket_connect_timeout": 2.0,
        "socket_timeout": 5.0,
        "socket_keepalive": True,
        "health_check_interval": 30,
        "client_name": "milesgate",
        "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=REDIS_RETRY_CAP_S), REDIS_RETRIES),
    }
    client: RedisClient
    if cluster:
        client = RedisCluster.from_url(redis_url, **options)
        connection_options = client.get_connection_kwargs()
    else:
        client = Redis.from_url(redis_url, **options)
        connection_options = client.connection_pool.connection_kwargs
    # Query-string options in the URL override keyword arguments; these two would break the decoding.
    if connection_options.get("decode_responses") or connection_options.get("protocol") not in (None, 2, "2"):
        await client.aclose()
        raise ValueError("the Redis URL must not set decode_responses or a protocol other than 2")
    guard = RedisGuard(retry_s=retry_s, on_fallback=on_fallback)
    pubsub = GuardedPubSub(RedisPubSub(client, prefix=prefix), guard)
    ports = Backends(
        queue=GuardedQueue(RedisQueue(client, prefix=prefix), guard),
        pubsub=pubsub,
        rate_limiter=GuardedRateLimiter(RedisRateLimiter(client, prefix=prefix), guard),
        cache=GuardedCache(RedisCache(client, prefix=prefix), guard),
    )
    return BackendSet(ports, "redis", client=client, pubsub=pubsub, guard=guard)
