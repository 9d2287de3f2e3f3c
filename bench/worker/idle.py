"""PostgreSQL transactions of an idle ``milesgate worker``, on loopback, bounded in time.

1. A fresh PostgreSQL database ``milesgate_bench_idle`` is migrated (and dropped at the end); Redis is a
   ``redis-server`` of the run's own on a free loopback port (the machine's Redis is not touched).
2. ``--workers`` ``milesgate worker`` processes start with nothing to do; after ``--warm-up`` seconds
   (their start-up and first rounds) the database's ``xact_commit + xact_rollback`` in
   ``pg_stat_database`` is read, then again ``--seconds`` later. The default window holds four safety
   sweeps (``MILESGATE_WORKER_SWEEP_S``, 30 s), what an idle worker does.
3. The readings are taken from a connection to the ``postgres`` database, so the measuring queries are
   not counted in the worker's database. A server process shows a burst of transactions in
   ``pg_stat_database`` up to 10 s late (PGSTAT_IDLE_INTERVAL), hence the long warm-up and window.

Run from the project root:  .venv/bin/python bench/worker/idle.py
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import (
    PG_ADMIN,
    SECRET_KEY,
    RedisServer,
    Stores,
    clean_up,
    fresh_stores,
    milesgate,
    settings_for,
    stop,
)

STORES = Stores(db_name="milesgate_bench_idle", redis_url="")  # the Redis: a redis-server of the run's own
TRANSACTIONS = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1"


async def transactions(admin: asyncpg.Connection, database: str) -> int:
    await admin.execute("SELECT pg_stat_clear_snapshot()")
    return int(await admin.fetchval(TRANSACTIONS, database))


async def fresh_database(stores: Stores, data_dir: Path) -> None:
    from gateway.db import apply_migrations

    await fresh_stores(stores)
    await apply_migrations(settings_for(stores, data_dir))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120.0, help="The measured window.")
    parser.add_argument(
        "--warm-up",
        type=float,
        default=45.0,
        help="Unmeasured time after the start: past the first safety sweep (30 s) and the up to 10 s "
        "PostgreSQL takes to show a burst of transactions in pg_stat_database.",
    )
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-bench-"))
    try:
        async with RedisServer(data_dir) as redis:
            await measure(args, Stores(db_name=STORES.db_name, redis_url=redis.url), data_dir)
    finally:
        await clean_up(STORES.db_name, data_dir, keep_db=False)


async def measure(args: argparse.Namespace, stores: Stores, data_dir: Path) -> None:
    await fresh_database(stores, data_dir)
    workers = [
        milesgate(
            stores,
            data_dir,
            "worker",
            "--name",
            f"idle-{n}",
            MILESGATE_SECRET_KEY=SECRET_KEY,
            # As operators run it: production, on a database migrated beforehand (a development worker
            # migrates at start, and a pooled connection's share of that shows in pg_stat_database only
            # when the connection is next used, which can fall inside the window). The mail server is
            # never reached: an idle worker sends nothing.
            MILESGATE_ENV="production",
            MILESGATE_SMTP_HOST="127.0.0.1",
            MILESGATE_SMTP_PORT="9",
            MILESGATE_SMTP_TLS="none",
            MILESGATE_SMTP_FROM="bench@example.com",
        )
        for n in range(args.workers)
    ]
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await asyncio.sleep(args.warm_up)
        if any(process.poll() is not None for process in workers):
            raise RuntimeError("a worker ended during the warm-up")
        before = await transactions(admin, stores.db_name)
        started = time.monotonic()
        await asyncio.sleep(args.seconds)
        after = await transactions(admin, stores.db_name)
        elapsed = time.monotonic() - started
        alive = all(process.poll() is None for process in workers)
    finally:
        await admin.close()
        for process in workers:
            stop(process)
    counted = after - before
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "args": vars(args),
        "transactions": counted,
        "seconds": round(elapsed, 1),
        "per_second_per_worker": round(counted / elapsed / args.workers, 3),
        "workers_alive": alive,
    }
    print(json.dumps(result, indent=2))
    if not alive:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
