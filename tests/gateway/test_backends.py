"""One contract for the infrastructure ports, run against the in-process and the Redis backends.

Every name a test uses starts with a per-test prefix, so runs never see each other's keys and the
Redis keys can be removed afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import RedisError

from gateway.backends import BackendSet, open_backends
from gateway.backends.memory import MemoryCache
from gateway.backends.redis import RedisQueue
from loyalty.ports import Cache, PubSub, Queue, RateLimiter, Subscription
from tests.support import REDIS_CLUSTER, REDIS_URL, clear_redis, deadline_s, redis_client, require_service


@pytest.fixture
def ns() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backends(request: pytest.FixtureRequest, ns: str) -> AsyncIterator[BackendSet]:
    opened = await open_backends(None if request.param == "memory" else REDIS_URL, cluster=REDIS_CLUSTER)
    try:
        await opened.ping()
    except (RedisError, OSError) as exc:
        await opened.close()
        require_service("Redis", exc)
    try:
        yield opened
    finally:
        await opened.close()
        if opened.kind == "redis":
            await clear_redis(REDIS_URL, ns)


@pytest.fixture
def queue(backends: BackendSet) -> Queue:
    return backends.ports.queue


@pytest.fixture
def pubsub(backends: BackendSet) -> PubSub:
    return backends.ports.pubsub


@pytest.fixture
def limiter(backends: BackendSet) -> RateLimiter:
    return backends.ports.rate_limiter


@pytest.fixture
def cache(backends: BackendSet) -> Cache:
    return backends.ports.cache


# --- backend set -----------------------------------------------------------------------------------


async def test_backend_set_reports_kind_and_closes_twice(
    backends: BackendSet, request: pytest.FixtureRequest
):
    assert backends.kind == request.node.callspec.params["backends"]
    await backends.ping()
    await backends.close()
    await backends.close()
    with pytest.raises(RuntimeError):
        await backends.ping()


async def test_redis_url_that_changes_decoding_is_refused():
    with pytest.raises(ValueError, match="decode_responses"):
        await open_backends("redis://127.0.0.1:6379/15?decode_responses=true")


@pytest.mark.redis
async def test_two_prefixes_on_one_redis_never_see_each_other(ns: str):
    """Two deployments (or test runs) with their own MILESGATE_REDIS_PREFIX share a Redis database and
    still have their own queues, leases, channels, rate-limit windows and cache entries."""
    first = await open_backends(REDIS_URL, cluster=REDIS_CLUSTER, prefix=f"{ns}a:")
    second = await open_backends(REDIS_URL, cluster=REDIS_CLUSTER, prefix=f"{ns}b:")
    try:
        try:
            await first.ping()
        except (RedisError, OSError) as exc:
            require_service("Redis", exc)
        a, b = first.ports, second.ports
        await a.queue.ensure_group("accruals", "workers")
        await b.queue.ensure_group("accruals", "workers")
        await a.queue.publish("accruals", {"n": "1"})
        assert await b.queue.consume("accruals", "workers", "w", block_ms=0) == []
        [message] = await a.queue.consume("accruals", "workers", "w", block_ms=0)
        assert message.stream == "accruals"
        assert message.fields == {"n": "1"}

        assert await a.queue.acquire_lease("sweeper", "one", ttl_ms=5_000)
        assert await b.queue.acquire_lease("sweeper", "two", ttl_ms=5_000)

        listening = await b.pubsub.subscribe("events")
        try:
            await a.pubsub.publish("events", b"for a only")
            await b.pubsub.publish("events", b"for b")
            assert await _next(listening) == b"for b"
        finally:
            await listening.close()

        assert (await a.rate_limiter.hit("ip:1", limit=1, window_s=60)).allowed
        assert (await b.rate_limiter.hit("ip:1", limit=1, window_s=60)).allowed

        await a.cache.set("k", b"a", ttl_s=60)
        assert await b.cache.get("k") is None
        assert await a.cache.get("k") == b"a"

        client = redis_client(REDIS_URL)
        try:
            keys = {key.decode() async for key in client.scan_iter(match=f"{ns}*")}
        finally:
            await client.aclose()
        assert keys
        assert all(key.startswith((f"{ns}a:", f"{ns}b:")) for key in keys), keys
    finally:
        await first.close()
        await second.close()
        await clear_redis(REDIS_URL, ns)


# --- queue -----------------------------------------------------------------------------------------


async def test_publish_consume_ack(queue: Queue, ns: str):
    stream = f"{ns}accruals"
    await queue.ensure_group(stream, "workers")
    await queue.ensure_group(stream, "workers")  # idempotent
    first = await queue.publish(stream, {"partner": "LH", "name": "Müller"})
    second = await queue.publish(stream, {"partner": "OS"})

    messages = await queue.consume(stream, "workers", "w1", count=10, block_ms=100)

    assert [m.message_id for m in messages] == [first, second]
    assert messages[0].fields == {"partner": "LH", "name": "Müller"}
    assert messages[0].stream == stream
    assert all(m.deliveries == 1 for m in messages)
    assert await queue.pending_count(stream, "workers") == 2
    assert await queue.ack(stream, "workers", [first, second]) == 2
    assert await queue.ack(stream, "workers", [first]) == 0
    assert await queue.ack(stream, "workers", []) == 0
    assert await queue.pending_count(stream, "workers") == 0
    assert await queue.consume(stream, "workers", "w1", block_ms=0) == []


async def test_concurrent_publishes_keep_their_order_and_each_its_id(queue: Queue, ns: str):
    # given: many publishers at once (the Redis queue sends them in one pipelined round trip)
    streams = [f"{ns}p0", f"{ns}p1"]
    for stream in streams:
        await queue.ensure_group(stream, "workers")

    # when
    ids = await asyncio.gather(*(queue.publish(streams[n % 2], {"n": str(n)}) for n in range(40)))

    # then: every message is there once, in the order published, under the id its publisher got
    for parity, stream in enumerate(streams):
        messages = await queue.consume(stream, "workers", "w1", count=100, block_ms=100)
        assert [m.fields["n"] for m in messages] == [str(n) for n in range(parity, 40, 2)]
        assert [m.message_id for m in messages] == [ids[n] for n in range(parity, 40, 2)]


@pytest.mark.redis
async def test_redis_publishes_of_one_turn_of_the_loop_share_one_pipeline(ns: str):
    client = redis_client(REDIS_URL)
    queue = RedisQueue(client)
    pipelines = 0
    original = client.pipeline

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal pipelines
        pipelines += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        require_service("Redis", exc)
    client.pipeline = counted  # type: ignore[method-assign,assignment]
    try:
        await asyncio.gather(*(queue.publish(f"{ns}s", {"n": str(n)}) for n in range(25)))
        assert pipelines == 1
        assert await client.xlen(f"{ns}s") == 25
    finally:
        await client.aclose()
        await clear_redis(REDIS_URL, ns)


async def test_consume_respects_count_and_creates_a_missing_group(queue: Queue, ns: str):
    stream = f"{ns}s"
    ids = [await queue.publish(stream, {"n": str(n)}) for n in range(5)]

    batch = await queue.consume(stream, "late-group", "w1", count=2, block_ms=0)
    rest = await queue.consume(stream, "late-group", "w1", count=10, block_ms=0)

    assert [m.message_id for m in batch + rest] == ids  # a new group starts at the stream's beginning
    assert len(batch) == 2


async def test_unacked_message_is_claimed_by_another_consumer(queue: Queue, ns: str):
    stream = f"{ns}s"
    await queue.ensure_group(stream, "g")
    message_id = await queue.publish(stream, {"k": "v"})
    [taken] = await queue.consume(stream, "g", "dies", block_ms=100)

    assert await queue.pending_count(stream, "g") == 1
    assert await queue.claim_stale(stream, "g", "rescuer", min_idle_ms=200) == []  # not idle long enough
    await asyncio.sleep(0.3)  # deliberate: the message's idle time (Redis's clock) passes 200 ms
    [claimed] = await queue.claim_stale(stream, "g", "rescuer", min_idle_ms=200)

    assert claimed.message_id == taken.message_id == message_id
    assert claimed.fields == {"k": "v"}
    assert claimed.deliveries == 2
    assert await queue.pending_count(stream, "g") == 1
    assert await queue.claim_stale(stream, "g", "third", min_idle_ms=200) == []  # claiming resets idle
    assert await queue.ack(stream, "g", [claimed.message_id]) == 1
    assert await queue.pending_count(stream, "g") == 0
    assert await queue.claim_stale(stream, "g", "rescuer", min_idle_ms=0) == []


async def test_claim_stale_counts_every_delivery_and_respects_count(queue: Queue, ns: str):
    stream = f"{ns}s"
    for n in range(3):
        await queue.publish(stream, {"n": str(n)})
    await queue.consume(stream, "g", "a", block_ms=0)

    first = await queue.claim_stale(stream, "g", "b", min_idle_ms=0, count=2)
    again = await queue.claim_stale(stream, "g", "c", min_idle_ms=0, count=10)

    assert [m.fields["n"] for m in first] == ["0", "1"]
    assert [m.deliveries for m in first] == [2, 2]
    assert [(m.fields["n"], m.deliveries) for m in again] == [("0", 3), ("1", 3), ("2", 2)]


async def test_unknown_group_has_nothing_pending(queue: Queue, ns: str):
    assert await queue.pending_count(f"{ns}nowhere", "g") == 0
    assert await queue.claim_stale(f"{ns}nowhere", "g", "c", min_idle_ms=0) == []
    assert await queue.ack(f"{ns}nowhere", "g", ["1-0"]) == 0


async def test_consumers_of_one_group_never_share_a_message(queue: Queue, ns: str):
    stream = f"{ns}s"
    await queue.ensure_group(stream, "g")
    sequential = [await queue.publish(stream, {"n": str(n)}) for n in range(20)]
    one = await queue.consume(stream, "g", "c1", count=7, block_ms=0)
    two = await queue.consume(stream, "g", "c2", count=100, block_ms=0)
    assert {m.message_id for m in one}.isdisjoint(m.message_id for m in two)
    assert sorted(m.message_id for m in one + two) == sorted(sequential)

    seen: dict[str, list[str]] = {"c1": [], "c2": [], "c3": []}

    async def worker(name: str) -> None:
        while sum(len(ids) for ids in seen.values()) < 30:
            batch = await queue.consume(stream, "g", name, count=3, block_ms=200)
            seen[name].extend(m.message_id for m in batch)

    workers = asyncio.gather(*(worker(name) for name in seen))
    concurrent = [await queue.publish(stream, {"n": str(n)}) for n in range(30)]
    async with asyncio.timeout(deadline_s(10)):
        await workers
    delivered = [message_id for ids in seen.values() for message_id in ids]
    assert sorted(delivered) == sorted(concurrent)  # every message exactly once


async def test_each_group_gets_every_message(queue: Queue, ns: str):
    stream = f"{ns}s"
    await queue.ensure_group(stream, "ledger")
    await queue.ensure_group(stream, "audit")
    ids = [await queue.publish(stream, {"n": str(n)}) for n in range(3)]

    ledger = await queue.consume(stream, "ledger", "w", block_ms=0)
    audit = await queue.consume(stream, "audit", "w", block_ms=0)

    assert [m.message_id for m in ledger] == ids
    assert [m.message_id for m in audit] == ids
    await queue.ack(stream, "ledger", ids)
    assert await queue.pending_count(stream, "audit") == 3


async def test_consume_blocks_until_timeout(queue: Queue, ns: str):
    stream = f"{ns}s"
    await queue.ensure_group(stream, "g")
    started = time.monotonic()
    assert await queue.consume(stream, "g", "w", block_ms=300) == []
    assert 0.25 <= time.monotonic() - started < deadline_s(2)


async def test_consume_wakes_up_on_publish(queue: Queue, ns: str):
    stream = f"{ns}s"
    await queue.ensure_group(stream, "g")
    waiting = asyncio.create_task(queue.consume(stream, "g", "w", block_ms=5_000))
    # Lets the reader reach its blocking read; publishing earlier would still pass, proving less. The
    # queue offers no signal that a reader is blocked, so this one stays a short fixed pause.
    await asyncio.sleep(0.2)
    assert not waiting.done()
    started = time.monotonic()
    message_id = await queue.publish(stream, {"k": "v"})
    async with asyncio.timeout(deadline_s(2)):
        messages = await waiting
    assert [m.message_id for m in messages] == [message_id]
    assert time.monotonic() - started < deadline_s(1)  # woken by the publish, not by the 5 s timeout


@pytest.mark.redis
async def test_redis_blocking_read_longer_than_one_round(ns: str):
    """A wait longer than ``max_block_ms`` is several XREADGROUP rounds, never one socket timeout."""
    client = redis_client(REDIS_URL, socket_timeout=1.0)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        require_service("Redis", exc)
    queue = RedisQueue(client, max_block_ms=100)
    stream = f"{ns}s"
    try:
        started = time.monotonic()
        assert await queue.consume(stream, "g", "w", block_ms=1_300) == []
        assert 1.25 <= time.monotonic() - started < deadline_s(2)
        waiting = asyncio.create_task(queue.consume(stream, "g", "w", block_ms=3_000))
        await asyncio.sleep(0.35)  # deliberate: publish only after more than one 100 ms read round
        message_id = await queue.publish(stream, {"k": "v"})
        assert [m.message_id for m in await waiting] == [message_id]
    finally:
        await client.aclose()
        await clear_redis(REDIS_URL, ns)


# --- pub/sub ---------------------------------------------------------------------------------------


async def _next(subscription: Subscription, timeout_s: float = 2.0) -> bytes:
    async with asyncio.timeout(deadline_s(timeout_s)):
        return await anext(aiter(subscription))


async def test_a_lease_has_one_holder_until_released_or_expired(queue: Queue, ns: str):
    name = f"{ns}:lease"
    # one holder at a time; the holder may extend it
    assert await queue.acquire_lease(name, "a", ttl_ms=60_000)
    assert not await queue.acquire_lease(name, "b", ttl_ms=60_000)
    assert await queue.acquire_lease(name, "a", ttl_ms=60_000)
    # only the holder's release counts
    await queue.release_lease(name, "b")
    assert not await queue.acquire_lease(name, "b", ttl_ms=60_000)
    await queue.release_lease(name, "a")
    assert await queue.acquire_lease(name, "b", ttl_ms=150)
    # a holder that vanished loses it when it runs out (deliberate: the 150 ms TTL passes on Redis's clock)
    await asyncio.sleep(0.3)
    assert await queue.acquire_lease(name, "c", ttl_ms=60_000)


async def test_pubsub_reaches_every_subscriber(pubsub: PubSub, ns: str):
    one = await pubsub.subscribe(f"{ns}member")
    two = await pubsub.subscribe(f"{ns}member", f"{ns}other")
    try:
        assert await pubsub.publish(f"{ns}member", b"\x00status:gold\xff") == 2
        assert await _next(one) == b"\x00status:gold\xff"
        assert await _next(two) == b"\x00status:gold\xff"
        assert await pubsub.publish(f"{ns}other", b"second") == 1
        assert await _next(two) == b"second"
        assert await pubsub.publish(f"{ns}nobody", b"lost") == 0
    finally:
        await one.close()
        await two.close()


async def test_closed_subscription_gets_nothing(pubsub: PubSub, ns: str):
    closed = await pubsub.subscribe(f"{ns}c")
    open_ = await pubsub.subscribe(f"{ns}c")
    try:
        await closed.close()
        await closed.close()  # idempotent
        assert await pubsub.publish(f"{ns}c", b"after close") == 1
        assert await _next(open_) == b"after close"
        async with asyncio.timeout(deadline_s(2)):
            assert [payload async for payload in closed] == []
    finally:
        await open_.close()


async def test_close_ends_a_waiting_reader(pubsub: PubSub, ns: str):
    subscription = await pubsub.subscribe(f"{ns}c")
    reader = asyncio.create_task(_next(subscription, timeout_s=5))
    # Lets the reader start waiting; closing earlier would still pass, proving less (no signal to wait on).
    await asyncio.sleep(0.1)
    await subscription.close()
    with pytest.raises(StopAsyncIteration):
        async with asyncio.timeout(deadline_s(2)):
            await reader


# --- rate limiter ----------------------------------------------------------------------------------


async def test_rate_limiter_allows_exactly_limit_hits(limiter: RateLimiter, ns: str):
    key = f"{ns}ratelimit:{{acct:992001234}}:pin"
    decisions = [await limiter.hit(key, limit=3, window_s=60) for _ in range(3)]
    assert [(d.allowed, d.remaining, d.limit) for d in decisions] == [
        (True, 2, 3),
        (True, 1, 3),
        (True, 0, 3),
    ]
    assert all(d.retry_after_s == 0 for d in decisions)

    denied = await limiter.hit(key, limit=3, window_s=60)
    assert not denied.allowed
    assert denied.remaining == 0
    assert 0 < denied.retry_after_s <= 60
    assert (await limiter.hit(f"{ns}other", limit=3, window_s=60)).allowed  # keys are independent


async def test_rate_limiter_cost_and_reset(limiter: RateLimiter, ns: str):
    key = f"{ns}rl"
    assert (await limiter.hit(key, limit=5, window_s=60, cost=3)).remaining == 2
    assert not (await limiter.hit(key, limit=5, window_s=60, cost=3)).allowed
    assert not (await limiter.hit(key, limit=5, window_s=60)).allowed  # denied hits count too

    await limiter.reset(key)
    after_reset = await limiter.hit(key, limit=5, window_s=60, cost=5)
    assert after_reset.allowed
    assert after_reset.remaining == 0


async def test_rate_limiter_window_expires(limiter: RateLimiter, ns: str):
    key = f"{ns}rl"
    assert (await limiter.hit(key, limit=1, window_s=1)).allowed
    denied = await limiter.hit(key, limit=1, window_s=1)
    assert not denied.allowed
    assert 0 < denied.retry_after_s <= 1
    await asyncio.sleep(1.1)  # deliberate: the 1 s window expires (Redis's clock: nothing to fake)
    assert (await limiter.hit(key, limit=1, window_s=1)).allowed


# --- cache -----------------------------------------------------------------------------------------


async def test_cache_set_get_overwrite_delete(cache: Cache, ns: str):
    key = f"{ns}offer:1"
    assert await cache.get(key) is None
    await cache.set(key, b"\x00first")
    assert await cache.get(key) == b"\x00first"
    await cache.set(key, b"second")
    assert await cache.get(key) == b"second"
    await cache.delete(key)
    assert await cache.get(key) is None
    await cache.delete(key)  # deleting a missing key is fine


async def test_cache_ttl(cache: Cache, ns: str):
    await cache.set(f"{ns}short", b"v", ttl_s=0.2)
    await cache.set(f"{ns}made-permanent", b"v", ttl_s=0.2)
    await cache.set(f"{ns}made-permanent", b"w")  # a set without ttl_s drops the old expiry
    await cache.set(f"{ns}expired", b"v", ttl_s=0)
    assert await cache.get(f"{ns}short") == b"v"
    assert await cache.get(f"{ns}expired") is None
    await asyncio.sleep(0.3)  # deliberate: the 0.2 s TTL expires (Redis's clock: nothing to fake)
    assert await cache.get(f"{ns}short") is None
    assert await cache.get(f"{ns}made-permanent") == b"w"


async def test_memory_cache_evicts_least_recently_used():
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    assert await cache.get("a") == b"1"  # "b" is now the least recently used
    await cache.set("c", b"3")
    assert await cache.get("b") is None
    assert await cache.get("a") == b"1"
    assert await cache.get("c") == b"3"
    assert len(cache) == 2


async def test_publish_many_reaches_subscribers_in_order(pubsub: PubSub, ns: str):
    one = await pubsub.subscribe(f"{ns}a")
    both = await pubsub.subscribe(f"{ns}a", f"{ns}b")
    try:
        heard = await pubsub.publish_many(
            [(f"{ns}a", b"1"), (f"{ns}b", b"2"), (f"{ns}a", b"3"), (f"{ns}nobody", b"lost")]
        )
        assert heard == 5
        assert [await _next(one), await _next(one)] == [b"1", b"3"]
        # in order on each channel (on a Redis Cluster two channels may live on two shards)
        received = [await _next(both) for _ in range(3)]
        assert sorted(received) == [b"1", b"2", b"3"] and received.index(b"1") < received.index(b"3")
        assert await pubsub.publish_many([]) == 0
    finally:
        await one.close()
        await both.close()
