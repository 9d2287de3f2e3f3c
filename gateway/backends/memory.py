"""In-process implementations of the ``loyalty.ports`` protocols for the embedded default.

They follow the Redis implementations' semantics (see ``gateway/backends/redis.py``) closely enough that
one contract suite passes on both: stream ids look like Redis ids, a new consumer group starts at the
beginning of the stream, ``consume`` on a missing group creates it, and a closed subscription is
counted by nobody. Everything runs on one event loop; each operation does its bookkeeping without
awaiting in between, so no locks are needed.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

from loyalty.ports import QueueMessage, RateLimitDecision

_StreamKey = tuple[int, int]


@dataclass(slots=True)
class _Pending:
    consumer: str
    delivered_at: float
    deliveries: int


@dataclass(slots=True)
class _Group:
    last_delivered: _StreamKey = (0, 0)
    pending: OrderedDict[str, _Pending] = field(default_factory=OrderedDict)


@dataclass(slots=True)
class _Stream:
    keys: list[_StreamKey] = field(default_factory=list)
    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


def _format_id(key: _StreamKey) -> str:
    return f"{key[0]}-{key[1]}"


class MemoryQueue:
    """Streams with consumer groups, pending-entry lists and re-delivery, held in this process.

    ``maxlen`` caps each stream like Redis' approximate ``MAXLEN``: the oldest entries are dropped in
    batches, pending or not, and a pending entry whose message was dropped is forgotten on claim.
    """

    def __init__(self, *, maxlen: int = 100_000) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self._maxlen = maxlen
        self._trim_slack = max(1, maxlen // 10)
        self._streams: dict[str, _Stream] = {}
        self._last_key: _StreamKey = (0, 0)
        self._leases: dict[str, tuple[str, float]] = {}

    async def acquire_lease(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        now = time.monotonic()
        holder = self._leases.get(name)
        if holder is not None and holder[0] != owner and holder[1] > now:
            return False
        self._leases[name] = (owner, now + ttl_ms / 1000)
        return True

    async def release_lease(self, name: str, owner: str) -> None:
        holder = self._leases.get(name)
        if holder is not None and holder[0] == owner:
            del self._leases[name]

    def _stream(self, name: str) -> _Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = _Stream()
        return stream

    def _next_key(self) -> _StreamKey:
        now_ms = time.time_ns() // 1_000_000
        last_ms, last_seq = self._last_key
        self._last_key = (now_ms, 0) if now_ms > last_ms else (last_ms, last_seq + 1)
        return self._last_key

    async def ensure_group(self, stream: str, group: str) -> None:
        self._stream(stream).groups.setdefault(group, _Group())

    async def publish(self, stream: str, fields: dict[str, str]) -> str:
        if not fields:
            raise ValueError("a message needs at least one field")
        target = self._stream(stream)
        key = self._next_key()
        message_id = _format_id(key)
        target.keys.append(key)
        target.entries[message_id] = dict(fields)
        excess = len(target.keys) - self._maxlen
        if excess >= self._trim_slack:
            for old in target.keys[:excess]:
                del target.entries[_format_id(old)]
            del target.keys[:excess]
        async with target.changed:
            target.changed.notify_all()
        return message_id

    def _take_new(
        self, stream: str, target: _Stream, group: _Group, consumer: str, count: int
    ) -> list[QueueMessage]:
        start = bisect_right(target.keys, group.last_delivered)
        batch = target.keys[start : start + count]
        if not batch:
            return []
        now = time.monotonic()
        messages = []
        for key in batch:
            message_id = _format_id(key)
            group.pending[message_id] = _Pending(consumer=consumer, delivered_at=now, deliveries=1)
            messages.append(QueueMessage(stream, message_id, dict(target.entries[message_id]), 1))
        group.last_delivered = batch[-1]
        return messages

    async def consume(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int = 1000
    ) -> list[QueueMessage]:
        """New messages for ``consumer``; waits up to ``block_ms`` for some (``block_ms <= 0``: no wait)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        target = self._stream(stream)
        state = target.groups.setdefault(group, _Group())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(block_ms, 0) / 1000
        async with target.changed:
            while True:
                messages = self._take_new(stream, target, state, consumer, count)
                remaining = deadline - loop.time()
                if messages or remaining <= 0:
                    return messages
                try:
                    async with asyncio.timeout(remaining):
                        await target.changed.wait()
                except TimeoutError:
                    return self._take_new(stream, target, state, consumer, count)

    async def ack(self, stream: str, group: str, message_ids: list[str]) -> int:
        target = self._streams.get(stream)
        state = target.groups.get(group) if target else None
        if state is None:
            return 0
        return sum(state.pending.pop(message_id, None) is not None for message_id in message_ids)

    async def claim_stale(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 10
    ) -> list[QueueMessage]:
        """Hand messages idle for at least ``min_idle_ms`` to ``consumer``, oldest first."""
        if count < 1:
            raise ValueError("count must be at least 1")
        target = self._streams.get(stream)
        state = target.groups.get(group) if target else None
        if target is None or state is None:
            return []
        now = time.monotonic()
        min_idle_s = max(min_idle_ms, 0) / 1000
        claimed: list[QueueMessage] = []
        for message_id, pending in list(state.pending.items()):
            if len(claimed) >= count:
                break
            if now - pending.delivered_at < min_idle_s:
                continue
            fields = target.entries.get(message_id)
            if fields is None:  # trimmed away while pending, as XAUTOCLAIM does
                del state.pending[message_id]
                continue
            pending.consumer = consumer
            pending.delivered_at = now
            pending.deliveries += 1
            claimed.append(QueueMessage(stream, message_id, dict(fields), pending.deliveries))
        return claimed

    async def pending_count(self, stream: str, group: str) -> int:
        target = self._streams.get(stream)
        state = target.groups.get(group) if target else None
        return len(state.pending) if state else 0


class MemorySubscription:
    """A bounded inbox per subscriber: a slow reader loses its oldest messages instead of growing."""

    def __init__(self, hub: MemoryPubSub, channels: tuple[str, ...], maxsize: int) -> None:
        self._hub = hub
        self.channels = channels
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize)
        self.closed = False
        self.dropped = 0

    def _deliver(self, payload: bytes) -> None:
        if self._inbox.full():
            self._inbox.get_nowait()
            self.dropped += 1
        self._inbox.put_nowait(payload)

    def __aiter__(self) -> MemorySubscription:
        return self

    async def __anext__(self) -> bytes:
        item = await self._inbox.get()
        if item is None:
            self._inbox.put_nowait(None)  # leave the end marker for any other reader
            raise StopAsyncIteration
        return item

    async def close(self) -> None:
        """Stop delivery at once; undelivered messages are dropped and iteration ends."""
        if self.closed:
            return
        self.closed = True
        self._hub._unregister(self)
        while not self._inbox.empty():
            self._inbox.get_nowait()
        self._inbox.put_nowait(None)

    async def __aenter__(self) -> MemorySubscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class MemoryPubSub:
    """Broadcast to the subscriptions open in this process."""

    def __init__(self, *, inbox_size: int = 1_000) -> None:
        self._inbox_size = inbox_size
        self._subscribers: dict[str, set[MemorySubscription]] = {}

    async def publish(self, channel: str, payload: bytes) -> int:
        receivers = self._subscribers.get(channel, ())
        for subscription in receivers:
            subscription._deliver(bytes(payload))
        return len(receivers)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> int:
        heard = 0
        for channel, payload in messages:
            heard += await self.publish(channel, payload)
        return heard

    async def subscribe(self, *channels: str) -> MemorySubscription:
        if not channels:
            raise ValueError("subscribe needs at least one channel")
        subscription = MemorySubscription(self, tuple(dict.fromkeys(channels)), self._inbox_size)
        for channel in subscription.channels:
            self._subscribers.setdefault(channel, set()).add(subscription)
        return subscription

    def _unregister(self, subscription: MemorySubscription) -> None:
        for channel in subscription.channels:
            receivers = self._subscribers.get(channel)
            if receivers is not None:
                receivers.discard(subscription)
                if not receivers:
                    del self._subscribers[channel]

    async def close(self) -> None:
        """End every open subscription, so their readers stop on shutdown."""
        for subscription in {s for receivers in self._subscribers.values() for s in receivers}:
            await subscription.close()


class Wakeups:
    """Named wake-up calls between the tasks of one process, for loops that sleep until there is work.

    A loop takes its own ``waiter(name)`` and waits on it (clearing it before each round, so a call that
    comes while it works is not lost); ``wake(name)`` sets every waiter of that name. Whoever learns of new
    rows calls it: the PostgreSQL LISTEN connection on a NOTIFY, or SQLite's in-process triggers
    (``gateway.workers.listener``). Call it on the event loop's thread (``loop.call_soon_threadsafe``
    from any other).
    """

    def __init__(self) -> None:
        self._waiters: dict[str, list[asyncio.Event]] = {}

    def waiter(self, name: str) -> asyncio.Event:
        """A new event, set by every ``wake(name)`` from now on."""
        event = asyncio.Event()
        self._waiters.setdefault(name, []).append(event)
        return event

    def wake(self, name: str) -> None:
        for event in self._waiters.get(name, ()):
            event.set()

    def wake_all(self) -> None:
        """Wake every waiter, for when calls may have been missed (a lost connection, a late start)."""
        for name in self._waiters:
            self.wake(name)


@dataclass(slots=True)
class _Window:
    hits: int
    ends_at: float


class MemoryRateLimiter:
    """Fixed windows that start at a key's first hit, like the Redis INCRBY + PEXPIRE version."""

    def __init__(self, *, sweep_interval_s: float = 30.0) -> None:
        self._windows: dict[str, _Window] = {}
        self._sweep_interval_s = sweep_interval_s
        self._next_sweep = time.monotonic() + sweep_interval_s

    def _sweep(self, now: float) -> None:
        """Forget ended windows now and then, so keys seen once do not stay forever."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_interval_s
        for key in [key for key, window in self._windows.items() if window.ends_at <= now]:
            del self._windows[key]

    async def hit(self, key: str, *, limit: int, window_s: int, cost: int = 1) -> RateLimitDecision:
        _check_hit(limit, window_s, cost)
        now = time.monotonic()
        self._sweep(now)
        window = self._windows.get(key)
        if window is None or window.ends_at <= now:
            window = self._windows[key] = _Window(hits=0, ends_at=now + window_s)
        window.hits += cost
        if window.hits <= limit:
            return RateLimitDecision(allowed=True, limit=limit, remaining=limit - window.hits)
        retry_after = max(window.ends_at - now, 0.001)
        return RateLimitDecision(allowed=False, limit=limit, remaining=0, retry_after_s=retry_after)

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)


def _check_hit(limit: int, window_s: int, cost: int) -> None:
    if limit < 0 or window_s < 1 or cost < 1:
        raise ValueError("need limit >= 0, window_s >= 1 and cost >= 1")


class MemoryCache:
    """A least-recently-used byte cache with monotonic-clock expiry, capped at ``max_entries``."""

    def __init__(self, *, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and expires_at <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value``; ``ttl_s <= 0`` stores nothing, and no ``ttl_s`` keeps it until evicted."""
        if ttl_s is not None and ttl_s <= 0:
            self._entries.pop(key, None)
            return
        expires_at = None if ttl_s is None else time.monotonic() + ttl_s
        self._entries[key] = (bytes(value), expires_at)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
