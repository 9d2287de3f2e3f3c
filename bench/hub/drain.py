"""The inbox workers alone, again and again on one backlog: for profiling the crediting path (issue 22).

``fill`` makes the backlog once: a fresh database (``milesgate_hub``) with ``--members`` members, then
``milesgate serve`` (production mode) stores ``--deliveries`` signed accruals sent by wrk, and the
database is copied as the template ``milesgate_hub_backlog`` (``milesgate_hub`` is dropped then).
``drain`` then, each time: copies the template to ``milesgate_hub_drain``, queues every pending row again,
starts ``--inbox-workers`` ``milesgate worker`` processes and waits until no row is pending; it prints the
credited rate (from the rows' own timestamps), the CPU seconds of the workers, PostgreSQL and the run's
Redis, the exactly-once check and ``ledger verify``; ``--profile DIR`` records the workers with py-spy;
``milesgate_hub_drain`` is dropped at the end. ``clean`` drops the template and anything left over.
``--keep-db`` keeps the run's database (``milesgate_hub`` or ``milesgate_hub_drain``) to look into.

Each ``fill`` and ``drain`` runs a ``redis-server`` of its own (a free loopback port, no persistence): the
machine's shared Redis is not touched.

Run from the project root:
    PYTHONPATH=. .venv/bin/python bench/hub/drain.py fill --deliveries 30000
    PYTHONPATH=. .venv/bin/python bench/hub/drain.py drain [--profile DIR]
    PYTHONPATH=. .venv/bin/python bench/hub/drain.py clean
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from redis.asyncio import Redis

from bench.common import (
    PG_ADMIN,
    RedisServer,
    Stores,
    drop_database,
    free_port,
    fresh_stores,
    ledger_clean,
    milesgate,
    seed,
    stop,
    wait_ready,
)
from bench.hub import run

FILLED = "milesgate_hub"
TEMPLATE = "milesgate_hub_backlog"
DRAINED = "milesgate_hub_drain"


async def copy_database(source: str, target: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    finally:
        await admin.close()


async def fill(args: argparse.Namespace, redis: RedisServer, data_dir: Path) -> None:
    filled = Stores(db_name=FILLED, redis_url=redis.url)
    await fresh_stores(filled)
    secret, members = await seed(filled, data_dir, args.members)
    data = run.write_deliveries(data_dir, secret, [member.card.number for member in members], args.deliveries)
    port = free_port()
    gateway = milesgate(filled, data_dir, "serve", "--port", str(port), "--workers", "2", **run.PRODUCTION)
    try:
        await wait_ready(port)
        wrk = argparse.Namespace(threads=2, connections=32)
        found = run.wrk(
            f"http://127.0.0.1:{port}/webhooks/partners/swiss", data, 0, args.deliveries, wrk, 120
        )
    finally:
        stop(gateway)
    print(json.dumps(found))
    await copy_database(FILLED, TEMPLATE)


async def requeue(stores: Stores, partitions: int) -> int:
    """Queue every pending row again, as the gateway queued it (the partition of its member)."""
    from webhooks.inbound import account_hint
    from webhooks.worker import inbox_stream, partition_of

    connection = await asyncpg.connect(stores.asyncpg_url)
    redis = Redis.from_url(stores.redis_url)
    try:
        await redis.flushdb()
        rows = await connection.fetch(
            "SELECT id, payload FROM partner_inbox WHERE state = 'pending' ORDER BY id"
        )
        pipe = redis.pipeline(transaction=False)
        for row in rows:
            hint = account_hint(json.loads(row["payload"]))
            pipe.xadd(inbox_stream(partition_of(hint, row["id"], partitions)), {"inbox_id": str(row["id"])})
        await pipe.execute()
        return len(rows)
    finally:
        await redis.aclose()
        await connection.close()


async def drain(args: argparse.Namespace, redis: RedisServer, data_dir: Path) -> None:
    drained = Stores(db_name=DRAINED, redis_url=redis.url)
    await copy_database(TEMPLATE, DRAINED)
    stored = await requeue(drained, args.partitions)
    load_before = run.load_average()
    workers = [
        milesgate(
            drained,
            data_dir,
            "worker",
            "--name",
            f"drain-{n}",
            MILESGATE_WORKER_METRICS_PORT="0",
            MILESGATE_INBOX_BATCH=str(args.inbox_batch),
            **run.PRODUCTION,
        )
        for n in range(args.inbox_workers)
    ]
    spies = (
        [
            run.spy_on(f"drain-{n}", process.pid, args.profile, seconds=None)
            for n, process in enumerate(workers)
        ]
        if args.profile
        else []
    )
    roots = [psutil.Process(process.pid) for process in workers]
    connection = await asyncpg.connect(drained.asyncpg_url)
    try:
        deadline = time.monotonic() + args.drain_timeout
        # the CPU from the first credit on: the workers' start (imports, connections) is not counted
        while time.monotonic() < deadline:
            if await connection.fetchval("SELECT count(*) FROM partner_inbox WHERE state <> 'pending'"):
                break
            await asyncio.sleep(0.05)
        before = run.cpu_seconds(roots, redis_pid=redis.pid)
        while time.monotonic() < deadline:
            if not await connection.fetchval("SELECT count(*) FROM partner_inbox WHERE state = 'pending'"):
                break
            await asyncio.sleep(0.25)
        after = run.cpu_seconds(roots, redis_pid=redis.pid)
        run.stop_spies(spies)
        row = await connection.fetchrow(
            "SELECT count(*) AS n, min(processed_at) AS first, max(processed_at) AS last "
            "FROM partner_inbox WHERE state = 'processed'"
        )
        postings = await connection.fetchval("SELECT count(*) FROM postings WHERE source = 'PARTNER_ACCRUAL'")
        unrelayed = await connection.fetchval("SELECT count(*) FROM domain_events WHERE published_at IS NULL")
    finally:
        await connection.close()
        for process in workers:
            stop(process)
    span = (row["last"] - row["first"]).total_seconds()
    cpu = {key: round(after[key] - before[key], 1) for key in after}
    result: dict[str, Any] = {
        "stored": stored,
        "credited": row["n"],
        "postings": postings,
        "seconds": round(span, 2),
        "per_second": round(row["n"] / span, 1),
        "events_not_yet_relayed": unrelayed,
        "cpu_s": cpu,
        "worker_cpu_ms_per_credit": round(
            1000 * sum(v for k, v in cpu.items() if k.isdigit()) / max(row["n"], 1), 3
        ),
        "postgres_cpu_ms_per_credit": round(1000 * cpu["postgres"] / max(row["n"], 1), 3),
        "exactly_once": postings == stored == row["n"],
        "load_before": load_before,
        "load_after": run.load_average(),
    }
    if args.verify:
        result["ledger_clean"] = await ledger_clean(drained, data_dir)
    print(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("fill", "drain", "clean"))
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=30_000)
    parser.add_argument("--inbox-workers", type=int, default=2)
    parser.add_argument("--inbox-batch", type=int, default=200)
    parser.add_argument("--partitions", type=int, default=8, help="MILESGATE_INBOX_PARTITIONS of the gateway")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--verify", action="store_true", help="also run ledger verify")
    parser.add_argument("--keep-db", action="store_true", help="keep the run's database at the end")
    args = parser.parse_args()
    asyncio.run(clean() if args.what == "clean" else with_own_stores(args))


async def with_own_stores(args: argparse.Namespace) -> None:
    """``fill`` or ``drain`` with a redis-server of its own; the run's database is dropped at the end."""
    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-drain-"))
    database = FILLED if args.what == "fill" else DRAINED
    try:
        async with RedisServer(data_dir) as redis:
            await (fill if args.what == "fill" else drain)(args, redis, data_dir)
    finally:
        if args.keep_db:
            print(f"kept the database {database}", flush=True)
        else:
            await drop_database(database)
        shutil.rmtree(data_dir, ignore_errors=True)


async def clean() -> None:
    """Drop the backlog template and any database a run kept."""
    for name in (TEMPLATE, DRAINED, FILLED):
        await drop_database(name)
    print(f"dropped {TEMPLATE}, {DRAINED} and {FILLED}")


if __name__ == "__main__":
    main()
