"""Redis implementations of the ``loyalty.ports`` protocols (redis-py's asyncio client).

All four share one client created with ``decode_responses=False`` and RESP2: cache values and pub/sub
payloads stay bytes, stream ids and fields are decoded here. Keys, streams and channels are used as
given behind an optional ``prefix`` (``MILESGATE_REDIS_PREFIX``: several deployments, or test runs,
sharing one Redis never see each other's keys), so the Redis Cluster hash tags callers put in them keep
working.

On Redis Cluster (``MILESGATE_REDIS_CLUSTER``) the same classes take redis-py's ``RedisCluster``: every
operation and every Lua script touches one key, so each goes to the node that owns its slot, and the
callers' hash tags keep what belongs together on one slot (an inbox partition's stream and lease, a
member's rate-limit windows and live-update channel). Pub/sub is sharded there (``SPUBLISH`` /
``SSUBSCRIBE``): a message goes to the node that owns its channel's slot only, instead of across the
whole cluster's bus as ``PUBLISH`` would.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import PubSub as RedisPubSubConnection
from redis.exceptions import RedisError, ResponseError
from redis.typing import EncodableT, FieldT

from loyalty.ports import QueueMessage, RateLimitDecision

# One XAUTOCLAIM round plus the delivery count of every claimed entry, read atomically so that no
# other consumer can claim an entry between the two (which would make the reported count wrong).
_CLAIM_SCRIPT = """
local res = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local entries, counts = {}, {}
for _, entry in ipairs(res[2]) do
  if entry and entry[2] then
    local info = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
    if info[1] then
      entries[#entries + 1] = entry
      counts[#counts + 1] = info[1][4]
    end
  end
end
return {res[1], entries, counts}
"""

# INCRBY and the window's expiry in one step: the first hit starts the window, and a key that lost its
# expiry somehow gets one again instead of limiting forever.
_HIT_SCRIPT = """
local hits = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if hits == tonumber(ARGV[1]) or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {hits, ttl}
"""


# Take the lease if it is free, or extend it if this owner holds it; release only one's own lease.
_ACQUIRE_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


RedisClient = Redis | RedisCluster
"""One Redis, or a Redis Cluster: the ports use only what both offer."""


def _text(value: bytes | str | int) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _is_error(exc: ResponseError, code: str) -> bool:
    return str(exc).startswith(code)


class RedisQueue:
    """Consumer-group work queue on Redis streams.

    A blocking read is split into rounds of at most ``max_block_ms`` so that it never outlasts the
    client's socket timeout. ``claim_stale`` scans at most ``max_claim_rounds`` XAUTOCLAIM rounds
    (each looks at up to ten times ``count`` pending entries), which bounds its cost on a huge backlog.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = "",
        maxlen: int = 100_000,
        max_block_ms: int = 2_000,
        max_claim_rounds: int = 10,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._maxlen = maxlen
        self._max_block_ms = max_block_ms
        self._max_claim_rounds = max_claim_rounds
        self._outgoing: list[tuple[str, dict[FieldT, EncodableT], asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._claim = client.register_script(_CLAIM_SCRIPT)
        self._acquire = client.register_script(_ACQUIRE_SCRIPT)
        self._release = client.register_script(_RELEASE_SCRIPT)

    async def acquire_lease(self, name: str, owner: str, *, ttl_ms: int) -> bool:
        return bool(await self._acquire(keys=[self._prefix + name], args=[owner, max(int(ttl_ms), 1)]))

    async def release_lease(self, name: str, owner: str) -> None:
        await self._release(keys=[self._prefix + name], args=[owner])

    async def ensure_group(self, stream: str, group: str) -> None:
        """Create the group at the start of the stream, so messages published before it are not lost."""
        try:
            await self._client.xgroup_create(self._prefix + stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if not _is_error(exc, "BUSYGROUP"):
                raise

    async def publish(self, stream: str, fields: dict[str, str]) -> str:
        """XADD, pipelined: the publishes of one turn of the event loop (and those made while a pipeline
        is under way) go to Redis together, in the order they were made, in one round trip."""
        if not fields:
            raise ValueError("a message needs at least one field")
        loop = asyncio.get_running_loop()
        sent: asyncio.Future[Any] = loop.create_future()
        self._outgoing.append((self._prefix + stream, {name: value for name, value in fields.items()}, sent))
        if self._sender is None or self._sender.done() or self._sender.get_loop() is not loop:
            self._sender = loop.create_task(self._send_outgoing())
        return _text(await sent)

    async def _send_outgoing(self) -> None:
        await asyncio.sleep(0)  # the other publishers of this turn of the loop join the first pipeline
        while self._outgoing:
            batch = list(self._outgoing)
            self._outgoing.clear()
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for key, fields, _ in batch:
                        pipe.xadd(key, fields, maxlen=self._maxlen, approximate=True)
                    results = await pipe.execute(raise_on_error=False)
            except Exception as exc:  # the connection: every publisher of the batch hears of it
                results = [exc] * len(batch)
            for (_, _, sent), result in zip(batch, results, strict=True):
                if sent.done():  # its publisher was cancelled meanwhile
                    continue
                if isinstance(result, BaseException):
                    sent.set_exception(result)
                else:
                    sent.set_result(result)

    async def _read(self, stream: str, group: str, consumer: str, count: int, block_ms: int) -> Any:
        block = block_ms if block_ms > 0 else None
        key = self._prefix + stream
        try:
            return await self._client.xreadgroup(group, consumer, {key: ">"}, count=count, block=block)
        except ResponseError as exc:
            if not _is_error(exc, "NOGROUP"):
                raise
        # A missing group (new stream, or Redis restarted empty) is created rather than failing forever.
        await self.ensure_group(stream, group)
        return await self._client.xreadgroup(group, consumer, {key: ">"}, count=count, block=block)

    async def consume(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block_ms: int = 1000
    ) -> list[QueueMessage]:
        """New messages for ``consumer``; waits up to ``block_ms`` for some (``block_ms <= 0``: no wait)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(block_ms, 0) / 1000
        while True:
            remaining_ms = math.ceil((deadline - loop.time()) * 1000)
            response = await self._read(stream, group, consumer, count, min(remaining_ms, self._max_block_ms))
            messages = [
                QueueMessage(stream, _text(message_id), _decode_fields(fields), 1)
                for _name, entries in response or ()
                for message_id, fields in entries
                if fields is not None
            ]
            if messages or deadline - loop.time() <= 0.001:
                return messages

    async def ack(self, stream: str, group: str, message_ids: list[str]) -> int:
        if not message_ids:
            return 0
        return int(await self._client.xack(self._prefix + stream, group, *message_ids))

    async def claim_stale(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 10
    ) -> list[QueueMessage]:
        """Hand messages idle for at least ``min_idle_ms`` to ``consumer``, oldest first."""
        if count < 1:
            raise ValueError("count must be at least 1")
        claimed: list[QueueMessage] = []
        cursor: bytes | str = "0-0"
        for _round in range(self._max_claim_rounds):
            args: list[EncodableT] = [group, consumer, max(min_idle_ms, 0), cursor, count - len(claimed)]
            try:
                cursor, entries, counts = await self._claim(keys=[self._prefix + stream], args=args)
            except ResponseError as exc:
                if "NOGROUP" in str(exc):  # the script's error text may carry a prefix
                    return []
                raise
            for (message_id, flat_fields), deliveries in zip(entries, counts, strict=True):
                fields = dict(zip(flat_fields[::2], flat_fields[1::2], strict=True))
                claimed.append(
                    QueueMessage(stream, _text(message_id), _decode_fields(fields), int(deliveries))
                )
            if len(claimed) >= count or _text(cursor) == "0-0":
                break
        return claimed

    async def pending_count(self, stream: str, group: str) -> int:
        try:
            summary = await self._client.xpending(self._prefix + stream, group)
        except ResponseError as exc:
            if _is_error(exc, "NOGROUP"):
                return 0
            raise
        return int(summary["pending"])


def _decode_fields(fields: dict[bytes, bytes]) -> dict[str, str]:
    return {_text(name): _text(value) for name, value in fields.items()}


class RedisSubscription:
    """One dedicated pub/sub connection (on a cluster, one per node that owns a subscribed channel).

    ``subscribe`` returns only after Redis confirmed every channel, and ``close`` waits for the
    unsubscribe confirmation, so a ``publish`` right after either one counts exactly as expected.
    Reads are serialised by a lock and polled in ``poll_s`` steps so ``close`` can take over the
    connection from a reader that is waiting. ``sharded``: the channels are shard channels
    (``SSUBSCRIBE``, Redis Cluster).
    """

    def __init__(
        self,
        owner: RedisPubSub,
        connection: RedisPubSubConnection,
        *,
        sharded: bool = False,
        poll_s: float = 0.5,
    ) -> None:
        self._owner = owner
        self._connection = connection
        self._sharded = sharded
        self._kind = "s" if sharded else ""  # "ssubscribe", "smessage", "sunsubscribe" when sharded
        self._poll_s = poll_s
        self._read_lock = asyncio.Lock()
        self._buffered: deque[bytes] = deque()
        self._channels: set[bytes] = set()
        self.closed = False

    async def _next_message(self, *, ignore_subscribe_messages: bool = False) -> dict[str, Any] | None:
        if self._sharded:
            if not getattr(self._connection, "node_pubsub_mapping", None):
                await asyncio.sleep(self._poll_s)  # no node connection left to wait on: not a busy loop
                return None
            sharded: dict[str, Any] | None = await self._connection.get_sharded_message(
                ignore_subscribe_messages=ignore_subscribe_messages, timeout=self._poll_s
            )
            return sharded
        message: dict[str, Any] | None = await self._connection.get_message(
            ignore_subscribe_messages=ignore_subscribe_messages, timeout=self._poll_s
        )
        return message

    async def _start(self, channels: tuple[str, ...], timeout_s: float) -> None:
        if self._sharded:
            await self._connection.ssubscribe(*channels)
        else:
            await self._connection.subscribe(*channels)
        self._channels = {channel.encode() for channel in channels}
        unconfirmed = set(self._channels)
        async with asyncio.timeout(timeout_s), self._read_lock:
            while unconfirmed:
                message = await self._next_message()
                if message is None:
                    continue
                if message["type"] == f"{self._kind}subscribe":
                    unconfirmed.discard(message["channel"])
                elif message["type"] == f"{self._kind}message":
                    self._buffered.append(message["data"])

    def __aiter__(self) -> RedisSubscription:
        return self

    async def __anext__(self) -> bytes:
        while True:
            if self._buffered:
                return self._buffered.popleft()
            if self.closed:
                raise StopAsyncIteration
            async with self._read_lock:
                if self.closed:
                    raise StopAsyncIteration
                message = await self._next_message(ignore_subscribe_messages=True)
            if message is not None and message["type"] == f"{self._kind}message":
                data: bytes = message["data"]
                return data

    async def close(self) -> None:
        """Unsubscribe (confirmed, at most ~1 s), then give the connection back; iteration ends."""
        if self.closed:
            return
        self.closed = True
        self._owner._forget(self)
        self._buffered.clear()
        try:
            async with self._read_lock:
                if self._sharded or self._connection.connection is not None:
                    await self._unsubscribe_confirmed()
        finally:
            await self._connection.aclose()

    async def _unsubscribe_confirmed(self) -> None:
        unconfirmed = set(self._channels)
        try:
            if self._sharded:
                await self._connection.sunsubscribe()
            else:
                await self._connection.unsubscribe()
            async with asyncio.timeout(1.0):
                while unconfirmed:
                    message = await self._next_message()
                    if message is not None and message["type"] == f"{self._kind}unsubscribe":
                        unconfirmed.discard(message["channel"])
                        if message["data"] == 0 and not self._sharded:
                            return  # the connection holds no channel any more
        except (RedisError, OSError, TimeoutError):
            return  # the connection is closed next anyway, and Redis drops the subscription with it

    async def __aenter__(self) -> RedisSubscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class RedisPubSub:
    """Fire-and-forget broadcast on Redis pub/sub; keeps track of open subscriptions to close them.

    On a ``RedisCluster`` client the channels are shard channels (``SPUBLISH`` / ``SSUBSCRIBE``)."""

    def __init__(self, client: RedisClient, *, prefix: str = "", subscribe_timeout_s: float = 5.0) -> None:
        self._client = client
        self._prefix = prefix
        self._subscribe_timeout_s = subscribe_timeout_s
        self._open: set[RedisSubscription] = set()
        self.sharded = isinstance(client, RedisCluster)

    async def publish(self, channel: str, payload: bytes) -> int:
        if self.sharded:
            return int(await self._client.spublish(self._prefix + channel, payload))
        return int(await self._client.publish(self._prefix + channel, payload))

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> int:
        """One pipeline (not a transaction) for all of them: one round trip, in order (on a cluster one
        per shard, in order on each shard, so on each channel)."""
        if not messages:
            return 0
        async with self._client.pipeline(transaction=False) as pipe:
            for channel, payload in messages:
                if self.sharded:
                    pipe.spublish(self._prefix + channel, payload)
                else:
                    pipe.publish(self._prefix + channel, payload)
            receivers = await pipe.execute()
        return sum(int(count) for count in receivers)

    async def subscribe(self, *channels: str) -> RedisSubscription:
        if not channels:
            raise ValueError("subscribe needs at least one channel")
        subscription = RedisSubscription(self, self._client.pubsub(), sharded=self.sharded)
        self._open.add(subscription)
        try:
            await subscription._start(
                tuple(dict.fromkeys(self._prefix + channel for channel in channels)),
                self._subscribe_timeout_s,
            )
        except BaseException:
            await subscription.close()
            raise
        return subscription

    def _forget(self, subscription: RedisSubscription) -> None:
        self._open.discard(subscription)

    async def close(self) -> None:
        """End every open subscription, so their readers stop on shutdown."""
        for subscription in list(self._open):
            await subscription.close()


class RedisRateLimiter:
    """Fixed window per key: one atomic INCRBY + PEXPIRE-on-first-hit + PTTL script."""

    def __init__(self, client: RedisClient, *, prefix: str = "") -> None:
        self._hit = client.register_script(_HIT_SCRIPT)
        self._client = client
        self._prefix = prefix

    async def hit(self, key: str, *, limit: int, window_s: int, cost: int = 1) -> RateLimitDecision:
        if limit < 0 or window_s < 1 or cost < 1:
            raise ValueError("need limit >= 0, window_s >= 1 and cost >= 1")
        hits, ttl_ms = await self._hit(keys=[self._prefix + key], args=[cost, window_s * 1000])
        if int(hits) <= limit:
            return RateLimitDecision(allowed=True, limit=limit, remaining=limit - int(hits))
        retry_after = max(int(ttl_ms), 1) / 1000
        return RateLimitDecision(allowed=False, limit=limit, remaining=0, retry_after_s=retry_after)

    async def reset(self, key: str) -> None:
        await self._client.delete(self._prefix + key)


class RedisCache:
    """GET / SET PX / DEL; values are bytes in and bytes out."""

    def __init__(self, client: RedisClient, *, prefix: str = "") -> None:
        self._client = client
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self._client.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value``; a ``ttl_s`` of zero or less stores nothing, and no ``ttl_s`` means no expiry."""
        key = self._prefix + key
        if ttl_s is None:
            await self._client.set(key, value)
        elif ttl_s <= 0:
            await self._client.delete(key)
        else:
            await self._client.set(key, value, px=max(1, math.ceil(ttl_s * 1000)))

    async def delete(self, key: str) -> None:
        await self._client.delete(self._prefix + key)
