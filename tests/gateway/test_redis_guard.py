"""The Redis guard (``gateway/backends/outage.py``) and the outage test (``gateway/outages.py``), against a
Redis that is not there: a client pointed at a loopback port nothing listens on. No service needed, so
these run on both stacks; stopping and starting a real Redis is ``test_outages.py``'s (production stack)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from pydantic import SecretStr

from gateway.backends import BackendSet, RedisUnavailable, open_backends
from gateway.backends.outage import RedisGuard
from gateway.outages import is_unavailable
from gateway.settings import Settings
from loyalty.ports import BackendUnavailable
from tests.factories import enrolled_member, gql
from tests.support import deadline_s, free_port

GUARD_LOG = "gateway.backends.outage"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def guard_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == GUARD_LOG]


def test_the_guard_logs_each_change_of_state_once_and_waits_between_tries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    guard = RedisGuard(retry_s=2.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger=GUARD_LOG):
        assert guard.may_try()
        for _ in range(5):
            guard.lost(ConnectionRefusedError(111, "refused"))
        assert not guard.reachable
        assert not guard.may_try()
        clock.now += 2.0
        assert guard.may_try()  # one try after the wait ...
        assert not guard.may_try()  # ... and the others wait for its outcome
        guard.back()
        guard.back()
        assert guard.reachable and guard.may_try()
    lines = guard_lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith("Redis unreachable (ConnectionRefusedError")
    assert lines[1].startswith("Redis reachable again after 2.0 s")


@pytest.fixture(params=[False, True], ids=["redis", "redis-cluster"])
async def unreachable(request: pytest.FixtureRequest) -> AsyncIterator[tuple[BackendSet, Counter[str]]]:
    """Backends on a Redis, or a Redis Cluster (whose client cannot learn the slots), that is not there."""
    fallbacks: Counter[str] = Counter()
    backends = await open_backends(
        f"redis://127.0.0.1:{free_port()}/0",
        cluster=request.param,
        retry_s=60,
        on_fallback=lambda use: fallbacks.update([use]),
    )
    try:
        yield backends, fallbacks
    finally:
        await backends.close()


async def test_without_redis_every_port_does_without_it(
    unreachable: tuple[BackendSet, Counter[str]], caplog: pytest.LogCaptureFixture
) -> None:
    backends, fallbacks = unreachable
    ports = backends.ports
    with caplog.at_level(logging.WARNING, logger=GUARD_LOG):
        # the rate limiter counts in-process, and still refuses past the limit
        decisions = [await ports.rate_limiter.hit("k", limit=2, window_s=60) for _ in range(3)]
        assert [decision.allowed for decision in decisions] == [True, True, False]
        # the cache misses and stores nothing, without an error
        await ports.cache.set("c", b"v", ttl_s=5)
        assert await ports.cache.get("c") is None
        await ports.cache.delete("c")
        # a published message reaches nobody; a subscription is refused
        assert await ports.pubsub.publish("channel", b"x") == 0
        with pytest.raises(BackendUnavailable):
            await ports.pubsub.subscribe("channel")
        # the queue says so, as a BackendUnavailable and as redis-py's ConnectionError alike
        with pytest.raises(RedisUnavailable):
            await ports.queue.publish("stream", {"inbox_id": "1"})
        assert not await backends.reachable()
    assert fallbacks == {"rate_limit": 3, "cache": 3, "pubsub": 2, "queue": 1}
    assert len(guard_lines(caplog)) == 1, guard_lines(caplog)  # one line, whatever the number of requests


async def test_graphql_answers_without_redis(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    from gateway.app import create_app

    down = settings.model_copy(update={"redis_url": SecretStr(f"redis://127.0.0.1:{free_port()}/0")})
    app = create_app(down)
    with caplog.at_level(logging.WARNING, logger=GUARD_LOG):
        async with (
            LifespanManager(app, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client,
        ):
            rewards = await client.post("/graphql", json={"query": "{ rewards { code } }"})
            assert rewards.status_code == 200 and rewards.json()["data"]["rewards"], rewards.text
            member = await enrolled_member(client)
            me = await gql(client, "{ me { accountNumber } }", token=member["accessToken"])
            assert me == {"data": {"me": {"accountNumber": member["accountNumber"]}}}
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "unreachable"
    lines = guard_lines(caplog)
    assert len(lines) == 1 and lines[0].startswith("Redis unreachable at start"), lines


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (RedisUnavailable("away"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.exceptions.QueryCanceledError("statement timeout"), False),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (PermissionError(13, "denied"), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_counts_as_an_outage(error: BaseException, outage: bool) -> None:
    assert is_unavailable(error) is outage


def test_an_outage_behind_another_error_counts() -> None:
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = ConnectionResetError(104, "reset")
    assert is_unavailable(wrapped)
