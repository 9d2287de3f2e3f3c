"""Redis lost and found: the Redis ports behind one guard per process, so an outage costs no request.

The guard knows whether this process reaches Redis. When an operation fails to reach it (refused,
reset, timed out), the guard says so in one log line and, for ``retry_s`` seconds, lets no operation
try again: they get ``RedisUnavailable`` at once instead of each waiting for a connection. Then one
operation tries; the first that succeeds ends the outage, with one more log line. So the log has one
line for each change of state, never one per request.

While Redis is away, each port does what it can without it:

- the rate limiter counts in this process's own windows (``MemoryRateLimiter``): the limits still hold
  per process, so N gateway processes let through up to N times a limit; once Redis answers again the
  shared counts are used again;
- the cache misses and stores nothing: the session check reads the database, a persisted query's hash
  is answered ``PERSISTED_QUERY_NOT_FOUND`` and the client sends the document again;
- a published message reaches nobody (pub/sub is fire-and-forget; the subscriptions that would hear it
  were cut with Redis), and a new subscription is refused with ``RedisUnavailable``;
- the queue raises ``RedisUnavailable``: a partner delivery is stored in the inbox before it is
  answered, and the sweeper queues pending rows again; the inbox worker waits and tries again.

Each of these counts as a fallback (``on_fallback(use)``, the ``milesgate_redis_fallbacks_total``
counter in a gateway). Errors that are Redis's answers (``ResponseError``) pass through unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import TypeVar

from redis.exceptions import ClusterDownError, RedisClusterException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.backends.memory import MemoryRateLimiter
from gateway.backends.redis import RedisCache, RedisPubSub, RedisQueue, RedisRateLimiter, RedisSubscription
from loyalty.ports import BackendUnavailable, QueueMessage, RateLimitDecision

log = logging.getLogger(__name__)

T = TypeVar("T")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, RedisClusterException, ClusterDownError)
"""What an unreachable Redis raises: redis-py's connection and timeout errors, and the socket's own
(``TimeoutError`` is an ``OSError``); on Redis Cluster also the client's own error when no node can be
reached to learn the slots, and a cluster that answers ``CLUSTERDOWN`` (slots not served)."""


class RedisUnavailable(BackendUnavailable, RedisConnectionError):
    """Redis is unreachable (or left alone until the guard's next try); nothing was done.

    A ``BackendUnavailable`` for code that knows only the ports, and a redis-py ``ConnectionError`` for
    code that already handled those."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RedisGuard:
    """Whether this process reaches Redis; one log line per change, and no try more often than ``retry_s``
    while it does not."""

    def __init__(
        self,
        *,
        retry_s: float = 1.0,
        on_fallback: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retry_s = retry_s
        self.reachable = True
        self._on_fallback = on_fallback
        self._clock = clock
        self._next_try = 0.0
        self._lost_at = 0.0

    def may_try(self) -> bool:
        """True when an operation may go to Redis now; while it is unreachable, one every ``retry_s``."""
        if self.reachable:
            return True
        now = self._clock()
        if now < self._next_try:
            return False
        self._next_try = now + self.retry_s  # the others wait for this one's outcome
        return True

    def lost(self, exc: BaseException, *, where: str = "") -> None:
        now = self._clock()
        self._next_try = now + self.retry_s
        if not self.reachable:
            return
        self.reachable = False
        self._lost_at = now
        log.warning(
            "Redis unreachable%s (%s): rate limits count in-process, caches miss, the queue waits; "
            "trying again every %g s",
            f" {where}" if where else "",
            _describe(exc),
            self.retry_s,
            extra={"redis": "unreachable"},
        )

    def back(self) -> None:
        if self.reachable:
            return
        self.reachable = True
        log.warning(
            "Redis reachable again after %.1f s: rate limits, caches and the queue use it again",
            self._clock() - self._lost_at,
            extra={"redis": "ok"},
        )

    def fell_back(self, use: str) -> None:
        if self._on_fallback is not None:
            self._on_fallback(use)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` against Redis, or raise ``RedisUnavailable`` (at once while it is away)."""
        if not self.may_try():
            raise RedisUnavailable("Redis is unreachable")
        try:
            result = await operation()
        except RedisUnavailable:
            raise
        except UNREACHABLE as exc:
            self.lost(exc)
            raise RedisUnavailable(f"Redis is unreachable ({_describe(exc)})") from exc
        self.back()
        return result

    async def probe(self, ping: Callable[[], Awaitable[object]], *, where: str = "") -> bool:
        """Ask Redis now, whatever the guard's wait (readiness, start-up); records what it found."""
        try:
            await ping()
        except UNREACHABLE as exc:
            self.lost(exc, where=where)
            return False
        self.back()
        return True


class GuardedRateLimiter:
    """Redis's shared windows, or this process's own while Redis is unreachable."""

    def __init__(self, redis: RedisRateLimiter, guard: RedisGuard, fallback: MemoryRateLimiter | None = None):
        self._redis = redis
        self._guard = guard
        self.fallback = fallback or MemoryRateLimiter()

    async def hit(self, key: str, *, limit: int, window_s: int, cost: int = 1) -> RateLimitDecision:
        try:
            return await self._guard.call(
                lambda: self._redis.hit(key, limit=limit, window_s=window_s, cost=cost)
            )
        except RedisUnavailable:
            self._guard.fell_back("rate_limit")
            return await self.fallback.hit(key, limit=limit, window_s=window_s, cost=cost)

    async def reset(self, key: str) -> None:
        await self.fallback.reset(key)
        try:
            await self._guard.call(lambda: self._redis.reset(key))
        except RedisUnavailable:
            self._guard.fell_back("rate_limit")


class GuardedCache:
    """Redis's cache, or a miss (and nothing stored) while Redis is unreachable."""

    def __init__(self, redis: RedisCache, guard: RedisGuard) -> None:
        self._redis = redis
        self._guard = guard

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._guard.call(lambda: self._redis.get(key))
        except RedisUnavailable:
            self._guard.fell_back("cache")
            return None

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        try:
            await self._guard.call(lambda: self._redis.set(key, value, ttl_s=ttl_s))
        except RedisUnavailable:
            self._guard.fell_back("cache")

    async def delete(self, key: str) -> None:
        try:
            await self._guard.call(lambda: self._redis.delete(key))
        except RedisUnavailable:
            self._guard.fell_back("cache")


class GuardedQueue:
    """Redis's streams; ``RedisUnavailable`` while Redis is unreachable (the callers retry later)."""

    def __init__(self, redis: RedisQueue, guard: RedisGuard) -> None:
        self._redis = redis
        self._guard = guard

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self._guard.call(operation)
        except RedisUnavailable:
            self._guard.fell_back("queue")
            raise

    async def ensure_group(self, stream: str, group: str) -> None:
        await self._call(lambda: self._redis.ensure_group(stream, group))

    async def publish(self, stream: str, fields: dict[str, str]) -> str:
        return await self._call(lambda: self._redis.publish(stream, fields))

    async def consume(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int = 1000
    ) -> list[QueueMessage]:
        return await self._call(
            lambda: self._redis.consume(stream, group, consumer, count=count, block_ms=block_ms)
        )

    async def ack(self, stream: str, group: str, message_ids: list[str]) -> int:
        return await self._call(lambda: self._redis.ack(stream, group, message_ids))

    async def claim_stale(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 10
    ) -> list[QueueMessage]:
        return await self._call(
            lambda: self._redis.claim_stale(stream, group, consumer, min_idle_ms=min_idle_ms, count=count)
        )

    async def pending_count(self, stream: str, group: str) -> int:
        return await self._call(lambda: self._redis.pending_count(stream, group))

    async def acquire_lease(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        return await self._call(lambda: self._redis.acquire_lease(name, owner, ttl_ms=ttl_ms))

    async def release_lease(self, name: str, owner: str) -> None:
        await self._call(lambda: self._redis.release_lease(name, owner))


class GuardedSubscription:
    """A Redis subscription whose lost connection ends it with ``RedisUnavailable`` (and tells the guard)."""

    def __init__(self, subscription: RedisSubscription, guard: RedisGuard) -> None:
        self._subscription = subscription
        self._guard = guard

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[bytes]:
        iterator = self._subscription.__aiter__()
        while True:
            try:
                message = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except UNREACHABLE as exc:
                self._guard.lost(exc)
                raise RedisUnavailable(f"Redis is unreachable ({_describe(exc)})") from exc
            yield message

    async def close(self) -> None:
        await self._subscription.close()

    async def __aenter__(self) -> GuardedSubscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class GuardedPubSub:
    """Redis pub/sub; a message published while Redis is unreachable reaches nobody (0 receivers)."""

    def __init__(self, redis: RedisPubSub, guard: RedisGuard) -> None:
        self._redis = redis
        self._guard = guard

    async def publish(self, channel: str, payload: bytes) -> int:
        try:
            return await self._guard.call(lambda: self._redis.publish(channel, payload))
        except RedisUnavailable:
            self._guard.fell_back("pubsub")
            return 0

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> int:
        try:
            return await self._guard.call(lambda: self._redis.publish_many(messages))
        except RedisUnavailable:
            self._guard.fell_back("pubsub")
            return 0

    async def subscribe(self, *channels: str) -> GuardedSubscription:
        try:
            subscription = await self._guard.call(lambda: self._redis.subscribe(*channels))
        except RedisUnavailable:
            self._guard.fell_back("pubsub")
            raise
        return GuardedSubscription(subscription, self._guard)

    async def close(self) -> None:
        await self._redis.close()
