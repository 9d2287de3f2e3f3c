"""Outages without 500s, on PostgreSQL + Redis: Redis stopped and started again under the gateway and the
worker, and PostgreSQL cutting every connection of the test database during webhook load.

Redis here is a ``redis-server`` of the test's own on a free loopback port (``OwnRedis``), so it can be
stopped and started; the machine's shared Redis and PostgreSQL are never stopped.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from pydantic import SecretStr
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.settings import Settings
from loyalty.ledger.models import Posting
from partners.service import NewPartner
from tests.factories import enrolled_member, make_partner
from tests.gateway.test_db_recovery import drop_connections
from tests.support import (
    PRODUCTION_MAIL_ENV,
    REDIS_CLUSTER,
    REDIS_PREFIX,
    STACK,
    deadline_s,
    free_port,
    require_service,
    signed_delivery,
    wait_for,
    wait_for_sync,
)
from webhooks.models import InboxState, PartnerInbox

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(STACK != "production", reason="outages of PostgreSQL and Redis: the production stack"),
    pytest.mark.skipif(REDIS_CLUSTER, reason="stops a single redis-server of its own: not a cluster test"),
]
ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "metrics-" + "o" * 40
REWARDS = "{ rewards { code miles } }"
ME = "{ me { accountNumber balances { awardMiles } } }"
NOTICES = '{ securityNotices(language: "de") { title } }'  # public, read from the database
WORKER_START_S = 60.0


class OwnRedis:
    """A ``redis-server`` of this test's own on 127.0.0.1 (no persistence), to stop and start at will."""

    def __init__(self, data_dir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            require_service("redis-server", FileNotFoundError("redis-server is not installed"))
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.data_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_sync(self._answers, timeout_s=10, interval_s=0.05, what="the test's redis-server starts")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"redis-server on port {self.port} exited with {self.process.returncode}")
        client = SyncRedis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except (RedisError, OSError):
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=deadline_s(10))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = OwnRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def outage_settings(postgres_settings: Settings, own_redis: OwnRedis) -> Settings:
    """PostgreSQL and the test's own Redis; the guard tries Redis again every 0.2 s."""
    return postgres_settings.model_copy(
        update={
            "redis_url": SecretStr(own_redis.url),
            "redis_prefix": REDIS_PREFIX,
            "redis_retry_s": 0.2,
            "metrics_token": SecretStr(METRICS_TOKEN),
            "run_worker_in_process": False,
        }
    )


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[AsyncClient]:
    """An app on ``settings``, started, and a client of it."""
    from gateway.app import create_app

    application = create_app(settings)
    async with (
        LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        yield http


@pytest.fixture
async def gateway(outage_settings: Settings) -> AsyncIterator[AsyncClient]:
    async with started(outage_settings) as http:
        yield http


async def fallbacks(http: AsyncClient, use: str) -> float:
    text = (await http.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})).text
    found = re.search(rf'^milesgate_redis_fallbacks_total\{{use="{use}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def ip_count(redis_url: str, ip: str) -> int:
    client = Redis.from_url(redis_url)
    try:
        value = await client.get(f"{REDIS_PREFIX}ratelimit:{{ip:{ip}}}:graphql")
    finally:
        await client.aclose()
    return int(value or 0)


async def answered(http: AsyncClient, query: str, token: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


def accrual(card_number: str, transaction_id: str) -> dict[str, Any]:
    return {
        "type": "accrual.created",
        "data": {
            "member": {"serviceCardNumber": card_number},
            "transactionId": transaction_id,
            "activityDate": "2026-03-01",
            "miles": 100,
        },
    }


async def deliver(http: AsyncClient, partner: NewPartner, event: dict[str, Any]) -> tuple[int, str]:
    webhook_id = f"msg_{uuid.uuid4().hex}"
    body, headers = signed_delivery(partner.signing_secret, event, webhook_id=webhook_id)
    response = await http.post(f"/webhooks/partners/{partner.code}", content=body, headers=headers)
    return response.status_code, webhook_id


async def test_graphql_answers_while_redis_is_down_and_its_limits_come_back_with_it(
    gateway: AsyncClient, own_redis: OwnRedis
) -> None:
    # given: a signed-in member, and requests counted in Redis
    member = await enrolled_member(gateway)
    token = member["accessToken"]
    await answered(gateway, REWARDS)
    counted = await ip_count(own_redis.url, "127.0.0.1")
    assert counted >= 2
    assert await fallbacks(gateway, "rate_limit") == 0

    # when: Redis stops
    own_redis.stop()

    # then: a public and a signed-in query still answer with data, counted in-process
    rewards = await answered(gateway, REWARDS)
    assert rewards["data"]["rewards"]
    me = await answered(gateway, ME, token)
    assert me["data"]["me"]["accountNumber"] == member["accountNumber"]
    during = await fallbacks(gateway, "rate_limit")
    assert during >= 2
    assert await fallbacks(gateway, "cache") >= 1  # the session check read the database instead

    # when: Redis is back (empty: no persistence)
    own_redis.start()

    # then: the limits are counted in Redis again, and nothing more falls back
    async def counted_in_redis() -> bool:
        await answered(gateway, REWARDS)
        return await ip_count(own_redis.url, "127.0.0.1") >= 1

    await wait_for(counted_in_redis, timeout_s=10, interval_s=0.1, what="rate limits counted in Redis again")
    settled = await fallbacks(gateway, "rate_limit")
    before = await ip_count(own_redis.url, "127.0.0.1")
    await answered(gateway, ME, token)
    assert await ip_count(own_redis.url, "127.0.0.1") == before + 1
    assert await fallbacks(gateway, "rate_limit") == settled


async def test_in_process_limits_hold_while_redis_is_down(
    outage_settings: Settings, own_redis: OwnRedis
) -> None:
    async with started(outage_settings.model_copy(update={"rate_limit_per_ip": 3})) as http:
        own_redis.stop()
        statuses = [(await http.post("/graphql", json={"query": REWARDS})).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


async def test_readyz_names_redis_down_and_back(gateway: AsyncClient, own_redis: OwnRedis) -> None:
    ready = await gateway.get("/readyz")
    assert (ready.status_code, ready.json()["checks"]) == (200, {"database": "ok", "redis": "ok"})

    own_redis.stop()
    down = await gateway.get("/readyz")
    assert down.status_code == 503
    assert down.json() == {"ready": False, "checks": {"database": "ok", "redis": "unreachable"}}

    own_redis.start()
    back = await gateway.get("/readyz")
    assert (back.status_code, back.json()["checks"]["redis"]) == (200, "ok")


async def test_serve_warns_at_start_when_redis_is_unreachable(
    outage_settings: Settings, own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    own_redis.stop()
    with caplog.at_level("WARNING", logger="gateway.backends.outage"):
        async with started(outage_settings) as http:
            assert (await http.post("/graphql", json={"query": REWARDS})).status_code == 200
    lines = [record.getMessage() for record in caplog.records if record.name == "gateway.backends.outage"]
    assert len(lines) == 1, lines  # one line for the change of state, not one per request
    assert lines[0].startswith("Redis unreachable at start")


def start_worker(settings: Settings, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MILESGATE_ENV": "production",
        "MILESGATE_DATABASE_URL": settings.resolved_database_url,
        "MILESGATE_REDIS_URL": redis_url,
        "MILESGATE_REDIS_PREFIX": REDIS_PREFIX,
        "MILESGATE_REDIS_RETRY_S": "0.2",
        "MILESGATE_REDIS_BACKOFF_MAX_S": "1",
        "MILESGATE_SECRET_KEY": settings.resolved_secret_key(),
        "MILESGATE_DATA_DIR": str(settings.data_dir),
        "MILESGATE_LOG_LEVEL": "WARNING",
        "MILESGATE_INBOX_SWEEP_EVERY_S": "1",
        "MILESGATE_INBOX_SWEEP_OLDER_THAN_S": "0",
        **PRODUCTION_MAIL_ENV,
    }
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "worker", "--name", "outage"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )


async def _processed(count: int) -> bool:
    return await PartnerInbox.filter(state=InboxState.PROCESSED).count() >= count


async def test_webhooks_are_stored_while_redis_is_down_and_a_worker_applies_them_once_it_is_back(
    gateway: AsyncClient, outage_settings: Settings, own_redis: OwnRedis, tmp_path: Path
) -> None:
    worker_log = tmp_path / "worker.log"
    worker = start_worker(outage_settings, own_redis.url, worker_log)
    try:
        partner = await make_partner("swiss")
        card = (await enrolled_member(gateway))["serviceCardNumber"]

        def alive() -> bool:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited with {worker.returncode}: {worker_log.read_text()[-3000:]}")
            return True

        # given: a worker that applies deliveries
        assert (await deliver(gateway, partner, accrual(card, "T-before")))[0] == 202
        await wait_for(
            lambda: alive() and _processed(1), timeout_s=WORKER_START_S, interval_s=0.1, what="worker works"
        )

        # when: Redis stops, deliveries keep coming
        own_redis.stop()
        during = [await deliver(gateway, partner, accrual(card, f"T-down-{n}")) for n in range(5)]

        # then: each is stored and answered 202; none is applied yet, and the worker lives on
        assert [status for status, _ in during] == [202] * 5
        stored = set(await PartnerInbox.all().values_list("webhook_id", flat=True))
        assert {webhook_id for _, webhook_id in during} <= stored
        assert await PartnerInbox.filter(state=InboxState.PENDING).count() == 5
        # and the worker has seen Redis go (on a loaded machine its client's own short retries could
        # otherwise span the whole outage, and there would be no change of state to log)
        await wait_for(
            lambda: alive() and "Redis unreachable" in worker_log.read_text(),
            timeout_s=WORKER_START_S,
            interval_s=0.1,
            what="the worker notices Redis is gone",
        )

        # when: Redis is back (empty)
        own_redis.start()

        # then: the worker reconnects, its sweep queues the stored rows again, each is credited once
        await wait_for(
            lambda: alive() and _processed(6), timeout_s=60, interval_s=0.2, what="the worker catches up"
        )
        assert await Posting.filter(source="PARTNER_ACCRUAL").count() == 6
        assert alive()
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=deadline_s(20))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    assert worker.returncode == 0, worker_log.read_text()[-3000:]
    # one line for each change of state, no traceback
    text = worker_log.read_text()
    assert text.count("Redis unreachable") == 1, text[-3000:]
    assert text.count("Redis reachable again") == 1, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


async def set_connections_allowed(url: str, allowed: bool) -> None:
    """Let nobody (superusers included) open a connection to the test database, or let them again."""
    database = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(
        url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    )
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
    finally:
        await admin.close()


async def test_graphql_answers_503_service_unavailable_while_the_database_is_unreachable(
    outage_settings: Settings,
) -> None:
    settings = outage_settings.model_copy(update={"session_check_local_ttl_ms": 0})
    url = settings.resolved_database_url
    async with started(settings) as http:
        member = await enrolled_member(http)
        token = member["accessToken"]
        await answered(http, ME, token)

        # when: PostgreSQL cuts every connection and accepts no new one
        await set_connections_allowed(url, False)
        try:
            assert await drop_connections(url) >= 1
            await asyncio.sleep(0.2)  # (the ORM's pool is only told of the cut by its sockets)
            public = await http.post("/graphql", json={"query": NOTICES})
            signed_in = await http.post(
                "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"}
            )
            ready = await http.get("/readyz")
        finally:
            await set_connections_allowed(url, True)

        # then: GraphQL-shaped SERVICE_UNAVAILABLE with Retry-After, not a 500; readiness names the database
        for response in (public, signed_in):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == str(settings.unavailable_retry_after_s)
            codes = [error["extensions"]["code"] for error in response.json()["errors"]]
            assert codes == ["SERVICE_UNAVAILABLE"], response.json()
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "unreachable", "redis": "ok"}

        # when: it accepts connections again, the pool reconnects by itself
        assert (await answered(http, ME, token))["data"]["me"]["accountNumber"] == member["accountNumber"]


async def test_webhook_load_while_postgresql_cuts_every_connection_loses_nothing_acknowledged(
    outage_settings: Settings,
) -> None:
    settings = outage_settings.model_copy(update={"db_pool_max": 4})
    async with started(settings) as http:
        partner = await make_partner("swiss")
        card = (await enrolled_member(http))["serviceCardNumber"]
        statuses: list[int] = []
        acknowledged: set[str] = set()
        cuts = 0

        async def sender(n: int) -> None:
            for i in range(25):
                webhook_id = f"msg_{uuid.uuid4().hex}"
                body, headers = signed_delivery(
                    partner.signing_secret, accrual(card, f"L-{n}-{i}"), webhook_id=webhook_id
                )
                response = await http.post(
                    f"/webhooks/partners/{partner.code}", content=body, headers=headers
                )
                statuses.append(response.status_code)
                if response.status_code in (200, 202):
                    acknowledged.add(webhook_id)
                elif response.status_code == 503:
                    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
                    assert response.headers["retry-after"] == str(settings.unavailable_retry_after_s)

        async def cutter() -> None:
            nonlocal cuts
            while len(statuses) < 180:
                if len(statuses) >= 20 * (cuts + 1):
                    cuts += 1
                    await drop_connections(settings.resolved_database_url)
                await asyncio.sleep(0.01)

        # when: 8 partners send 25 deliveries each while every connection is cut, again and again
        await asyncio.gather(cutter(), *(sender(n) for n in range(8)))

        # then: no 500; what could not be stored was refused 503 with Retry-After; every 2xx is stored
        assert cuts >= 3
        assert set(statuses) <= {202, 503}, sorted(set(statuses))
        stored = set(await PartnerInbox.all().values_list("webhook_id", flat=True))
        assert acknowledged <= stored
        assert len(acknowledged) >= 100
        print(f"statuses: {sorted(Counter(statuses).items())}, cuts: {cuts}")
        assert (await http.get("/readyz")).status_code == 200


async def test_a_worker_started_without_redis_waits_for_it(
    gateway: AsyncClient, outage_settings: Settings, own_redis: OwnRedis, tmp_path: Path
) -> None:
    # given: Redis down when the worker starts, and a delivery stored meanwhile
    own_redis.stop()
    worker_log = tmp_path / "worker.log"
    worker = start_worker(outage_settings, own_redis.url, worker_log)
    try:
        partner = await make_partner("swiss")
        card = (await enrolled_member(gateway))["serviceCardNumber"]
        assert (await deliver(gateway, partner, accrual(card, "T-early")))[0] == 202

        def said(text: str) -> bool:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited with {worker.returncode}: {worker_log.read_text()[-3000:]}")
            return text in worker_log.read_text()

        await wait_for(
            lambda: said("Redis unreachable at start"), timeout_s=WORKER_START_S, what="the worker says so"
        )

        # when: Redis starts
        own_redis.start()

        # then: the worker connects and applies the delivery
        await wait_for(lambda: said("") and _processed(1), timeout_s=60, interval_s=0.2, what="applied")
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=deadline_s(20))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    assert worker.returncode == 0, worker_log.read_text()[-3000:]
    text = worker_log.read_text()
    assert (text.count("Redis unreachable"), text.count("Redis reachable again")) == (1, 1), text[-3000:]
    assert "Traceback" not in text, text[-3000:]
