"""Scale-out on one machine: the webhook entry point with 1 and 2 gateway processes, end-to-end crediting
with 1 and 2 inbox workers, on PostgreSQL + Redis on loopback; bounded in time.

1. Entry point: ``milesgate serve --workers N`` (N = 1, then 2; no inbox worker) driven by wrk, a compiled
   driver, for ``--seconds`` with ``--connections`` connections. Every request is a pre-signed unique
   accrual (a Lua script hands each wrk thread its own share of a file of signed requests). Measured:
   202 answers per second, wrk's latency percentiles, and the CPU seconds of wrk and of the gateway's
   processes (the driver must use less than the server).
2. End to end, ``milesgate worker`` processes (1, then 2) on a pre-filled inbox: the workers start on an
   empty inbox and, once each one takes partitions' leases (its name seen as a lease's owner in
   Redis), are suspended; the gateway (``serve --workers 2``, wrk) stores ``--backlog`` deliveries and
   stops; the workers resume and the window runs ``--drain-seconds`` or until fewer than
   ``--min-backlog`` deliveries wait. Start-up, the partitions' hand-over and the gateway are not in it.
   Measured: inbox rows processed per second in that window, with the backlog at its start and end.
3. Everything is credited, then checked: one posting per stored delivery, nothing pending or failed,
   ``ledger verify`` clean. Exit status 1 otherwise.

Run from the project root:  .venv/bin/python bench/scaling/run.py   (needs ``wrk``: apt-get install wrk;
psutil from the bench extra). It drops and recreates the PostgreSQL database ``milesgate_scaling`` and runs
a ``redis-server`` of its own on a free loopback port (no persistence), so that no other benchmark's
workers read its streams, nor its workers theirs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from redis.asyncio import Redis
from redis.exceptions import ResponseError

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import (
    RedisServer,
    Stores,
    accrual,
    fresh_stores,
    ledger_clean,
    load_average,
    milesgate,
    seed,
    signed,
    stop,
    tree_cpu_s,
    wait_ready,
)
from webhooks.worker import DEFAULT_POLICY, INBOX_GROUP, INBOX_STREAM_PREFIX, LEASE_PREFIX

STORES = Stores(db_name="milesgate_scaling", redis_url="")  # the Redis: a redis-server of the run's own
PORT = 8767
PARTITIONS = int(os.environ.get("MILESGATE_INBOX_PARTITIONS", DEFAULT_POLICY.partitions))
TAKE_OVER_ENV = {
    "MILESGATE_INBOX_LEASE_MS": "2000",
    "MILESGATE_INBOX_CLAIM_IDLE_MS": "2000",
    "MILESGATE_WORKER_METRICS_PORT": "0",  # several workers on one machine: no metrics port each
}
HERE = Path(__file__).resolve().parent

# Each wrk thread sends its own share of the pre-signed requests (line i goes to thread i mod threads),
# one after the other, and stops when its share runs out.
LUA = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  requests = {}
  local n = 0
  for line in io.lines(args[1]) do
    if n % tonumber(args[2]) == id then
      local wid, ts, sig, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
      requests[#requests + 1] = wrk.format("POST", args[3], {
        ["webhook-id"] = wid, ["webhook-timestamp"] = ts, ["webhook-signature"] = sig,
        ["content-type"] = "application/json" }, body)
    end
    n = n + 1
  end
  next_request = 0
end
function request()
  next_request = next_request + 1
  if next_request > #requests then
    wrk.thread:stop()
    return requests[#requests]
  end
  return requests[next_request]
end
"""


def write_requests(path: Path, secret: str, cards: list[str], tag: str, count: int) -> None:
    with path.open("w") as out:
        for n in range(count):
            body, headers = signed(secret, accrual(cards[n % len(cards)], f"{tag}-{n}"))
            out.write(
                f"{headers['webhook-id']}\t{headers['webhook-timestamp']}\t{headers['webhook-signature']}\t"
                f"{body.decode()}\n"
            )


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 1)


async def stored_count() -> int:
    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM partner_inbox"))
    finally:
        await connection.close()


def run_wrk(requests: Path, seconds: int, connections: int, threads: int) -> dict[str, Any]:
    script = requests.with_suffix(".lua")
    script.write_text(LUA)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(  # noqa: S603 - wrk, on loopback, bounded by -d
        [
            shutil.which("wrk") or "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
            "-s", str(script), f"http://127.0.0.1:{PORT}",
            "--", str(requests), str(threads), "/webhooks/partners/swiss",
        ],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = done.stdout
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "requests": requests_done,
        "p50_ms": _ms(latency["50"]),
        "p90_ms": _ms(latency["90"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
        "driver_cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2),
    }


async def entry_point(
    data_dir: Path, secret: str, cards: list[str], gateways: int, args: argparse.Namespace
) -> dict[str, Any]:
    requests = data_dir / f"requests-{gateways}.tsv"
    count = args.requests
    write_requests(requests, secret, cards, f"G{gateways}", count)
    gateway = milesgate(STORES, data_dir, "serve", "--port", str(PORT), "--workers", str(gateways))
    try:
        await wait_ready(PORT)
        stored_before, cpu_before, started = (
            await stored_count(),
            tree_cpu_s(gateway.pid),
            time.perf_counter(),
        )
        measured = await asyncio.to_thread(run_wrk, requests, args.seconds, args.connections, args.threads)
        elapsed = time.perf_counter() - started
        cpu = tree_cpu_s(gateway.pid) - cpu_before
        stored = await stored_count() - stored_before
    finally:
        stop(gateway)
    return {
        "gateway_processes": gateways,
        "stored": stored,
        "seconds": round(elapsed, 1),
        "stored_per_second": round(stored / elapsed, 1),
        **measured,
        "server_cpu_s": round(cpu, 2),
        "load_average": load_average(),
    }


async def processed_count() -> int:
    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM partner_inbox WHERE state = 'processed'"))
    finally:
        await connection.close()


async def pending_count() -> int:
    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM partner_inbox WHERE state = 'pending'"))
    finally:
        await connection.close()


async def consumers_at_work(names: list[str], partitions: int, sample_s: float) -> tuple[set[str], int]:
    """Which of ``names`` held a partition's lease in the last ``sample_s`` (a worker takes each
    partition's lease in turn, also on an empty inbox; the lease's value is its consumer name), and how
    many messages are still pending with consumers not in ``names`` (left unacknowledged by the workers
    of a case before: taken over after ``MILESGATE_INBOX_CLAIM_IDLE_MS``)."""
    redis = Redis.from_url(STORES.redis_url, decode_responses=True)
    leases = [f"{LEASE_PREFIX}:{{p{partition}}}" for partition in range(partitions)]
    working: set[str] = set()
    others_pending = 0
    try:
        deadline = time.monotonic() + sample_s
        while time.monotonic() < deadline:
            working |= {owner for owner in await redis.mget(leases) if owner in names}
            await asyncio.sleep(0.01)
        for partition in range(partitions):
            try:
                consumers = await redis.xinfo_consumers(
                    f"{INBOX_STREAM_PREFIX}:{{p{partition}}}", INBOX_GROUP
                )
            except ResponseError:  # no stream or group yet
                continue
            others_pending += sum(int(c["pending"]) for c in consumers if c["name"] not in names)
    finally:
        await redis.aclose()
    return working, others_pending


def suspend(processes: list[subprocess.Popen[bytes]], *, resume: bool = False) -> None:
    """SIGSTOP (or SIGCONT) the processes and their children."""
    for process in processes:
        root = psutil.Process(process.pid)
        for member in [root, *root.children(recursive=True)]:
            if resume:
                member.resume()
            else:
                member.suspend()


async def fill(data_dir: Path, secret: str, cards: list[str], count: int, tag: str, rate: float) -> int:
    """Store ``count`` deliveries through the gateway (``serve --workers 2``, driven by wrk), not measured;
    ``rate``: the entry point's rate measured before, which bounds wrk's run. Returns the pending rows."""
    requests = data_dir / f"fill-{tag}.tsv"
    write_requests(requests, secret, cards, tag, count)
    gateway = milesgate(STORES, data_dir, "serve", "--port", str(PORT), "--workers", "2")
    try:
        await wait_ready(PORT)
        seconds = int(count / max(rate, 50.0) * 1.5) + 5  # wrk's threads stop when their share is sent
        await asyncio.to_thread(run_wrk, requests, seconds, 32, 1)
    finally:
        stop(gateway)
    return await pending_count()


async def drain(
    data_dir: Path, secret: str, cards: list[str], workers: int, rate: float, args: argparse.Namespace
) -> dict[str, Any]:
    """``workers`` inbox workers crediting a pre-filled inbox, measured only while all of them work on it:

    1. the workers start on an empty inbox; once each one takes the partitions' leases in turn (its name
       seen as a lease's owner) they are suspended (SIGSTOP);
    2. the gateway stores ``--backlog`` deliveries, and stops;
    3. the workers resume (SIGCONT), and the window runs ``--drain-seconds`` or until fewer than
       ``--min-backlog`` deliveries wait; then they credit the rest, unmeasured.

    So start-up, the partitions' hand-over and the gateway's CPU are not in the window."""
    names = [f"scale-{workers}-{n}" for n in range(workers)]
    processes = [milesgate(STORES, data_dir, "worker", "--name", name, **TAKE_OVER_ENV) for name in names]
    launched = time.perf_counter()
    try:
        while True:
            working, others_pending = await consumers_at_work(names, PARTITIONS, sample_s=1.0)
            if len(working) == workers and others_pending == 0:
                break
            if time.perf_counter() - launched > 180:
                raise RuntimeError(f"workers not all at work after 180 s: {sorted(working)} of {names}")
            await asyncio.sleep(0.2)
        ready_after = time.perf_counter() - launched
        suspend(processes)
        try:
            backlog = await fill(data_dir, secret, cards, args.backlog, f"W{workers}", rate)
        finally:
            suspend(processes, resume=True)
        if backlog < 2 * args.min_backlog:
            raise RuntimeError(f"only {backlog} deliveries wait: the gateway stored too few")
        load_at_window = load_average()
        cpu_before = tree_cpu_s(*(process.pid for process in processes))
        before, started = await processed_count(), time.perf_counter()
        left = backlog
        while time.perf_counter() - started < args.drain_seconds and left >= args.min_backlog:
            await asyncio.sleep(0.5)
            left = await pending_count()
        done, elapsed = await processed_count() - before, time.perf_counter() - started
        cpu = tree_cpu_s(*(process.pid for process in processes)) - cpu_before
        deadline = time.monotonic() + 600
        while await pending_count() and time.monotonic() < deadline:  # noqa: ASYNC110 - the rest, unmeasured
            await asyncio.sleep(1)
    finally:
        for process in processes:
            stop(process)
    return {
        "workers": workers,
        "all_at_work_after_s": round(ready_after, 1),
        "backlog_at_window_start": backlog,
        "backlog_at_window_end": left,
        "credited": done,
        "seconds": round(elapsed, 1),
        "per_second": round(done / elapsed, 1),
        "workers_cpu_s": round(cpu, 2),
        "workers_cpu_ms_per_credit": round(cpu * 1000 / max(done, 1), 2),
        "load_average_at_window_start": load_at_window,
        "load_average_at_window_end": load_average(),
    }


async def credit_all(data_dir: Path) -> None:
    """Two workers credit every pending delivery (between the cases; not measured)."""
    rest = [milesgate(STORES, data_dir, "worker", "--name", f"rest-{n}", **TAKE_OVER_ENV) for n in range(2)]
    try:
        deadline = time.monotonic() + 600
        while await pending_count() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(1)
    finally:
        for process in rest:
            stop(process)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20_000, help="pre-signed deliveries per gateway run")
    parser.add_argument("--seconds", type=int, default=15, help="wrk's duration per gateway run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (one CPU of two is enough)")
    parser.add_argument("--drain-seconds", type=int, default=20, help="end-to-end window per worker count")
    parser.add_argument(
        "--backlog",
        type=int,
        default=20_000,
        help="deliveries the gateway stores before each end-to-end case",
    )
    parser.add_argument(
        "--min-backlog", type=int, default=500, help="the end-to-end window ends early below this backlog"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    load_at_start = load_average()
    data_dir = Path(tempfile.mkdtemp(prefix="milesgate-scaling-"))
    redis_server = RedisServer(data_dir)
    await redis_server.start()
    try:
        await run(args, data_dir, redis_server.url, load_at_start)
    finally:
        redis_server.stop()


async def run(args: argparse.Namespace, data_dir: Path, redis_url: str, load_at_start: list[float]) -> None:
    global STORES  # every function here reads the run's stores
    STORES = Stores(db_name=STORES.db_name, redis_url=redis_url)
    await fresh_stores(STORES)
    print(f"seeding {args.members} members ...", flush=True)
    secret, members = await seed(STORES, data_dir, args.members)
    cards = [member.card.number for member in members]

    entry = []
    for gateways in (1, 2):
        print(f"entry point, {gateways} gateway process(es) ...", flush=True)
        entry.append(await entry_point(data_dir, secret, cards, gateways, args))
        print(json.dumps(entry[-1]), flush=True)
    print("crediting what the entry point stored (not measured) ...", flush=True)
    await credit_all(data_dir)
    crediting = []
    for workers in (1, 2):
        print(f"end to end, {workers} inbox worker(s) ...", flush=True)
        crediting.append(await drain(data_dir, secret, cards, workers, entry[-1]["stored_per_second"], args))
        print(json.dumps(crediting[-1]), flush=True)

    connection = await asyncpg.connect(STORES.asyncpg_url)
    try:
        postings = await connection.fetchval("SELECT count(*) FROM postings WHERE source = 'PARTNER_ACCRUAL'")
        states = dict(await connection.fetch("SELECT state, count(*) FROM partner_inbox GROUP BY state"))
    finally:
        await connection.close()
    stored = await stored_count()
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
        "args": vars(args),
        "entry_point": entry,
        "entry_point_ratio_2_to_1": round(entry[1]["stored_per_second"] / entry[0]["stored_per_second"], 2),
        "end_to_end": crediting,
        "end_to_end_ratio_2_to_1": round(
            crediting[1]["per_second"] / max(crediting[0]["per_second"], 0.1), 2
        ),
        "exactly_once": postings == stored and states == {"processed": stored},
        "inbox": states,
        "ledger_clean": await ledger_clean(STORES, data_dir),
    }
    print(json.dumps(result, indent=2))
    if not (result["exactly_once"] and result["ledger_clean"]):
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
