"""Partner webhook hub throughput on PostgreSQL + Redis, on loopback, bounded in count and time.

1. Entry point: ``milesgate serve --workers 2`` with no inbox worker; a client with ``--concurrency``
   connections posts ``--deliveries`` pre-signed accruals (signing is the partner's cost, done first).
   Measured: deliveries verified, stored and queued per second (202 answers), latency percentiles.
2. End to end: ``--inbox-workers`` ``milesgate worker`` processes drain the stored inbox. Measured:
   accruals credited per second, from the first to the last row processed (the rows' own timestamps).
3. Checks: one posting per delivery, no row left pending or failed, ``ledger verify`` clean.

Run from the project root:  .venv/bin/python bench/webhooks/run.py
It drops and recreates the PostgreSQL database ``milesgate_bench`` and flushes Redis database 13.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from redis.asyncio import Redis
from svix.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "milesgate_bench"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/13"
PORT = 8765
SECRET_KEY = "bench-secret-key-long-enough-0123456789abcdefghijklmnop"  # noqa: S105 - a throw-away bench database


def env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MILESGATE_DATABASE_URL": DB_URL,
        "MILESGATE_REDIS_URL": REDIS_URL,
        "MILESGATE_SECRET_KEY": SECRET_KEY,
        "MILESGATE_DATA_DIR": str(data_dir),
        "MILESGATE_RUN_WORKER_IN_PROCESS": "false",
        "MILESGATE_LOG_LEVEL": "WARNING",
        "MILESGATE_DB_POOL_MAX": "10",
    }


def milesgate(*args: str, data_dir: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gateway.cli", *args], cwd=ROOT, env=env(data_dir), **kwargs
    )


async def fresh_stores() -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await admin.close()
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


async def seed(data_dir: Path, members: int) -> tuple[str, list[str]]:
    """Migrate, add the partner and the members; the partner's secret and the members' card numbers."""
    from gateway.cli import database
    from gateway.db import apply_migrations
    from gateway.partner_secrets import partner_secret_box
    from gateway.settings import Settings
    from loyalty.members.service import Enrolment, enrol
    from loyalty.rules import current_rules
    from partners.models import PartnerKind
    from partners.service import add_partner

    settings = Settings(database_url=DB_URL, data_dir=data_dir, secret_key=SECRET_KEY)
    await apply_migrations(settings)
    async with database(settings):
        partner = await add_partner(
            code="swiss", name="SWISS", kind=PartnerKind.AIRLINE, box=partner_secret_box(settings)
        )
        cards = []
        for n in range(members):
            enrolled = await enrol(
                enrolment=Enrolment(
                    given_name="Bench",
                    family_name="Member" + "".join(chr(ord("a") + int(d)) for d in str(n)),
                    email=f"bench{n}@example.com",
                    date_of_birth=dt.date(1980, 1, 1),
                    country="DE",
                    pin="739152",
                    advertising_consent=True,
                ),
                rules=current_rules(),
            )
            cards.append(enrolled.card.number)
    return partner.signing_secret, cards


def deliveries(secret: str, cards: list[str], count: int) -> list[tuple[bytes, dict[str, str]]]:
    webhook = Webhook(secret)
    now = dt.datetime.now(dt.UTC)
    out = []
    for n in range(count):
        event = {
            "type": "accrual.created",
            "data": {
                "member": {"serviceCardNumber": cards[n % len(cards)]},
                "transactionId": f"BENCH-{n}",
                "activityDate": "2026-03-01",
                "miles": 100,
            },
        }
        body = orjson.dumps(event)
        webhook_id = f"msg_{uuid.uuid4().hex}"
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(webhook_id, now, body.decode()),
            "content-type": "application/json",
        }
        out.append((body, headers))
    return out


async def wait_ready(timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"http://127.0.0.1:{PORT}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the gateway did not become ready")


async def blast(items: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(trust_env=False, limits=limits, timeout=30) as client:

        async def one_connection() -> None:
            while True:
                try:
                    body, headers = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                response = await client.post(
                    f"http://127.0.0.1:{PORT}/webhooks/partners/swiss", content=body, headers=headers
                )
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {
        "requests": len(items),
        "seconds": round(elapsed, 2),
        "per_second": round(len(items) / elapsed, 1),
        "statuses": statuses,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }


async def inbox_counts() -> dict[str, int]:
    connection = await asyncpg.connect(DB_URL.replace("postgres://", "postgresql://", 1))
    try:
        rows = await connection.fetch("SELECT state, count(*) AS n FROM partner_inbox GROUP BY state")
        return {row["state"]: row["n"] for row in rows}
    finally:
        await connection.close()


async def credited_rate() -> dict[str, Any]:
    connection = await asyncpg.connect(DB_URL.replace("postgres://", "postgresql://", 1))
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS n, min(processed_at) AS first, max(processed_at) AS last "
            "FROM partner_inbox WHERE state = 'processed'"
        )
        postings = await connection.fetchval("SELECT count(*) FROM postings WHERE source = 'PARTNER_ACCRUAL'")
    finally:
        await connection.close()
    span = (row["last"] - row["first"]).total_seconds() or 1e-9
    return {
        "credited": row["n"],
        "postings": postings,
        "seconds": round(span, 2),
        "per_second": round(row["n"] / span, 1),
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gateway-workers", type=int, default=2)
    parser.add_argument("--inbox-workers", type=int, default=2)
    parser.add_argument(
        "--timeout", type=float, default=600, help="Give up after this many seconds of draining."
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-bench-"))
    await fresh_stores()
    print(f"seeding {args.members} members ...", flush=True)
    secret, cards = await seed(data_dir, args.members)
    items = deliveries(secret, cards, args.deliveries)

    gateway = milesgate(
        "serve", "--port", str(PORT), "--workers", str(args.gateway_workers), data_dir=data_dir
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        await wait_ready()
        await blast(items[: min(200, len(items))], args.concurrency)  # warm-up, counted as stored below
        print("entry point ...", flush=True)
        entry = await blast(items[min(200, len(items)) :], args.concurrency)
        print(json.dumps(entry), flush=True)
        print("draining with inbox workers ...", flush=True)
        workers = [
            milesgate("worker", "--name", f"bench-{n}", data_dir=data_dir) for n in range(args.inbox_workers)
        ]
        deadline = time.monotonic() + args.timeout
        while (await inbox_counts()).get("pending", 0) and time.monotonic() < deadline:  # noqa: ASYNC110 - polls PostgreSQL
            await asyncio.sleep(0.5)
        end_to_end = await credited_rate()
        counts = await inbox_counts()
    finally:
        for process in [*workers, gateway]:
            stop(process)

    from gateway.cli import database
    from gateway.settings import Settings
    from loyalty.ledger.verify import verify_ledger

    async with database(Settings(database_url=DB_URL, data_dir=data_dir, secret_key=SECRET_KEY)):
        clean = (await verify_ledger()).clean
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "args": vars(args),
        "entry_point": entry,
        "end_to_end": end_to_end,
        "inbox": counts,
        "exactly_once": end_to_end["postings"] == args.deliveries
        and counts == {"processed": args.deliveries},
        "ledger_clean": clean,
    }
    print(json.dumps(result, indent=2))
    if not (result["exactly_once"] and clean):
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
