"""The partner hub on PostgreSQL + Redis when things break: a worker killed with SIGKILL mid-stream,
Redis flushed while deliveries wait in it, and two workers sharing the partitioned stream without
reordering one member's deliveries. Every test waits for conditions (a worker has taken work, the inbox
has drained), each bounded by a deadline that MILESGATE_TEST_TIMEOUT_SCALE stretches.

Worker processes run as deployed (``MILESGATE_ENV=production``: the schema is migrated already, so a
worker does not migrate at start) and write their log to a file, never to a pipe nobody reads (a full
pipe would block a worker in its next log line).
"""

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
from pydantic import SecretStr
from redis.exceptions import ResponseError

from gateway.backends import open_backends
from gateway.db import close_database, open_database
from gateway.settings import Settings
from loyalty.enrolment import EnrolledMember
from loyalty.ledger.models import Currency, Posting
from loyalty.ledger.service import balances_of
from loyalty.ledger.verify import verify_ledger
from loyalty.rules import current_rules
from partners.service import NewPartner
from tests.factories import make_member, make_partner
from tests.support import (
    APP_REDIS_URL,
    PRODUCTION_MAIL_ENV,
    REDIS_PREFIX,
    clear_redis,
    deadline_s,
    redis_client,
    require_service,
    signed_delivery,
    wait_for,
)
from webhooks.models import InboxState, PartnerInbox
from webhooks.worker import DEFAULT_POLICY, INBOX_GROUP, InboxPolicy, InboxWorker, inbox_stream

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
# A worker process imports the whole service before it takes its first message: ~4 s of CPU on a quiet
# machine, a minute or more on a loaded one.
WORKER_START_S = 60.0
# Another worker takes over a dead worker's partition and its unacknowledged messages after these (the
# defaults are 10 s each). Short here so a take-over costs the test little, and only set where at most
# one worker is alive at a time: a lease shorter than one message's processing would let a second live
# worker into the partition.
TAKE_OVER_ENV = {"MILESGATE_INBOX_LEASE_MS": "2000", "MILESGATE_INBOX_CLAIM_IDLE_MS": "1000"}
# One message per read and transaction: a batch of 50 can credit every queued accrual between two looks
KILL_ENV = {**TAKE_OVER_ENV, "MILESGATE_INBOX_BATCH": "1"}


@pytest.fixture
async def hub_settings(postgres_settings: Settings) -> Settings:
    """PostgreSQL and Redis, with no worker inside the gateway: workers are the test's to start and kill."""
    try:
        await clear_redis()
    except OSError as exc:
        require_service("Redis", exc)
    return postgres_settings.model_copy(
        update={
            "redis_url": SecretStr(APP_REDIS_URL),
            "redis_prefix": REDIS_PREFIX,
            "run_worker_in_process": False,
        }
    )


@pytest.fixture
async def gateway(hub_settings: Settings) -> AsyncIterator[AsyncClient]:
    from gateway.app import create_app

    application = create_app(hub_settings)
    async with (
        LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
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


def start_cli(settings: Settings, *args: str, **extra_env: str) -> subprocess.Popen[bytes]:
    """``milesgate ARGS`` in a process of its own, on the test's PostgreSQL and Redis; its log goes to
    ``<data dir>/<first arg>-<pid>.log`` (see ``log_of``)."""
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
    if "MILESGATE_ENV" not in extra_env:
        env.pop("MILESGATE_ENV", None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = settings.data_dir / f"{args[0]}-{uuid.uuid4().hex[:8]}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    _LOGS[process.pid] = log
    return process


_LOGS: dict[int, Path] = {}


def log_of(process: subprocess.Popen[bytes]) -> str:
    """The end of a process's log, for a failure message."""
    text = _LOGS[process.pid].read_text(encoding="utf-8", errors="replace")
    return text[-4000:] or "(empty log)"


def start_worker(settings: Settings, name: str, **extra_env: str) -> subprocess.Popen[bytes]:
    return start_cli(
        settings, "worker", "--name", name, MILESGATE_ENV="production", **{**PRODUCTION_MAIL_ENV, **extra_env}
    )


async def consumers() -> dict[str, int]:
    """The inbox consumers Redis knows, with how many messages each holds unacknowledged."""
    client = redis_client(APP_REDIS_URL)
    held: dict[str, int] = {}
    try:
        for partition in range(DEFAULT_POLICY.partitions):
            stream = REDIS_PREFIX + inbox_stream(partition)
            try:
                listed = await client.xinfo_consumers(stream, INBOX_GROUP)
            except ResponseError:  # no stream or no group yet: no worker has started on it
                continue
            for consumer in listed:
                name = consumer["name"].decode()
                held[name] = held.get(name, 0) + int(consumer["pending"])
    finally:
        await client.aclose()
    return held


async def wait_until_working(process: subprocess.Popen[bytes], name: str) -> None:
    """Wait until the worker process has taken its first message (Redis lists it as a consumer)."""

    async def working() -> bool:
        if process.poll() is not None:
            pytest.fail(f"worker {name} exited with {process.returncode}:\n{log_of(process)}")
        return name in await consumers()

    await wait_for(working, timeout_s=WORKER_START_S, interval_s=0.1, what=f"worker {name} takes work")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=deadline_s(20))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=deadline_s(5))


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
    first = start_worker(hub_settings, "doomed", **KILL_ENV)
    try:
        await wait_until_working(first, "doomed")
        await wait_for(
            lambda: _kill_while_working(first, "doomed"),
            timeout_s=60,
            interval_s=0.02,
            what="the first worker is killed while it holds messages",
        )
    finally:
        if first.poll() is None:
            first.kill()
    assert await pending() > 0, "the worker finished before it was killed: nothing was interrupted"
    assert (await consumers()).get("doomed", 0) > 0, "the killed worker held no message: nothing to take over"
    second = start_worker(hub_settings, "survivor", **TAKE_OVER_ENV)
    try:
        await wait_until_working(second, "survivor")
        await wait_for(
            _none_pending, timeout_s=120, interval_s=0.2, what="the second worker drains the inbox"
        )
    finally:
        stop(second)
    assert (await consumers()).get("doomed", 0) == 0, "the killed worker's messages were not taken over"

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


async def _kill_while_working(process: subprocess.Popen[bytes], name: str) -> bool:
    """SIGKILL the worker once it has credited some rows while it holds unacknowledged messages.

    The worker is stopped (SIGSTOP) before anything is checked, so it cannot finish its messages between
    the check and the kill however slowly this test runs; if the check fails it goes on (SIGCONT). It
    credits one message per transaction here (`KILL_ENV`), so it needs hundreds of rounds to finish."""
    process.send_signal(signal.SIGSTOP)
    interrupted = False
    try:
        if not await _processed_at_least(10):
            return False
        if not await pending():
            pytest.fail("the worker finished before it was killed: nothing was interrupted")
        interrupted = (await consumers()).get(name, 0) > 0
    finally:
        if not interrupted:
            process.send_signal(signal.SIGCONT)
    if interrupted:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=deadline_s(10))
    return interrupted


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
    client = redis_client(APP_REDIS_URL)
    try:
        assert [key async for key in client.scan_iter(match=f"{REDIS_PREFIX}*")]
    finally:
        await client.aclose()
    await clear_redis()

    # when: a worker runs; its sweeper finds the rows still pending and queues them again
    backends = await open_backends(APP_REDIS_URL, cluster=hub_settings.redis_cluster, prefix=REDIS_PREFIX)
    worker = InboxWorker(
        queue=backends.ports.queue, rules=current_rules(), consumer="after-flush", sweep_older_than_s=0
    )
    stop_event = asyncio.Event()
    task = asyncio.create_task(worker.run(stop=stop_event))
    try:
        await wait_for(_none_pending, timeout_s=60, interval_s=0.1, what="the inbox drains after the flush")
    finally:
        stop_event.set()
        await asyncio.wait_for(task, timeout=deadline_s(10))
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
    backends = await open_backends(APP_REDIS_URL, cluster=hub_settings.redis_cluster, prefix=REDIS_PREFIX)
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
        await wait_for(_none_pending, timeout_s=60, interval_s=0.1, what="two workers drain the inbox")
    finally:
        stop_event.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=deadline_s(10))
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
    down = hub_settings.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:1/0")})
    application = create_app(down)
    async with (
        LifespanManager(application, startup_timeout=deadline_s(30), shutdown_timeout=deadline_s(30)),
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
    backends = await open_backends(APP_REDIS_URL, cluster=hub_settings.redis_cluster, prefix=REDIS_PREFIX)
    worker = InboxWorker(
        queue=backends.ports.queue, rules=current_rules(), consumer="back", sweep_older_than_s=0
    )
    stop_event = asyncio.Event()
    task = asyncio.create_task(worker.run(stop=stop_event))
    try:
        try:
            await wait_for(
                _none_pending, timeout_s=60, interval_s=0.1, what="the inbox drains once Redis is back"
            )
        finally:
            stop_event.set()
            await asyncio.wait_for(task, timeout=deadline_s(10))
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
                await wait_for(
                    lambda: _ready(http, gateway),
                    timeout_s=WORKER_START_S,
                    interval_s=0.2,
                    what="the gateway starts",
                )
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
                await wait_for(lambda: len(stored) >= 30, timeout_s=60, interval_s=0.02, what="traffic flows")
                gateway.send_signal(signal.SIGKILL)
                gateway.wait(timeout=deadline_s(10))
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
        # and once a worker runs, every stored delivery is credited, once; a delivery stored but never
        # queued (the gateway died between its commit and its XADD) is found by the worker's sweep, here
        # one second after it arrived instead of a minute
        worker = start_worker(
            hub_settings,
            "after-kill",
            MILESGATE_INBOX_SWEEP_EVERY_S="1",
            MILESGATE_INBOX_SWEEP_OLDER_THAN_S="1",
        )
        try:
            await wait_for(
                _none_pending,
                timeout_s=WORKER_START_S + 120,
                interval_s=0.2,
                what="the worker drains the inbox",
            )
        finally:
            stop(worker)
        assert await Posting.filter(source="PARTNER_ACCRUAL").count() == len(in_inbox)
        assert (await verify_ledger()).clean
    finally:
        await close_database()


async def _ready(http: Any, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        pytest.fail(f"the gateway exited with {process.returncode}:\n{log_of(process)}")
    try:
        return bool((await http.get("/readyz")).status_code == 200)
    except Exception:
        return False
