"""On Redis Cluster: what belongs together shares a slot, the partitions spread over the masters, and
pub/sub is sharded. Runs in .ci/run's Redis Cluster part (``MILESGATE_TEST_REDIS_CLUSTER=1``), where
``tests/conftest.py`` started a cluster of three masters; the port contract itself
(``tests/gateway/test_backends.py``) runs there too."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import RedisCluster

from gateway.backends import BackendSet, open_backends
from gateway.rate_limits import member_key
from loyalty.ledger.events import balance_channel
from tests.support import REDIS_CLUSTER, REDIS_URL, clear_redis, deadline_s
from webhooks.worker import LEASE_PREFIX, inbox_stream

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not REDIS_CLUSTER, reason="needs the Redis Cluster part (MILESGATE_TEST_REDIS_CLUSTER=1)"
    ),
]
PARTITIONS = 8


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
def ns() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
async def cluster(ns: str) -> AsyncIterator[tuple[BackendSet, RedisCluster]]:
    backends = await open_backends(REDIS_URL, cluster=True, prefix=ns)
    client = await RedisCluster.from_url(REDIS_URL).initialize()  # learns the slots
    try:
        yield backends, client
    finally:
        await backends.close()
        await client.aclose()
        await clear_redis(REDIS_URL, ns)


async def test_three_masters_serve_every_slot(cluster: tuple[BackendSet, RedisCluster]) -> None:
    _, client = cluster
    info = await client.cluster_info()
    assert info["cluster_state"] == "ok" and int(info["cluster_slots_assigned"]) == 16384
    assert len(client.get_primaries()) == 3


async def test_a_partition_s_stream_and_lease_share_a_slot_and_partitions_spread(
    cluster: tuple[BackendSet, RedisCluster], ns: str
) -> None:
    backends, client = cluster
    slots = []
    for partition in range(PARTITIONS):
        stream = ns + inbox_stream(partition)
        lease = ns + f"{LEASE_PREFIX}:{{p{partition}}}"
        assert client.keyslot(stream) == client.keyslot(lease)
        slots.append(client.keyslot(stream))
    owners = {client.nodes_manager.get_node_from_slot(slot).name for slot in slots}
    assert len(owners) >= 2, owners  # the inbox's partitions are worked on by more than one master

    # the queue works on each partition's own node: publish, read, claim, lease, ack
    queue = backends.ports.queue
    for partition in range(PARTITIONS):
        stream = inbox_stream(partition)
        await queue.ensure_group(stream, "inbox")
        sent = await queue.publish(stream, {"inbox_id": str(partition)})
        assert await queue.acquire_lease(f"{LEASE_PREFIX}:{{p{partition}}}", "w1", ttl_ms=5_000)
        [message] = await queue.consume(stream, "inbox", "w1", block_ms=0)
        assert (message.message_id, message.fields) == (sent, {"inbox_id": str(partition)})
        assert [m.message_id for m in await queue.claim_stale(stream, "inbox", "w2", min_idle_ms=0)] == [sent]
        assert await queue.ack(stream, "inbox", [sent]) == 1


async def test_a_member_s_keys_and_channel_share_the_member_s_slot(
    cluster: tuple[BackendSet, RedisCluster],
) -> None:
    _, client = cluster
    account_id = 992001234
    channel_slot = client.keyslot(balance_channel(account_id))
    assert client.keyslot(member_key(account_id, "sign_in")) == channel_slot


async def test_live_updates_go_through_sharded_channels(
    cluster: tuple[BackendSet, RedisCluster], ns: str
) -> None:
    backends, client = cluster
    channels = [balance_channel(account_id) for account_id in (1001, 2002, 3003, 4004)]
    subscription = await backends.ports.pubsub.subscribe(*channels)
    try:
        for channel in channels:
            owner = client.get_node_from_key(ns + channel)
            # a shard channel, counted by the node that owns its slot; no classic subscriber anywhere
            sharded = await client.pubsub_shardnumsub(ns + channel, target_nodes=owner)
            assert [(_text(name), int(count)) for name, count in sharded] == [(ns + channel, 1)]
            classic = await client.pubsub_numsub(ns + channel, target_nodes=owner)
            assert [(_text(name), int(count)) for name, count in classic] == [(ns + channel, 0)]
        for n, channel in enumerate(channels):
            assert await backends.ports.pubsub.publish(channel, f"balance {n}".encode()) == 1
        async with asyncio.timeout(deadline_s(5)):
            received = [await anext(aiter(subscription)) for _ in channels]
        assert sorted(received) == [f"balance {n}".encode() for n in range(len(channels))]
    finally:
        await subscription.close()
    assert await backends.ports.pubsub.publish(channels[0], b"after close") == 0


async def test_rate_limits_and_the_cache_work_on_the_cluster(
    cluster: tuple[BackendSet, RedisCluster],
) -> None:
    backends, _ = cluster
    keys = [member_key(account_id, "sign_in") for account_id in range(1000, 1012)]
    for key in keys:  # a dozen members' windows, on whichever master owns each
        decisions = [await backends.ports.rate_limiter.hit(key, limit=2, window_s=60) for _ in range(3)]
        assert [decision.allowed for decision in decisions] == [True, True, False]
        await backends.ports.cache.set(key + ":cached", b"v", ttl_s=60)
        assert await backends.ports.cache.get(key + ":cached") == b"v"
