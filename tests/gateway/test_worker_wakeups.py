"""The worker's loops sleep until rows are written (PostgreSQL NOTIFY, or SQLite triggers in process) or a
slow safety sweep comes round: an idle worker makes almost no PostgreSQL transactions.

The wake-up tests set the sweep to an hour, so only a wake-up can make a loop pick a row up in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from gateway.backends import open_backends
from gateway.backends.memory import MemoryPubSub, MemoryRateLimiter, Wakeups
from gateway.notification_secrets import outbox_box
from gateway.settings import Settings
from gateway.workers.background import background_loops
from gateway.workers.event_relay import run_event_relay
from gateway.workers.listener import (
    APPLICATION_NAME,
    CHANNELS,
    EVENTS,
    NOTIFICATIONS,
    OUTBOUND,
    PostgresListener,
    SqliteWakeups,
    change_listener,
)
from gateway.workers.loops import run_polling
from gateway.workers.notifications import FileSink, read_outbox, run_notification_sender
from gateway.workers.outbound import run_outbound_sender
from loyalty.crediting import post
from loyalty.events.models import DomainEvent
from loyalty.ledger.models import Currency, PostingSource
from loyalty.notifications.models import Channel
from loyalty.notifications.service import enqueue_notification
from loyalty.rules import current_rules
from tests.factories import make_member, make_partner, partner_box_for_tests
from tests.loyalty.test_notifications import RESET_PAYLOAD
from tests.support import SQLITE_FILE, deadline_s, seed_embedded_db, wait_for
from tests.webhooks.receiver import Receiver, running_receiver
from webhooks.outbound.models import OutboundDelivery
from webhooks.outbound.policy import DeliveryPolicy
from webhooks.outbound.service import create_endpoint, publish
from webhooks.worker import stop_worker

AN_HOUR = 3600.0
STATS_LAG_S = 11.0
"""PostgreSQL's statistics show a server process's transactions within PGSTAT_IDLE_INTERVAL (10 s)."""
Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Running:
    wakeups: Wakeups
    listener: PostgresListener | SqliteWakeups


def quiet(settings: Settings, **extra: Any) -> Settings:
    return settings.model_copy(update={"worker_sweep_s": AN_HOUR, **extra})


async def _credit(account_id: int, key: str) -> None:
    await post(
        account_id=account_id,
        amounts={Currency.AWARD_MILES: 100},
        source=PostingSource.PARTNER_ACCRUAL,
        idempotency_key=key,
        activity_date=dt.date(2026, 5, 1),
        rule_version="test",
        rules=current_rules(),
    )


async def _all_published() -> bool:
    return not await DomainEvent.filter(published_at__isnull=True).exists()


@contextlib.asynccontextmanager
async def relay_running(settings: Settings) -> AsyncIterator[Running]:
    """The listener and the event relay, wired as ``background_loops`` wires them."""
    wakeups = Wakeups()
    listener = change_listener(settings, wakeups)
    relay_woken = wakeups.waiter(EVENTS)
    rules = current_rules()
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [
        asyncio.create_task(listener.run(stops[0])),
        asyncio.create_task(
            run_event_relay(MemoryPubSub(), stops[1], settings.worker_sweep_s, rules=rules, wake=relay_woken)
        ),
    ]
    try:
        await wait_for(listener.ready.is_set, timeout_s=10, what="the listener is ready")
        yield Running(wakeups, listener)
    finally:
        for task, stop in zip(reversed(tasks), reversed(stops), strict=True):
            await stop_worker(task, stop, grace_s=deadline_s(2.0))


# ----- the loop itself, without a database ------------------------------------------------------------


async def test_a_woken_loop_runs_at_once_and_a_full_batch_goes_on_without_waiting() -> None:
    rounds: list[int] = []
    backlog = [5, 5, 2]  # two full batches of 5, then a short one

    async def step() -> int:
        rounds.append(backlog.pop(0) if backlog else 0)
        return rounds[-1]

    stop, wake = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_polling("test", step, stop, batch=5, every_s=AN_HOUR, wake=wake))
    await wait_for(lambda: len(rounds) == 3, timeout_s=5, what="the backlog is worked off")
    assert rounds == [5, 5, 2]
    wake.set()
    await wait_for(lambda: len(rounds) == 4, timeout_s=5, what="a wake-up starts a round")
    await stop_worker(task, stop, grace_s=deadline_s(2.0))
    assert len(rounds) == 4  # nothing else ran it: the sweep is an hour away


async def test_a_loop_waits_for_the_next_due_time_it_is_told() -> None:
    rounds: list[float] = []

    async def step() -> int:
        rounds.append(asyncio.get_running_loop().time())
        return 0

    async def due_in() -> float | None:
        return 0.1 if len(rounds) < 3 else None

    stop = asyncio.Event()
    task = asyncio.create_task(
        run_polling("test", step, stop, batch=5, every_s=AN_HOUR, wake=asyncio.Event(), due_in=due_in)
    )
    await wait_for(lambda: len(rounds) == 3, timeout_s=5, what="rounds at the due times")
    await stop_worker(task, stop, grace_s=deadline_s(2.0))
    assert len(rounds) == 3


# ----- wake-ups on writes, on the stack's database ---------------------------------------------------


async def test_a_committed_event_wakes_the_relay_without_the_sweep(db: Settings) -> None:
    settings = quiet(db)
    member = (await make_member()).member
    async with relay_running(settings) as run:
        await wait_for(_all_published, timeout_s=10, what="the enrolment's events are relayed")
        probe = run.wakeups.waiter(EVENTS)
        await _credit(member.id, "wake-1")
        await wait_for(probe.is_set, timeout_s=5, what="the write wakes the relay's channel")
        await wait_for(_all_published, timeout_s=5, what="the relay publishes the new event")


async def test_a_rolled_back_write_leaves_nothing_to_relay(db: Settings) -> None:
    settings = quiet(db)
    member = (await make_member()).member
    async with relay_running(settings) as run:
        await wait_for(_all_published, timeout_s=10, what="the enrolment's events are relayed")
        events_before = await DomainEvent.all().count()
        probe = run.wakeups.waiter(EVENTS)
        with contextlib.suppress(RuntimeError):
            async with in_transaction():
                await _credit(member.id, "rolled-back")
                raise RuntimeError("abandon the change")
        # a later write still wakes it, and only the committed event is there to relay
        await _credit(member.id, "committed")
        await wait_for(probe.is_set, timeout_s=5, what="the committed write wakes the relay")
        await wait_for(_all_published, timeout_s=5, what="the relay publishes it")
    assert await DomainEvent.all().count() == events_before + 1


async def test_a_written_notification_wakes_the_sender(db: Settings, tmp_path: Path) -> None:
    settings = quiet(db)
    wakeups = Wakeups()
    listener = change_listener(settings, wakeups)
    woken = wakeups.waiter(NOTIFICATIONS)
    box = outbox_box(settings)
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [
        asyncio.create_task(listener.run(stops[0])),
        asyncio.create_task(run_notification_sender(FileSink(tmp_path, box), stops[1], AN_HOUR, wake=woken)),
    ]
    try:
        await wait_for(listener.ready.is_set, timeout_s=10, what="the listener is ready")
        await enqueue_notification(
            account_id=7,
            channel=Channel.EMAIL,
            recipient="grace@example.com",
            template="pin_reset",
            language="en",
            payload=RESET_PAYLOAD,
        )
        await wait_for(lambda: read_outbox(tmp_path, box), timeout_s=5, what="the sender sends it")
    finally:
        for task, stop in zip(reversed(tasks), reversed(stops), strict=True):
            await stop_worker(task, stop, grace_s=deadline_s(2.0))
    assert len(read_outbox(tmp_path, box)) == 1


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as started:
        yield started


async def test_a_queued_delivery_wakes_the_outbound_sender(db: Settings, receiver: Receiver) -> None:
    settings = quiet(db, outbound_allowed_hosts="127.0.0.1", outbound_allow_http=True)
    await make_partner("swiss")
    await create_endpoint(
        partner_code="swiss",
        url=receiver.url(),
        event_types=("redemption.created",),
        box=partner_box_for_tests(),
        policy=DeliveryPolicy(allowed_hosts=("127.0.0.1",), allow_http=True),
    )
    wakeups = Wakeups()
    listener = change_listener(settings, wakeups)
    woken = wakeups.waiter(OUTBOUND)
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [
        asyncio.create_task(listener.run(stops[0])),
        asyncio.create_task(
            run_outbound_sender(
                settings, partner_box_for_tests(), MemoryRateLimiter(), stops[1], AN_HOUR, wake=woken
            )
        ),
    ]
    try:
        await wait_for(listener.ready.is_set, timeout_s=10, what="the listener is ready")
        async with in_transaction():
            await publish(
                event_type="redemption.created",
                data={"redemptionId": 1, "miles": 3000},
                now=dt.datetime.now(dt.UTC),
            )
        await wait_for(lambda: receiver.requests, timeout_s=5, what="the delivery reaches the partner")
    finally:
        for task, stop in zip(reversed(tasks), reversed(stops), strict=True):
            await stop_worker(task, stop, grace_s=deadline_s(2.0))
    assert len(receiver.requests) == 1
    assert [d.state.value for d in await OutboundDelivery.all()] == ["succeeded"]


async def test_writes_go_on_after_the_loops_stopped(db: Settings) -> None:
    """On SQLite the wake-up triggers are dropped with the loops; no write ever fails because of them."""
    member = (await make_member()).member
    async with relay_running(quiet(db)):
        await _credit(member.id, "while-running")
    await _credit(member.id, "after-stopping")
    assert await DomainEvent.filter(published_at__isnull=True).count() >= 1


# ----- PostgreSQL: the LISTEN connection lost, and what an idle worker costs -------------------------


def _database(settings: Settings) -> str:
    return urlsplit(settings.resolved_database_url).path.lstrip("/")


async def _admin() -> asyncpg.Connection:
    """A connection to the ``postgres`` database: its queries are not counted in the test database."""
    from tests.support import POSTGRES_URL

    parts = urlsplit(POSTGRES_URL)
    return await asyncpg.connect(f"postgresql://{parts.netloc}/postgres", timeout=5)


@pytest.mark.postgres
async def test_a_lost_listen_connection_is_made_again_and_wakes_the_loops(
    pg_db: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.workers.listener")
    settings = quiet(pg_db, worker_listen_retry_s=0.1)
    member = (await make_member()).member
    async with relay_running(settings) as run:
        listener = run.listener
        assert isinstance(listener, PostgresListener)
        first = listener.backend_pid
        await wait_for(_all_published, timeout_s=10, what="the enrolment's events are relayed")
        admin = await _admin()
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await wait_for(
            lambda: listener.connects == 2 and listener.ready.is_set(),
            timeout_s=10,
            what="the listener connects again",
        )
        assert listener.backend_pid not in (None, first)
        probe = run.wakeups.waiter(EVENTS)
        await _credit(member.id, "after-reconnect")
        await wait_for(probe.is_set, timeout_s=5, what="the new connection hears the write")
        await wait_for(_all_published, timeout_s=5, what="the relay publishes it")
    # one line for each change of state
    assert [r.getMessage() for r in caplog.records if r.name == "gateway.workers.listener"] == [
        "listening for work",
        "lost the LISTEN connection to PostgreSQL; reconnecting",
        "listening for work again",
    ]


@pytest.mark.postgres
async def test_the_sweep_covers_the_time_without_a_listen_connection(pg_db: Settings) -> None:
    # the listener waits an hour before it connects again; the sweep runs every half second
    settings = pg_db.model_copy(update={"worker_sweep_s": 0.5, "worker_listen_retry_s": AN_HOUR})
    member = (await make_member()).member
    async with relay_running(settings) as run:
        listener = run.listener
        assert isinstance(listener, PostgresListener)
        admin = await _admin()
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", listener.backend_pid)
        finally:
            await admin.close()
        await wait_for(lambda: not listener.ready.is_set(), timeout_s=10, what="the loss is noticed")
        await _credit(member.id, "while-deaf")
        await wait_for(_all_published, timeout_s=10, what="the sweep relays the event")
        assert listener.connects == 1


@pytest.mark.postgres
async def test_the_migration_notifies_on_every_channel_the_listener_hears(pg_db: Settings) -> None:
    rows = await connections.get("default").execute_query_dict(
        "SELECT DISTINCT encode(tgargs, 'escape') AS args FROM pg_trigger WHERE tgname LIKE 'milesgate_wake%'"
    )
    channels = {row["args"].split("\\000")[0] for row in rows}
    assert channels == set(CHANNELS)


def test_the_migration_leaves_sqlite_without_triggers(tmp_path: Path) -> None:
    """SQLite skips migration 0021: it has no NOTIFY, and its wake-ups are temporary triggers."""
    seed_embedded_db(tmp_path)
    database = sqlite3.connect(tmp_path / SQLITE_FILE)
    try:
        triggers = database.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        applied = database.execute(
            "SELECT name FROM tortoise_migrations WHERE name = '0021_wake_on_write'"
        ).fetchall()
    finally:
        database.close()
    assert (triggers, applied) == ([], [("0021_wake_on_write",)])


async def _transactions(admin: asyncpg.Connection, database: str) -> int:
    await admin.execute("SELECT pg_stat_clear_snapshot()")
    return int(
        await admin.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", database
        )
    )


@pytest.mark.postgres
async def test_an_idle_worker_makes_at_most_one_transaction_a_second(pg_db: Settings) -> None:
    """Every loop of ``milesgate worker`` (the inbox worker on the in-process queue), idle.

    The sweep is set beyond the test, so the window sees what an idle worker does between sweeps: a loop
    back to polling would make several transactions a second. What a sweep costs at the default interval
    is measured by ``bench/worker/idle.py`` (bench/worker/RESULTS.md)."""
    window_s, bound_per_s, slack = 10, 1, 5  # slack: autovacuum may visit the database meanwhile
    settings = quiet(pg_db, inbox_sweep_every_s=AN_HOUR)  # the inbox's re-queue sweep is a sweep too
    database = _database(settings)
    backends = await open_backends(None)
    loops = background_loops(
        settings, backends.ports, box=partner_box_for_tests(), rules=current_rules(), consumer="idle-test"
    )
    tasks = []
    for name, loop in loops.items():
        stop = asyncio.Event()
        tasks.append((asyncio.create_task(loop(stop), name=name), stop))
    admin = await _admin()
    try:

        async def listening() -> bool:
            return bool(
                await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
                    database,
                    APPLICATION_NAME,
                )
            )

        await wait_for(listening, timeout_s=10, what="the worker listens")
        # A server process reports a burst of transactions up to PGSTAT_IDLE_INTERVAL (10 s) late: the
        # start-up rounds are all counted once the count has held still for longer than that.
        loop_time = asyncio.get_running_loop().time
        give_up = loop_time() + deadline_s(30)
        still_since = (loop_time(), await _transactions(admin, database))
        # (a worker that polls never holds still: the window is then measured all the same, and fails)
        while loop_time() - still_since[0] < STATS_LAG_S and loop_time() < give_up:
            await asyncio.sleep(1.0)
            count = await _transactions(admin, database)
            if count != still_since[1]:
                still_since = (loop_time(), count)
        before = await _transactions(admin, database)
        await asyncio.sleep(window_s)  # the measured window itself
        after = await _transactions(admin, database)
    finally:
        await admin.close()
        for task, stop in tasks:
            await stop_worker(task, stop, grace_s=deadline_s(2.0))
        await backends.close()
    assert after - before <= window_s * bound_per_s + slack, f"{after - before} transactions in {window_s} s"
