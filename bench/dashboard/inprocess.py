"""The member dashboard served in-process, one request at a time: CPU per request, and a target for py-spy.

wrk numbers on a shared machine move with whatever else runs; this measures milesgate's own cost per
dashboard (ASGI in-process, no sockets to the client, PostgreSQL and Redis as in production) so a change
can be compared before and after in minutes. It seeds its own database ``milesgate_dash_inproc`` (dropped
and recreated, and dropped again at the end) with one member of ``--history`` postings, and runs a
``redis-server`` of its own on a free loopback port (``--redis URL`` uses that Redis instead, flushing it).

Run from the project root (py-spy is in the ``bench`` extra):
  PYTHONPATH=. .venv/bin/python bench/dashboard/inprocess.py [--requests 1500] [--redis URL]
  py-spy record -r 500 -o dashboard.svg -- .venv/bin/python bench/dashboard/inprocess.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import SECRET_KEY, RedisServer, Stores, drop_database, fresh_stores, percentiles
from bench.dashboard.queries import DASHBOARD
from bench.dashboard.seeding import seed_dashboard


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--history", type=int, default=10, help="postings of the seeded member")
    parser.add_argument(
        "--redis", help="a Redis URL to use (flushed first) instead of a redis-server of the run's own"
    )
    parser.add_argument(
        "--apq", action="store_true", help="send the hash only (the document registered by a first request)"
    )
    args = parser.parse_args()
    if not 1 <= args.requests <= 20_000 or not 1 <= args.history <= 200_000:
        parser.error("--requests is 1 to 20,000 and --history 1 to 200,000: the load is bounded")

    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-dash-inproc-"))
    database = "milesgate_dash_inproc"
    try:
        async with contextlib.AsyncExitStack() as stack:
            redis_url = args.redis or (await stack.enter_async_context(RedisServer(data_dir))).url
            await serve_dashboards(args, Stores(db_name=database, redis_url=redis_url), data_dir)
    finally:
        await drop_database(database)
        shutil.rmtree(data_dir, ignore_errors=True)


async def serve_dashboards(args: argparse.Namespace, stores: Stores, data_dir: Path) -> None:
    """Seed ``stores`` with one member, serve ``args.requests`` dashboards in-process and print the figures."""
    from asgi_lifespan import LifespanManager
    from httpx2 import ASGITransport, AsyncClient

    from bench.dashboard.run import MAIL, token_for
    from gateway.app import create_app
    from gateway.graphql.persisted_queries import document_hash
    from gateway.services import services
    from gateway.settings import Environment, Settings

    await fresh_stores(stores)
    [member] = await seed_dashboard(stores, data_dir, [args.history])
    mail: dict[str, Any] = {name.removeprefix("MILESGATE_").lower(): value for name, value in MAIL.items()}
    settings = Settings(
        env=Environment.PRODUCTION,
        database_url=stores.database_url,
        redis_url=stores.redis_url,
        data_dir=data_dir,
        secret_key=SECRET_KEY,
        run_worker_in_process=False,
        rate_limit_per_ip=0,
        rate_limit_per_member=0,
        **mail,
    )
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(DASHBOARD)}}
    body = orjson.dumps({"extensions": persisted} if args.apq else {"query": DASHBOARD})
    headers = {"authorization": f"Bearer {token_for(member.account_id)}", "content-type": "application/json"}
    application = create_app(settings)
    # As a served process does (``create_served_app``): start-up objects frozen for the gc and young
    # collections less often. Without it the seeding's leftovers are scanned again and again, and the
    # profile charges the collections to whichever line happened to allocate.
    services(application).freeze_gc_after_start = True
    transport = ASGITransport(app=application)
    async with (
        LifespanManager(application, startup_timeout=60, shutdown_timeout=30),
        AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        register = orjson.dumps({"query": DASHBOARD, "extensions": persisted}) if args.apq else body
        first = await client.post("/graphql", content=register, headers=headers)
        if first.status_code != 200 or "errors" in first.json():
            raise SystemExit(f"the dashboard failed: {first.text}")
        latencies: list[float] = []
        started = time.perf_counter()
        cpu_started = time.process_time()
        for _ in range(args.requests):
            begin = time.perf_counter()
            await client.post("/graphql", content=body, headers=headers)
            latencies.append(time.perf_counter() - begin)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    print(
        orjson.dumps(
            {
                "requests": args.requests,
                "history": args.history,
                "request": "apq" if args.apq else "document",
                "per_second": round(args.requests / elapsed, 1),
                # This process's CPU per dashboard (the in-process client's share included): what bounds
                # requests per second under load, where the one-at-a-time rate also waits on the database.
                "cpu_ms_per_request": round(1000 * cpu / args.requests, 3),
                "ms": percentiles(latencies),
            }
        ).decode()
    )


if __name__ == "__main__":
    asyncio.run(main())
