"""The worker's metrics: the backlog read from the database, the gauges a gateway with an in-process worker
shows, and ``milesgate worker``'s own port (``/metrics`` behind the metrics token, ``/healthz``,
``/readyz``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from httpx2 import ASGITransport, AsyncClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from gateway.cli.service import _worker_metrics_socket
from gateway.metrics import Backlog, BacklogMetrics
from gateway.settings import Settings
from gateway.workers.metrics import read_backlog, refresh_backlog, run_backlog_metrics, worker_metrics_app
from loyalty.events.models import DomainEvent, EventType
from loyalty.notifications.models import Channel, Notification, NotificationState
from partners.models import Partner
from tests.factories import TEST_SECRET, make_partner
from tests.support import (
    APP_REDIS_URL,
    PRODUCTION_MAIL_ENV,
    REDIS_PREFIX,
    clear_redis,
    deadline_s,
    free_port,
    require_service,
    served_process,
    wait_for,
)
from webhooks.models import InboxState, PartnerInbox
from webhooks.outbound.models import DeliveryState, OutboundDelivery, OutboundMessage, PartnerEndpoint

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "metrics-" + "k" * 40
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
NOTHING_WAITS = Backlog(
    inbox={"pending": 0, "failed": 0, "unmatched": 0},
    inbox_oldest_pending_s=0.0,
    outbound_pending=0,
    outbound_oldest_pending_s=0.0,
    outbound_dead_letters=0,
    relay_pending=0,
    relay_lag_s=0.0,
    notifications_pending=0,
    notifications_oldest_pending_s=0.0,
)


async def inbox_row(partner: Partner, state: InboxState, *, received_at: dt.datetime = T0) -> PartnerInbox:
    row = await PartnerInbox.create(
        partner_id=partner.id,
        webhook_id=f"msg_{state.value}_{received_at.timestamp()}",
        event_type="accrual.created",
        payload={},
        state=state,
    )
    await PartnerInbox.filter(id=row.id).update(received_at=received_at)
    return row


async def delivery(
    partner: Partner, state: DeliveryState, *, created_at: dt.datetime = T0
) -> OutboundDelivery:
    endpoint = await PartnerEndpoint.create(
        partner_id=partner.id,
        url="https://hooks.partner.example/milesgate",
        event_types_text="accrual.credited",
        secret_ciphertext="not used here",
        secret_fingerprint="not used",
    )
    message = await OutboundMessage.create(
        webhook_id=f"msg_out_{endpoint.id}",
        event_type="accrual.credited",
        payload={},
        partner_id=partner.id,
        created_at=created_at,
    )
    return await OutboundDelivery.create(
        message_id=message.id,
        endpoint_id=endpoint.id,
        state=state,
        created_at=created_at,
        next_attempt_at=created_at + dt.timedelta(days=365),  # no sender takes it in these tests
    )


def gauge_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def dead_letters(text: str, queue: str) -> float | None:
    return gauge_values(text).get(("milesgate_dead_letters", (("queue", queue),)))


# --- the backlog, read from the database (the stack's: SQLite embedded, PostgreSQL in production) -------


async def test_nothing_waits_in_an_empty_database(db: Settings) -> None:
    assert await read_backlog(T0) == NOTHING_WAITS


async def test_the_backlog_counts_what_waits_and_how_long_and_drops_what_is_settled(db: Settings) -> None:
    # given: rows waiting in each queue, the oldest of each written at T0
    partner = await Partner.get(code=(await make_partner()).code)
    pending = await inbox_row(partner, InboxState.PENDING)
    await inbox_row(partner, InboxState.PENDING, received_at=T0 + dt.timedelta(minutes=1))
    await inbox_row(partner, InboxState.FAILED)
    await inbox_row(partner, InboxState.UNMATCHED)
    await inbox_row(partner, InboxState.PROCESSED)  # history: not counted
    queued = await delivery(partner, DeliveryState.PENDING)
    await delivery(partner, DeliveryState.FAILED)
    await delivery(partner, DeliveryState.SUCCEEDED)
    event = await DomainEvent.create(account_id=1, type=EventType.POOL_CHANGED)
    await DomainEvent.filter(id=event.id).update(occurred_at=T0)
    note = await Notification.create(
        channel=Channel.EMAIL, recipient="member@example.org", template="pin_reset", payload={}
    )
    await Notification.filter(id=note.id).update(created_at=T0)

    # when: read five minutes later
    waiting = await read_backlog(T0 + dt.timedelta(minutes=5))

    # then
    assert waiting == Backlog(
        inbox={"pending": 2, "failed": 1, "unmatched": 1},
        inbox_oldest_pending_s=300.0,
        outbound_pending=1,
        outbound_oldest_pending_s=300.0,
        outbound_dead_letters=1,
        relay_pending=1,
        relay_lag_s=300.0,
        notifications_pending=1,
        notifications_oldest_pending_s=300.0,
    )

    # when: the work is done (processed, delivered, relayed, sent)
    await PartnerInbox.filter(state=InboxState.PENDING).update(state=InboxState.PROCESSED)
    await OutboundDelivery.filter(id=queued.id).update(state=DeliveryState.SUCCEEDED)
    await DomainEvent.filter(id=event.id).update(published_at=T0)
    await Notification.filter(id=note.id).update(state=NotificationState.SENT)
    settled = await read_backlog(T0 + dt.timedelta(minutes=5))

    # then: only the dead letters and the parked row are left
    assert settled == Backlog(
        inbox={"pending": 0, "failed": 1, "unmatched": 1},
        inbox_oldest_pending_s=0.0,
        outbound_pending=0,
        outbound_oldest_pending_s=0.0,
        outbound_dead_letters=1,
        relay_pending=0,
        relay_lag_s=0.0,
        notifications_pending=0,
        notifications_oldest_pending_s=0.0,
    )
    assert pending.id  # the rows were real


# --- a gateway running the worker in-process shows the gauges on its own /metrics ---------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The stack's settings (the worker in-process on both stacks), a metrics token, a quick reading."""
    return settings.model_copy(
        update={"metrics_token": SecretStr(METRICS_TOKEN), "worker_metrics_interval_s": 1.0}
    )


async def test_the_gateways_metrics_show_the_in_process_workers_backlog(
    client: AsyncClient, settings: Settings
) -> None:
    async def dead_letters_are(expected: float) -> bool:
        answer = await client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
        assert answer.status_code == 200
        return dead_letters(answer.text, "inbox") == expected

    await wait_for(lambda: dead_letters_are(0), timeout_s=20, what="the first reading")

    # when: a delivery becomes a dead letter
    partner = await Partner.get(code=(await make_partner()).code)
    await inbox_row(partner, InboxState.FAILED)

    # then: the next reading shows it
    await wait_for(lambda: dead_letters_are(1), timeout_s=20, what="the dead letter counted")

    # when: an operator processes it again and it succeeds
    await PartnerInbox.filter(partner_id=partner.id).update(state=InboxState.PROCESSED)

    # then
    await wait_for(lambda: dead_letters_are(0), timeout_s=20, what="the dead letter gone")


# --- the worker's own port, as an app (both stacks) ------------------------------------------------------


@pytest.fixture
async def worker_port(db: Settings) -> AsyncIterator[AsyncClient]:
    """The worker's metrics app with its dependencies as on the stack, and fresh gauges."""
    registry = CollectorRegistry()
    gauges = BacklogMetrics(registry)
    assert await refresh_backlog(gauges) is None
    settings = db.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})

    async def redis_ping() -> None:
        return None

    app = worker_metrics_app(settings, registry, redis_ping=redis_ping if db.redis_url else None)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://worker") as http:
        yield http


async def test_the_worker_port_answers_health_and_readiness(worker_port: AsyncClient, db: Settings) -> None:
    assert (await worker_port.get("/healthz")).json() == {"status": "alive"}
    ready = await worker_port.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "checks": {"database": "ok", "redis": "ok" if db.redis_url else "in-process"},
    }


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-" + "k" * 40, f"Basic {METRICS_TOKEN}"])
async def test_the_worker_metrics_need_the_token(worker_port: AsyncClient, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    refused = await worker_port.get("/metrics", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "METRICS_TOKEN_INVALID"
    assert "milesgate_" not in refused.text

    allowed = await worker_port.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert allowed.status_code == 200
    assert dead_letters(allowed.text, "outbound") == 0


async def test_the_worker_metrics_are_off_without_a_token(db: Settings) -> None:
    app = worker_metrics_app(
        db.model_copy(update={"metrics_token": None}), CollectorRegistry(), redis_ping=None
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://worker") as http:
        answer = await http.get("/metrics", headers={"authorization": "Bearer anything"})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "METRICS_DISABLED"


async def test_readiness_names_the_database_when_it_does_not_answer(tmp_path: Path) -> None:
    # given: no database opened in this process at all
    app = worker_metrics_app(Settings(data_dir=tmp_path), CollectorRegistry(), redis_ping=None)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://worker") as http:
        answer = await http.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"].startswith("unavailable")


# --- `milesgate worker` on PostgreSQL and Redis -------------------------------------------------------------


def _worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MILESGATE_")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "MILESGATE_ENV": "production",
        "MILESGATE_DATABASE_URL": settings.resolved_database_url,
        "MILESGATE_REDIS_URL": APP_REDIS_URL,
        "MILESGATE_REDIS_PREFIX": REDIS_PREFIX,
        "MILESGATE_SECRET_KEY": TEST_SECRET,
        "MILESGATE_DATA_DIR": str(settings.data_dir),
        "MILESGATE_LOG_LEVEL": "WARNING",
        **PRODUCTION_MAIL_ENV,
        **extra,
    }


@pytest.fixture
async def stack(pg_db: Settings) -> Settings:
    try:
        await clear_redis()
    except OSError as exc:
        require_service("Redis", exc)
    return pg_db


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_worker_process_serves_its_backlog(stack: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = _worker_env(
        stack,
        MILESGATE_WORKER_METRICS_PORT=str(port),
        MILESGATE_METRICS_TOKEN=METRICS_TOKEN,
        MILESGATE_WORKER_METRICS_INTERVAL_S="1",
    )
    command = [sys.executable, "-m", "gateway.cli", "worker", "--name", "metrics-test"]
    with served_process(
        command, port=port, env=env, log=tmp_path / "worker.log", ready_path="/readyz", cwd=ROOT
    ) as base:
        ready = httpx2.get(f"{base}/readyz", timeout=deadline_s(5)).json()
        assert ready == {"ready": True, "checks": {"database": "ok", "redis": "ok"}}

        async def outbound_dead_letters() -> float | None:
            async with httpx2.AsyncClient(timeout=deadline_s(5)) as http:
                answer = await http.get(
                    f"{base}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}
                )
            assert answer.status_code == 200
            return dead_letters(answer.text, "outbound")

        async def dead_letters_are(expected: float) -> bool:
            return await outbound_dead_letters() == expected

        await wait_for(lambda: dead_letters_are(0), timeout_s=30, what="the first reading")

        # when: an outbound delivery used up its schedule
        partner = await Partner.get(code=(await make_partner()).code)
        failed = await delivery(partner, DeliveryState.FAILED)
        # then
        await wait_for(lambda: dead_letters_are(1), timeout_s=30, what="the dead letter counted")

        # when: it is replayed and delivered
        await OutboundDelivery.filter(id=failed.id).update(state=DeliveryState.SUCCEEDED)
        # then
        await wait_for(lambda: dead_letters_are(0), timeout_s=30, what="the dead letter gone")


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_metrics_port_in_use_stops_the_worker_with_one_line(stack: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = _worker_env(stack, MILESGATE_WORKER_METRICS_PORT=str(port))
        finished = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gateway.cli", "worker"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=deadline_s(60),
            check=False,
        )
    assert finished.returncode == 2
    assert "WORKER_METRICS_PORT_UNAVAILABLE:" in finished.stderr
    assert "MILESGATE_WORKER_METRICS_PORT" in " ".join(finished.stderr.split())
    assert "Traceback" not in finished.stderr


def test_the_default_port_taken_leaves_the_worker_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        settings = Settings(data_dir=tmp_path).model_copy(
            update={"worker_metrics_port": taken.getsockname()[1]}
        )
        settings.model_fields_set.discard("worker_metrics_port")  # as if it were the default port

        assert _worker_metrics_socket(settings) is None

    assert "worker serves no metrics" in caplog.text
    assert "MILESGATE_WORKER_METRICS_PORT" in caplog.text


def test_port_0_turns_the_workers_port_off(tmp_path: Path) -> None:
    assert _worker_metrics_socket(Settings(data_dir=tmp_path, worker_metrics_port=0)) is None


async def test_readings_that_fail_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    # given: no database opened in this process
    registry = CollectorRegistry()
    gauges = BacklogMetrics(registry)
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="gateway.workers.metrics")

    # when: the reader tries again and again
    reader = asyncio.create_task(run_backlog_metrics(gauges, stop, every_s=0.01))
    await wait_for(
        lambda: (registry.get_sample_value("milesgate_backlog_read_errors_total") or 0) >= 3,
        what="three failed readings",
    )
    stop.set()
    await reader

    # then: one line for the change of state, and no reading recorded
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        "backlog metrics cannot be read"
    ]
    assert registry.get_sample_value("milesgate_backlog_read_timestamp_seconds") == 0
