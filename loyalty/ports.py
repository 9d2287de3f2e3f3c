"""Interfaces the programme needs from infrastructure, with no framework behind them.

Each port has two implementations in ``gateway/backends``: an in-process one for the embedded default
and a Redis one for production. One contract test suite (``tests/gateway/test_backends.py``) runs
against both, so code written against these protocols behaves the same on either.

Keys that belong to one member carry a Redis Cluster hash tag on the account number, for example
``ratelimit:{acct:123456789}:pin``; the implementations never rewrite keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol


class BackendUnavailable(ConnectionError):
    """A port's backend (Redis in production) is unreachable for now; the operation did not happen.

    Ports that can do without it do so instead of raising (the rate limiter counts in-process, the cache
    misses, pub/sub reaches nobody); the queue raises this, and its callers leave the work to a later
    round (the inbox sweeper, the worker's next attempt)."""


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One message taken from a stream: its id (for ``ack``), its fields, and how often it was delivered."""

    stream: str
    message_id: str
    fields: dict[str, str]
    deliveries: int = 1


class Queue(Protocol):
    """A durable-enough work queue with consumer groups (Redis streams semantics).

    A message is delivered to one consumer of a group and stays pending until acknowledged; a consumer
    that dies leaves it pending, and ``claim_stale`` hands it to another consumer after ``min_idle_ms``.
    """

    async def ensure_group(self, stream: str, group: str) -> None: ...

    async def publish(self, stream: str, fields: dict[str, str]) -> str: ...

    async def consume(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int = 1000
    ) -> list[QueueMessage]: ...

    async def ack(self, stream: str, group: str, message_ids: list[str]) -> int: ...

    async def claim_stale(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 10
    ) -> list[QueueMessage]: ...

    async def pending_count(self, stream: str, group: str) -> int: ...

    async def acquire_lease(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        """Take the named lease for ``owner`` (or extend it if ``owner`` holds it); False if another holds it.

        Consumers use leases to own one partition of a stream at a time, which keeps its order."""
        ...

    async def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up, if ``owner`` still holds it."""
        ...


class Subscription(Protocol):
    """An open subscription to one or more channels; iterate it for message payloads."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


class PubSub(Protocol):
    """Fire-and-forget broadcast to every current subscriber of a channel (live updates)."""

    async def publish(self, channel: str, payload: bytes) -> int: ...

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> int:
        """Publish ``(channel, payload)`` pairs, in this order on each channel, in one round trip where the
        backend can (one per shard on a Redis Cluster); returns how many receivers heard them in all."""
        ...

    async def subscribe(self, *channels: str) -> Subscription: ...


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    """Whether one more hit fits in the window, what is left, and when to retry if it does not."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float = 0.0


class RateLimiter(Protocol):
    """Counts hits per key in a fixed window; every hit counts, allowed or not."""

    async def hit(self, key: str, *, limit: int, window_s: int, cost: int = 1) -> RateLimitDecision: ...

    async def reset(self, key: str) -> None: ...


class Cache(Protocol):
    """A byte cache with optional time to live; a miss is ``None``."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Backends:
    """The four infrastructure ports together, as ``gateway.backends.open_backends`` builds them."""

    queue: Queue
    pubsub: PubSub
    rate_limiter: RateLimiter
    cache: Cache
