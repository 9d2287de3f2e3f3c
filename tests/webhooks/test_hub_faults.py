"""The partner hub on PostgreSQL + Redis when things break: a worker killed with SIGKILL mid-stream,
Redis flushed while deliveries wait in it, and two workers sharing the partitioned stream without
reordering one member's deliveries. Every test is bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx2 import ASGITransport, AsyncClient
from redis.asyncio import Redis

from gateway.backends import open_backends
from gateway.db import close_database, open_database
from gateway.settings import Settings
from loyalty.ledger.models import Currency, Posting
from loyalty.ledger.service import balances_of
from loyalty.ledger.verify import verify_ledger
from loyalty.members.service import EnrolledMember
from loyalty.rules import current_rules
from partners.service import NewPartner
from tests.factories import make_member, make_partner
from tests.support import APP_REDIS_URL, REDIS_PREFIX, clear_redis, require_service, signed_delivery
from webhooks.models import InboxState, PartnerInbox
from webhooks.worker import InboxPolicy, InboxWorker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def hub_settings(postgres_settings: Settings) -> Settings:
    """PostgreSQL and Redis, with no worker inside the gateway: workers are the test's to start and kill."""
    try:
        await clear_redis()
    except OSError as exc:
        require_service("Redis", exc)
    return postgres_settings.model_copy(
        update={"redis_url": APP_REDIS_URL, "redis_prefix": REDIS_PREFIX, "run_worker_in_process": False}
    )


@pytest.fixture
async def gateway(hub_settings: Settings) -> AsyncIterator[AsyncClient]:
    from gateway.app import create_app

    application = create_app(hub_settings)
    async with (
        LifespanManager(application, startup_timeout=30, shutdown_timeout=30),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        yield http


def accrual(member: EnrolledMember, transaction_id: str, miles: int = 100) -> dict[str, Any]:
    return {
        "type": "accrual.created",
        "data": {
            "member": {"serviceCardNumber": member.card.number},
            "transactionId": transaction_id,
            "activityDate": "2026-03-01",
            "miles": miles,
        },
    }


def reversal(member: EnrolledMember, transaction_id: str) -> dict[str, Any]:
    return {
        "type": "accrual.reversed",
        "data": {
            "member": {"serviceCardNumber": member.card.number},
            "transactionId": f"{transaction_id}-R",
            "originalTransactionId": transaction_id,
            "activityDate": "2026-03-02",
            "reason": "refund",
        },
    }


async def deliver(gateway: AsyncClient, partner: NewPartner, events: list[dict[str, Any]]) -> None:
    for event in events:
        body, headers = signed_delivery(partner.signing_secret, event, webhook_id=f"msg_{uuid.uuid4().hex}")
        response = await gateway.post(f"/webhooks/partners/{partner.code}", content=body, headers=headers)
        assert response.status_code == 202, response.text


async def pending() -> int:
    return await PartnerInbox.filter(state=InboxState.PENDING).count()


async def wait_until(condition: Any, *, timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await condition():
        if loop.time() > deadline:
            pytest.fail(f"{what}: not reached in {timeout_s} s")
        await asyncio.sleep(0.1)


def start_cli(settings: Settings, *args: str, **extra_env: str) -> subprocess.Popen[bytes]:
    """``milesgate ARGS`` in a process of its own, on the test's PostgreSQL and Redis."""
    env = {
        **os.environ,
        "MILESGATE_DATABASE_URL": settings.resolved_database_url,
        "MILESGATE_REDIS_URL": APP_REDIS_URL,
        "MILESGATE_REDIS_PREFIX": REDIS_PREFIX,
        "MILESGATE_SECRET_KEY": settings.resolved_secret_key(),
        "MILESGATE_DATA_DIR": str(settings.data_dir),
        "MILESGATE_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    env.pop("MILESGATE_ENV", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def start_worker(settings: Settings, name: str) -> subprocess.Popen[bytes]:
    return start_cli(settings, "worker", "--name", name)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def test_a_worker_killed_mid_stream_leaves_every_accrual_credited_exactly_once(
    gateway: AsyncClient, hub_settings: Settings
) -> None:
    # given: 20 members with 15 accruals each, stored and queued, no worker running yet
    partner = await make_partner("swiss")
    members = [await make_member(f"m{n}@example.com") for n in range(20)]
    events = [accrual(m, f"LX-{i}-{n}", miles=100 + n) for i, m in enumerate(members) for n in range(15)]
    await deliver(gateway, partner, events)
    total = len(events)

    # when: a worker starts, is killed with SIGKILL while it works, and another takes over
    first = start_worker(hub_settings, "doomed")
    try:
        await wait_until(
            lambda: _processed_at_least(total // 10), timeout_s=90, what="the first worker starts"
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert await pending() > 0, "the worker finished before it was killed: nothing was interrupted"
    finally:
        if first.poll() is None:
            first.kill()
    second = start_worker(hub_settings, "survivor")
    try:
        await wait_until(lambda: _none_pending(), timeout_s=120, what="the second worker drains the inbox")
    finally:
        stop(second)

    # then: every accrual is one posting, every balance is right, the ledger balances
    assert await PartnerInbox.filter(state=InboxState.PROCESSED).count() == total
    assert await Posting.filter(source="PARTNER_ACCRUAL").count() == total
    for member in members:
        assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == sum(
            100 + n for n in range(15)
        )
    assert (await verify_ledger()).clean


async def _processed_at_least(count: int) -> bool:
    return await PartnerInbox.filter(state=InboxState.PROCESSED).count() >= count


async def _none_pending() -> bool:
    return await pending() == 0


async def test_deliveries_queued_in_a_flushed_redis_are_all_credited(
    gateway: AsyncClient, hub_settings: Settings
) -> None:
    # given: 60 accruals stored and queued, then Redis loses everything
    partner = await make_partner("swiss")
    members = [await make_member(f"m{n}@example.com") for n in range(6)]
    events = [accrual(m, f"LX-{i}-{n}") for i, m in enumerate(members) for n in range(10)]
    await deliver(gateway, partner, events)
    client = Redis.from_url(APP_REDIS_URL)
    try:
        assert [key async for key in client.scan_iter(match=f"{REDIS_PREFIX}*")]
    finally:
        await client.aclose()
    await clear_redis()

    # when: a worker runs; its sweeper finds the rows still pending and queues them again
    backends = await open_backends(APP_REDIS_URL, prefix=REDIS_PREFIX)
    worker = InboxWorker(
        queue=backends.ports.queue, rules=current_rules(), consumer="after-flush", sweep_older_than_s=0
    )
    stop_event = asyncio.Event()
    task = asyncio.create_task(worker.run(stop=stop_event))
    try:
        await wait_until(_none_pending, timeout_s=60, what="the inbox drains after the flush")
    finally:
        stop_event.set()
        await asyncio.wait_for(task, timeout=10)
        await backends.close()

    # then
    assert await Posting.filter(source="PARTNER_ACCRUAL").count() == len(events)
    assert (await verify_ledger()).clean


async def test_two_workers_keep_each_member_s_deliveries_in_order(
    gateway: AsyncClient, hub_settings: Settings
) -> None:
    # given: for each of 16 members an accrual and, right behind it, its reversal (which fails if it
    # were applied first: the original would not be there yet)
    partner = await make_partner("swiss")
    members = [await make_member(f"m{n}@example.com") for n in range(16)]
    events: list[dict[str, Any]] = []
    for i, member in enumerate(members):
        for n in range(3):
            events += [accrual(member, f"LX-{i}-{n}"), reversal(member, f"LX-{i}-{n}")]
    await deliver(gateway, partner, events)

    # when: two workers share the partitioned stream
    backends = await open_backends(APP_REDIS_URL, prefix=REDIS_PREFIX)
    policy = InboxPolicy(partitions=hub_settings.inbox_partitions)
    workers = [
        InboxWorker(
            queue=backends.ports.queue, rules=current_rules(), consumer=f"w{n}", policy=policy, batch=1
        )
        for n in range(2)
    ]
    stop_event = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop=stop_event)) for w in workers]
    try:
        await wait_until(_none_pending, timeout_s=60, what="two workers drain the inbox")
    finally:
        stop_event.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
        await backends.close()

    # then: no reversal overtook its accrual, and everything nets out to zero
    failed = await PartnerInbox.filter(state__not=InboxState.PROCESSED).values_list("error_code", flat=True)
    assert failed == []
    for member in members:
        assert (await balances_of(account_id=member.member.id))[Currency.AWARD_MILES] == 0


async def test_with_redis_unreachable_deliveries_are_stored_and_credited_once_it_is_back(
    hub_settings: Settings,
) -> None:
    from gateway.app import create_app

    # given: a gateway whose Redis does not answer (nothing listens on its port)
    down = hub_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    application = create_app(down)
    async with (
        LifespanManager(application, startup_timeout=30, shutdown_timeout=30),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        partner = await make_partner("swiss")
        members = [await make_member(f"m{n}@example.com") for n in range(3)]
        # when: deliveries arrive
        await deliver(
            client, partner, [accrual(m, f"LX-{i}-{n}") for i, m in enumerate(members) for n in range(5)]
        )
        # then: each was stored before its 2xx, and readiness says Redis is down
        assert await PartnerInbox.filter(state=InboxState.PENDING).count() == 15
        assert (await client.get("/readyz")).status_code == 503

    # when: Redis is back and a worker runs
    await open_database(hub_settings)
    backends = await open_backends(APP_REDIS_URL, prefix=REDIS_PREFIX)
    worker = InboxWorker(
        queue=backends.ports.queue, rules=current_rules(), consumer="back", sweep_older_than_s=0
    )
    stop_event = asyncio.Event()
    task = asyncio.create_task(worker.run(stop=stop_event))
    try:
        try:
            await wait_until(_none_pending, timeout_s=60, what="the inbox drains once Redis is back")
        finally:
            stop_event.set()
            await asyncio.wait_for(task, timeout=10)
            await backends.close()

        # then: everything credited, once
        assert await Posting.filter(source="PARTNER_ACCRUAL").count() == 15
    finally:
        await close_database()


async def test_a_gateway_killed_mid_request_leaves_no_half_posting_and_no_lost_delivery(
    hub_settings: Settings,
) -> None:
    import socket

    import httpx2

    from gateway.db import close_database, open_database
    from loyalty.crediting import post
    from loyalty.ledger.models import PostingSource
    from loyalty.rewards.models import Redemption

    # given: members with miles and a partner, and a gateway process with no worker inside
    await open_database(hub_settings)
    try:
        partner = await make_partner("swiss")
        members = [await make_member(f"k{n}@example.com") for n in range(8)]
        for member in members:
            await post(
                account_id=member.member.id,
                amounts={Currency.AWARD_MILES: 30_000},
                source=PostingSource.ADJUSTMENT,
                idempotency_key=f"seed-{member.member.id}",
                activity_date=dt.date(2026, 3, 1),
                rule_version="test",
                rules=current_rules(),
            )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        gateway = start_cli(
            hub_settings,
            "serve",
            "--port",
            str(port),
            MILESGATE_RUN_WORKER_IN_PROCESS="false",
            MILESGATE_RATE_LIMIT_PER_IP="0",
            MILESGATE_RATE_LIMIT_PER_MEMBER="0",
            MILESGATE_RATE_LIMIT_SIGN_IN="0",
        )
        stored: set[str] = set()
        redeemed = 0
        try:
            async with httpx2.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10
            ) as http:
                await wait_until(lambda: _ready(http), timeout_s=60, what="the gateway starts")
                tokens = []
                for member in members:
                    signed_in = await http.post(
                        "/graphql",
                        json={
                            "query": "mutation S($n: String!) { signIn(input: {method: SERVICE_CARD_NUMBER, "
                            'identifier: $n, secret: "739152"}) { ... on SignedIn { accessToken } } }',
                            "variables": {"n": member.card.number},
                        },
                    )
                    tokens.append(signed_in.json()["data"]["signIn"]["accessToken"])

                async def one_delivery(n: int) -> None:
                    body, headers = signed_delivery(
                        partner.signing_secret, accrual(members[n % 8], f"K-{n}"), webhook_id=f"msg_kill_{n}"
                    )
                    response = await http.post("/webhooks/partners/swiss", content=body, headers=headers)
                    if response.status_code in (200, 202):
                        stored.add(f"msg_kill_{n}")

                async def one_redemption(n: int) -> None:
                    nonlocal redeemed
                    response = await http.post(
                        "/graphql",
                        json={
                            "query": 'mutation R($r: String!) { redeem(rewardCode: "SHOP-LUGGAGE-TAG", '
                            "requestId: $r) { __typename } }",
                            "variables": {"r": f"kill-{n}"},
                        },
                        headers={"authorization": f"Bearer {tokens[n % 8]}"},
                    )
                    if response.json()["data"]["redeem"]["__typename"] == "Redeemed":
                        redeemed += 1

                async def traffic(n: int) -> None:
                    # The gateway may die under this request: no answer, or a cut one.
                    with contextlib.suppress(httpx2.HTTPError, ValueError, KeyError, TypeError):
                        await (one_delivery(n) if n % 3 else one_redemption(n))

                # when: traffic is flowing and the gateway is killed in the middle of it
                tasks = [asyncio.create_task(traffic(n)) for n in range(300)]
                await wait_until(lambda: _answered(stored, 30), timeout_s=60, what="traffic flows")
                gateway.send_signal(signal.SIGKILL)
                gateway.wait(timeout=10)
                await asyncio.gather(*tasks)
        finally:
            if gateway.poll() is None:
                gateway.kill()
        assert len(stored) < 200, "everything finished before the kill: nothing was interrupted"

        # then: every delivery answered 2xx was stored, and the ledger has no half-written posting
        in_inbox = set(await PartnerInbox.all().values_list("webhook_id", flat=True))
        assert stored <= in_inbox
        assert (await verify_ledger()).clean
        assert await Redemption.all().count() >= redeemed
        # and once a worker runs, every stored delivery is credited, once
        worker = start_worker(hub_settings, "after-kill")
        try:
            await wait_until(_none_pending, timeout_s=120, what="the worker drains the inbox")
        finally:
            stop(worker)
        assert await Posting.filter(source="PARTNER_ACCRUAL").count() == len(in_inbox)
        assert (await verify_ledger()).clean
    finally:
        await close_database()


async def _ready(http: Any) -> bool:
    try:
        return bool((await http.get("/readyz")).status_code == 200)
    except Exception:
        return False


async def _answered(stored: set[str], count: int) -> bool:
    return len(stored) >= count
