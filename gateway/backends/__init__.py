"""Builds the infrastructure ports: in-process by default, Redis when a URL is configured.

The rest of the code only sees ``loyalty.ports.Backends``; this module owns the connection, the
health check and the shutdown.
"""

from __future__ import annotations

from types import TracebackType
from typing import Literal

from redis.asyncio import Redis

from gateway.backends.memory import MemoryCache, MemoryPubSub, MemoryQueue, MemoryRateLimiter
from gateway.backends.redis import RedisCache, RedisPubSub, RedisQueue, RedisRateLimiter
from loyalty.ports import Backends

__all__ = ["BackendKind", "BackendSet", "open_backends"]

BackendKind = Literal["memory", "redis"]


class BackendSet:
    """The ports plus what is needed to check and release them; ``close`` is safe to call twice."""

    def __init__(
        self,
        ports: Backends,
        kind: BackendKind,
        *,
        client: Redis | None = None,
        pubsub: MemoryPubSub | RedisPubSub | None = None,
    ) -> None:
        self.ports = ports
        self.kind: BackendKind = kind
        self._client = client
        self._pubsub = pubsub
        self._closed = False

    async def ping(self) -> None:
        """Raise if the backends cannot serve requests (readiness probe); in-process ones always can."""
        if self._closed:
            raise RuntimeError("backends are closed")
        if self._client is not None and not await self._client.ping():
            raise ConnectionError("Redis did not answer PING")

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


async def open_backends(redis_url: str | None, *, prefix: str = "") -> BackendSet:
    """In-process backends when ``redis_url`` is None, else Redis ones sharing one client, every key,
    stream and channel behind ``prefix``.

    Nothing is contacted here (the client connects lazily); call ``ping`` to check readiness.
    """
    if redis_url is None:
        memory_pubsub = MemoryPubSub()
        ports = Backends(
            queue=MemoryQueue(), pubsub=memory_pubsub, rate_limiter=MemoryRateLimiter(), cache=MemoryCache()
        )
        return BackendSet(ports, "memory", pubsub=memory_pubsub)

    # Blocking stream reads are cut into rounds shorter than socket_timeout (see RedisQueue), and the
    # health check re-validates pooled connections that sat idle behind a load balancer or NAT.
    client = Redis.from_url(
        redis_url,
        decode_responses=False,
        protocol=2,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        socket_keepalive=True,
        health_check_interval=30,
        client_name="milesgate",
    )
    # Query-string options in the URL override keyword arguments; these two would break the decoding.
    options = client.connection_pool.connection_kwargs
    if options.get("decode_responses") or options.get("protocol") not in (None, 2, "2"):
        await client.aclose()
        raise ValueError("the Redis URL must not set decode_responses or a protocol other than 2")
    redis_pubsub = RedisPubSub(client, prefix=prefix)
    ports = Backends(
        queue=RedisQueue(client, prefix=prefix),
        pubsub=redis_pubsub,
        rate_limiter=RedisRateLimiter(client, prefix=prefix),
        cache=RedisCache(client, prefix=prefix),
    )
    return BackendSet(ports, "redis", client=client, pubsub=redis_pubsub)
