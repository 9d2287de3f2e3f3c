"""What the benchmarks share: a fresh PostgreSQL database and Redis database, members and a partner to
work with, ``milesgate`` processes, readiness, percentiles and the ledger check at the end.

Everything listens on and talks to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx2
import orjson
import psutil
from redis.asyncio import Redis
from svix.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = "bench-secret-key-long-enough-0123456789abcdefghijklmnop"  # noqa: S105 - throw-away bench databases
PIN = "739152"


@dataclass(frozen=True)
class Stores:
    db_name: str
    redis_url: str

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:5432/{self.db_name}"

    @property
    def asyncpg_url(self) -> str:
        return self.database_url.replace("postgres://", "postgresql://", 1)

    def env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "MILESGATE_DATABASE_URL": self.database_url,
            "MILESGATE_REDIS_URL": self.redis_url,
            "MILESGATE_SECRET_KEY": SECRET_KEY,
            "MILESGATE_DATA_DIR": str(data_dir),
            "MILESGATE_RUN_WORKER_IN_PROCESS": "false",
            "MILESGATE_LOG_LEVEL": "WARNING",
            **extra,
        }


async def drop_database(name: str) -> None:
    """Drop a benchmark's PostgreSQL database (connections to it are ended), so no run leaves one behind."""
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def clean_up(db_name: str, data_dir: Path, *, keep_db: bool) -> None:
    """A run's end: its database dropped (or kept, and said so) and its data directory removed."""
    if keep_db:
        print(f"kept the database {db_name}", flush=True)
    else:
        await drop_database(db_name)
    shutil.rmtree(data_dir, ignore_errors=True)


async def fresh_stores(stores: Stores) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{stores.db_name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{stores.db_name}"')
    finally:
        await admin.close()
    redis = Redis.from_url(stores.redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def settings_for(stores: Stores, data_dir: Path) -> Any:
    from gateway.settings import Settings

    return Settings(database_url=stores.database_url, data_dir=data_dir, secret_key=SECRET_KEY)


def letters(number: int) -> str:
    """A name part from a number (names hold letters only)."""
    return "".join(chr(ord("a") + int(digit)) for digit in str(number))


async def seed(stores: Stores, data_dir: Path, members: int, *, miles: int = 0) -> tuple[str, list[Any]]:
    """Migrate, add the partner ``swiss`` and ``members`` members (each credited ``miles``); the partner's
    signing secret and the enrolled members."""
    from gateway.cli.support import database
    from gateway.db import apply_migrations
    from gateway.partner_secrets import partner_secret_box
    from loyalty.crediting import post
    from loyalty.enrolment import Enrolment, enrol
    from loyalty.ledger.models import Currency, PostingSource
    from loyalty.rules import current_rules
    from partners.models import PartnerKind
    from partners.service import add_partner

    settings = settings_for(stores, data_dir)
    await apply_migrations(settings)
    rules = current_rules()
    async with database(settings):
        partner = await add_partner(
            code="swiss", name="SWISS", kind=PartnerKind.AIRLINE, box=partner_secret_box(settings)
        )
        enrolled = []
        for n in range(members):
            member = await enrol(
                enrolment=Enrolment(
                    given_name="Bench",
                    family_name="Member" + letters(n),
                    email=f"bench{n}@example.com",
                    date_of_birth=dt.date(1980, 1, 1),
                    country="DE",
                    pin=PIN,
                    advertising_consent=True,
                ),
                rules=rules,
                email_verified_at=dt.datetime.now(dt.UTC),
            )
            if miles:
                await post(
                    account_id=member.member.id,
                    amounts={Currency.AWARD_MILES: miles},
                    source=PostingSource.ADJUSTMENT,
                    idempotency_key=f"bench-seed-{member.member.id}",
                    activity_date=dt.date.today(),
                    rule_version=rules.version,
                    rules=rules,
                    description="bench seed",
                )
            enrolled.append(member)
    return partner.signing_secret, enrolled


def accrual(card_number: str, transaction_id: str, miles: int = 100) -> dict[str, Any]:
    return {
        "type": "accrual.created",
        "data": {
            "member": {"serviceCardNumber": card_number},
            "transactionId": transaction_id,
            "activityDate": dt.date.today().isoformat(),
            "miles": miles,
        },
    }


def signed(secret: str, event: dict[str, Any], webhook_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(event)
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    now = dt.datetime.now(dt.UTC)
    return body, {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body.decode()),
        "content-type": "application/json",
    }


def require_free_port(port: int) -> None:
    """Refuse to start a benchmark's server on a port something listens on already: a server left behind
    by an interrupted run would answer in its place and be measured instead (its CPU not counted)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise RuntimeError(f"port {port} is in use (a server left from another run?): {exc}") from None


def _require_free_served_port(args: tuple[str, ...]) -> None:
    """``require_free_port`` for the port of a ``serve --port N`` command line."""
    if "serve" in args and "--port" in args:
        require_free_port(int(args[args.index("--port") + 1]))


def milesgate(stores: Stores, data_dir: Path, *args: str, **extra_env: str) -> subprocess.Popen[bytes]:
    _require_free_served_port(args)
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gateway.cli", *args], cwd=ROOT, env=stores.env(data_dir, **extra_env)
    )


def milesgate_logged(
    stores: Stores, data_dir: Path, log: Path, *args: str, **extra_env: str
) -> subprocess.Popen[bytes]:
    """``milesgate`` with its output in ``log`` rather than on this terminal."""
    _require_free_served_port(args)
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "gateway.cli", *args],
            cwd=ROOT,
            env=stores.env(data_dir, **extra_env),
            stdout=output,
            stderr=output,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_ready(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx2.AsyncClient(trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"nothing ready on port {port}")


def reference_server(
    app: str, port: int, env: dict[str, str], *, workers: int = 2
) -> subprocess.Popen[bytes]:
    """A benchmark's hand-written reference server (``app``: the ``module:factory`` of a Starlette app) under
    uvicorn with ``workers`` processes on 127.0.0.1:``port``, each with a listening socket of its own as
    ``milesgate serve`` runs them (``bench/serve_reference.py``); ``env`` is added to this process's
    environment (the project root is on ``PYTHONPATH``)."""
    require_free_port(port)
    return subprocess.Popen(  # noqa: S603 - our own benchmark server
        [sys.executable, "-m", "bench.serve_reference", app, str(port), str(workers)],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
    )


async def wait_answering(url: str, *, method: str = "GET", timeout_s: float = 60) -> None:
    """Until something answers at ``url`` (any status: a reference server has no readiness route)."""
    deadline = time.monotonic() + timeout_s
    async with httpx2.AsyncClient(trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                await client.request(method, url)
                return
            except httpx2.HTTPError:
                await asyncio.sleep(0.2)
    raise RuntimeError(f"nothing answers at {url}")


def tree_cpu_s(*pids: int) -> float:
    """CPU seconds (user + system) used so far by the processes ``pids`` and all their children; a process
    gone meanwhile counts nothing."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in members:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages, to record beside every figure (it is shared)."""
    return [round(value, 1) for value in os.getloadavg()]


def percentiles(latencies_s: list[float]) -> dict[str, float]:
    if not latencies_s:
        return {}
    ordered = sorted(latencies_s)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    return {
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def ledger_clean(stores: Stores, data_dir: Path) -> bool:
    from gateway.cli.support import database
    from loyalty.ledger.verify import verify_ledger

    async with database(settings_for(stores, data_dir)):
        return (await verify_ledger()).clean


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` of the benchmark's own on a free 127.0.0.1 port, without persistence, to stop and
    start while the service runs (never the machine's shared Redis)."""

    def __init__(self, folder: Path) -> None:
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - a local binary, loopback only
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
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start(self, timeout_s: float = 10) -> None:
        await asyncio.to_thread(self._spawn)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            client = Redis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                if await client.ping():
                    return
            except Exception:  # noqa: S110 - not up yet
                pass
            finally:
                await client.aclose()
            await asyncio.sleep(0.05)
        await asyncio.to_thread(self.stop)  # not left running when it never answered
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    @property
    def pid(self) -> int:
        """The running server's process id (for its CPU seconds)."""
        if self.process is None:
            raise RuntimeError("the redis-server is not started")
        return self.process.pid

    async def __aenter__(self) -> RedisServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
