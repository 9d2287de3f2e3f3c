"""Partner webhook hub throughput on PostgreSQL + Redis, on loopback, bounded in count and time.

1. Entry point: ``milesgate serve --workers 2`` with no inbox worker; a client with ``--concurrency``
   connections posts ``--deliveries`` pre-signed accruals (signing is the partner's cost, done first).
   Measured: deliveries verified, stored and queued per second (202 answers), latency percentiles.
2. End to end: ``--inbox-workers`` ``milesgate worker`` processes drain the stored inbox. Measured:
   accruals credited per second, from the first to the last row processed (the rows' own timestamps).
3. Checks: one posting per delivery, no row left pending or failed, ``ledger verify`` clean.

Run from the project root:  .venv/bin/python bench/webhooks/run.py
It drops and recreates the PostgreSQL database ``milesgate_bench`` (dropped again at the end unless
``--keep-db``) and runs a ``redis-server`` of its own on a free loopback port (the machine's Redis is not
touched).
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
import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import (
    RedisServer,
    Stores,
    accrual,
    clean_up,
    fresh_stores,
    ledger_clean,
    milesgate,
    percentiles,
    seed,
    signed,
    stop,
    wait_ready,
)

STORES = Stores(db_name="milesgate_bench", redis_url="")  # the Redis: a redis-server of the run's own
PORT = 8765


async def blast(items: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(trust_env=False, limits=limits, timeout=30) as client:

        async def one_connection() -> None:
            while not queue.empty():
                body, headers = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(
                    f"http://127.0.0.1:{PORT}/webhooks/partners/swiss", content=body, headers=headers
                )
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(items),
        "seconds": round(elapsed, 2),
        "per_second": round(len(items) / elapsed, 1),
        "statuses": statuses,
        **percentiles(latencies),
    }


async def inbox_counts(stores: Stores) -> dict[str, int]:
    connection = await asyncpg.connect(stores.asyncpg_url)
    try:
        rows = await connection.fetch("SELECT state, count(*) AS n FROM partner_inbox GROUP BY state")
        return {row["state"]: row["n"] for row in rows}
    finally:
        await connection.close()


async def credited_rate(stores: Stores) -> dict[str, Any]:
    connection = await asyncpg.connect(stores.asyncpg_url)
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
    parser.add_argument("--keep-db", action="store_true", help="keep the database at the end (to look into)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-bench-"))
    try:
        async with RedisServer(data_dir) as redis:
            await measure(args, Stores(db_name=STORES.db_name, redis_url=redis.url), data_dir)
    finally:
        await clean_up(STORES.db_name, data_dir, keep_db=args.keep_db)


async def measure(args: argparse.Namespace, stores: Stores, data_dir: Path) -> None:
    await fresh_stores(stores)
    print(f"seeding {args.members} members ...", flush=True)
    secret, members = await seed(stores, data_dir, args.members)
    cards = [member.card.number for member in members]
    items = [signed(secret, accrual(cards[n % len(cards)], f"BENCH-{n}")) for n in range(args.deliveries)]
    warm = min(200, len(items))

    gateway = milesgate(
        stores, data_dir, "serve", "--port", str(PORT), "--workers", str(args.gateway_workers)
    )
    workers = []
    try:
        await wait_ready(PORT)
        await blast(items[:warm], args.concurrency)  # warm-up; these are stored and credited too
        print("entry point ...", flush=True)
        entry = await blast(items[warm:], args.concurrency)
        print(json.dumps(entry), flush=True)
        print("draining with inbox workers ...", flush=True)
        workers = [
            milesgate(stores, data_dir, "worker", "--name", f"bench-{n}") for n in range(args.inbox_workers)
        ]
        deadline = time.monotonic() + args.timeout
        while (await inbox_counts(stores)).get("pending", 0) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        end_to_end = await credited_rate(stores)
        counts = await inbox_counts(stores)
    finally:
        for process in [*workers, gateway]:
            stop(process)

    clean = await ledger_clean(stores, data_dir)
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
